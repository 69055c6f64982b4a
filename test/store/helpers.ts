/**
 * Shared setup for the store tests: a PeerStore on a disk fragment store in a temp dir, with small
 * KDF iterations and no periodic GC (tests call collectGarbage themselves).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../backend/core/logger.js';
import type { ObjectStore } from '../../backend/core/object-store.js';
import { DiskFragmentStore } from '../../backend/fragments/disk-fragment-store.js';
import { LocalPlacement } from '../../backend/store/local-placement.js';
import { PeerStore, type StoreInit } from '../../backend/store/peer-store.js';
import { rabinChunkerFactory, type ChunkerFactory } from '../../backend/store/chunking.js';

/** The real keyed Rabin chunker (what PeerStore uses by default), for stores built by hand. */
export function testChunker(): Promise<ChunkerFactory> {
  return rabinChunkerFactory();
}

export interface TestStore {
  dir: string;
  volume: string;
  stores: PeerStore;
  fragments: DiskFragmentStore;
  open(accessKey?: string, secret?: string): Promise<ObjectStore>;
  /** close and open again on the same state and volume; `init` changes settings for the new open */
  reopen(init?: Partial<StoreInit>): Promise<void>;
  close(): Promise<void>;
}

export const MiB = 2 ** 20;

export async function makeStore(init: Partial<StoreInit> = {}): Promise<TestStore> {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-store-'));
  const volume = join(dir, 'vol');
  const logger = silentLogger();
  const chunker = await testChunker();
  let fragments = await DiskFragmentStore.open({ volumes: [{ path: volume, mode: 'rw' }], logger });
  let full: StoreInit = { stateDir: join(dir, 'state'), kdfIterations: 1000, erasure: { k: 4, n: 6 }, avgChunkSize: 256 * 1024, gcIntervalMs: 0, ...init };
  const openStore = (): Promise<PeerStore> => PeerStore.open(full, { logger, placement: new LocalPlacement({ store: fragments, logger }), chunker });
  const t: TestStore = {
    dir,
    volume,
    stores: await openStore(),
    fragments,
    open: (accessKey = 'tenant-a', secret = 'secret-secret') => t.stores.open({ accessKey, secretKey: secret }),
    async reopen(changes: Partial<StoreInit> = {}) {
      full = { ...full, ...changes };
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
