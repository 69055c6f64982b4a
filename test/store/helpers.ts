/**
 * Shared setup for the store tests: a PeerStore on a disk fragment store in a temp dir, with small
 * KDF iterations. `chunker` is the real Rabin chunker when backend/chunker is present; a gear-hash
 * stand-in (same contract: keyed, min/avg/max, post-cut state == reset state) otherwise, so these
 * tests could run while the chunker was being written.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../backend/core/logger.js';
import type { ObjectStore } from '../../backend/core/object-store.js';
import { DiskFragmentStore } from '../../backend/fragments/disk-fragment-store.js';
import { LocalPlacement } from '../../backend/store/local-placement.js';
import { PeerStore, type StoreInit } from '../../backend/store/peer-store.js';
import { rabinChunkerFactory, type Chunker, type ChunkerFactory } from '../../backend/store/chunking.js';

class GearChunker implements Chunker {
  readonly #table: Uint32Array;
  readonly #min: number;
  readonly #max: number;
  readonly #mask: number;
  #h = 0;
  #len = 0;

  constructor(seed: Buffer, avg: number) {
    this.#table = new Uint32Array(256);
    for (let i = 0; i < 256; i++) this.#table[i] = createHash('sha256').update(seed).update(Buffer.from([i])).digest().readUInt32LE(0);
    this.#min = avg >>> 2;
    this.#max = avg * 4;
    const bits = Math.round(Math.log2(avg - this.#min));
    this.#mask = (2 ** bits - 1) << (32 - bits);
  }

  scan(data: Uint8Array): number[] {
    const out: number[] = [];
    let h = this.#h;
    let len = this.#len;
    for (let i = 0; i < data.length; i++) {
      len++;
      if (len <= this.#min - 32) continue;
      h = ((h << 1) + this.#table[data[i]]) >>> 0;
      if ((len >= this.#min && (h & this.#mask) === 0) || len >= this.#max) {
        out.push(i + 1);
        h = 0;
        len = 0;
      }
    }
    this.#h = h;
    this.#len = len;
    return out;
  }

  reset(): void {
    this.#h = 0;
    this.#len = 0;
  }
}

const realChunker = existsSync(fileURLToPath(new URL('../../backend/chunker/index.ts', import.meta.url))) || existsSync(fileURLToPath(new URL('../../backend/chunker/index.js', import.meta.url)));

export async function testChunker(): Promise<ChunkerFactory> {
  if (realChunker) return rabinChunkerFactory();
  return (seed, avg) => new GearChunker(seed, avg);
}

export interface TestStore {
  dir: string;
  volume: string;
  stores: PeerStore;
  fragments: DiskFragmentStore;
  open(accessKey?: string, secret?: string): Promise<ObjectStore>;
  reopen(): Promise<void>;
  close(): Promise<void>;
}

export const MiB = 2 ** 20;

export async function makeStore(init: Partial<StoreInit> = {}): Promise<TestStore> {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-store-'));
  const volume = join(dir, 'vol');
  const logger = silentLogger();
  const chunker = await testChunker();
  let fragments = await DiskFragmentStore.open({ volumes: [{ path: volume, mode: 'rw' }], logger });
  const full: StoreInit = { stateDir: join(dir, 'state'), kdfIterations: 1000, erasure: { k: 4, n: 6 }, avgChunkSize: 256 * 1024, ...init };
  const openStore = (): Promise<PeerStore> => PeerStore.open(full, { logger, placement: new LocalPlacement({ store: fragments, logger }), chunker });
  const t: TestStore = {
    dir,
    volume,
    stores: await openStore(),
    fragments,
    open: (accessKey = 'tenant-a', secret = 'secret-secret') => t.stores.open({ accessKey, secretKey: secret }),
    async reopen() {
      await t.stores.close();
      await fragments.close();
      fragments = await DiskFragmentStore.open({ volumes: [{ path: volume, mode: 'rw' }], logger });
      t.fragments = fragments;
      t.stores = await openStore();
    },
    async close() {
      await t.stores.close();
      await fragments.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return t;
}

export async function* pieces(data: Buffer, size = 64 * 1024): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, Math.min(i + size, data.length));
}

export async function readAll(body: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of body) out.push(Buffer.from(c));
  return Buffer.concat(out);
}

export const md5hex = (b: Buffer): string => createHash('md5').update(b).digest('hex');
