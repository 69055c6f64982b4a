/**
 * Multipart seams under concurrency, with the real keyed Rabin chunker at a small average (8 KiB)
 * so every round crosses many seams: two multipart uploads of the same bytes (random part sizes,
 * parts in random order, several in flight, odd body piece sizes) run while an unrelated single put
 * runs too. Every object must read back byte-identical, and once the unrelated object is deleted
 * and garbage collected the store must hold exactly the chunks of a single put of those bytes (the
 * seams were re-cut to the same boundaries, whatever the interleaving). Run for held-back heads of
 * 0, 1 and 3 chunks: 0 forces the read-back fallback at almost every seam.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytesFast } from '../../bench/lib.js';
import { Chunker } from '../../backend/chunker/index.js';
import { silentLogger } from '../../backend/core/logger.js';
import type { ObjectStore } from '../../backend/core/object-store.js';
import { MemoryFragmentStore } from '../../backend/fragments/memory-fragment-store.js';
import { LocalPlacement } from '../../backend/store/local-placement.js';
import { PeerStore } from '../../backend/store/peer-store.js';
import { md5hex, pieces, readAll } from './helpers.js';

const AVG = 8 * 1024;
const ROUNDS = 6;

/** deterministic pseudo-random numbers (xorshift32), so a failure can be replayed by its seed */
function rng(seed: number): (n: number) => number {
  let x = seed | 0 || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

async function multipart(store: ObjectStore, key: string, data: Buffer, partSize: number, parallel: number, rand: (n: number) => number): Promise<void> {
  const up = await store.createMultipartUpload('bkt', key);
  const numbers = Array.from({ length: Math.ceil(data.length / partSize) }, (_, i) => i + 1);
  const order = [...numbers];
  for (let i = order.length - 1; i > 0; i--) {
    const j = rand(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const etags = new Map<number, string>();
  for (let i = 0; i < order.length; i += parallel) {
    await Promise.all(
      order.slice(i, i + parallel).map(async (n) => {
        const part = data.subarray((n - 1) * partSize, Math.min(n * partSize, data.length));
        const p = await store.uploadPart('bkt', key, up.uploadId, n, pieces(part, 1 + rand(70_000)));
        etags.set(n, p.etag);
      }),
    );
  }
  await store.completeMultipartUpload('bkt', key, up.uploadId, numbers.map((n) => ({ partNumber: n, etag: etags.get(n)! })));
}

for (const headChunks of [0, 1, 3]) {
  test(`concurrent multipart uploads read back exactly and dedup exactly (head of ${headChunks} chunks)`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'peerstor-mp-stress-'));
    const logger = silentLogger();
    const stores = await PeerStore.open(
      {
        stateDir: join(dir, 'state'),
        kdfIterations: 1000,
        erasure: { k: 2, n: 3 },
        avgChunkSize: 64 * 1024,
        gcIntervalMs: 0,
        minPartSize: 1,
        multipartHeadChunks: headChunks,
      },
      {
        logger,
        placement: new LocalPlacement({ store: new MemoryFragmentStore(), logger }),
        chunker: (seed) => new Chunker(seed, { minSize: AVG / 4, avgSize: AVG, maxSize: AVG * 4 }),
      },
    );
    try {
      const store = await stores.open({ accessKey: 'tenant-a', secretKey: 'secret-secret' });
      await store.createBucket('bkt');
      for (let round = 0; round < ROUNDS; round++) {
        const seed = 1000 * headChunks + round + 1;
        const rand = rng(seed);
        const data = randomBytesFast(200_000 + rand(1_000_000), seed);
        await store.putObject('bkt', 'single', pieces(data, 65_536));
        await stores.collectGarbage({ graceMs: 0 });
        const chunks = stores.stats().chunks;

        const other = randomBytesFast(100_000 + rand(500_000), seed + 7);
        const partSize = 30_000 + rand(250_000);
        await Promise.all([
          multipart(store, 'a', data, partSize, 4, rand),
          multipart(store, 'b', data, partSize + 1 + rand(20_000), 3, rand),
          store.putObject('bkt', 'other', pieces(other, 1 + rand(70_000))),
        ]);
        for (const key of ['single', 'a', 'b']) {
          const got = await readAll((await store.getObject('bkt', key)).body);
          assert.equal(got.length, data.length, `seed ${seed}: ${key} has the uploaded length`);
          assert.equal(md5hex(got), md5hex(data), `seed ${seed}: ${key} reads back byte-identical`);
        }
        assert.equal(md5hex(await readAll((await store.getObject('bkt', 'other')).body)), md5hex(other), `seed ${seed}: other reads back`);
        await store.deleteObject('bkt', 'other');
        await stores.collectGarbage({ graceMs: 0 });
        assert.equal(stores.stats().chunks, chunks, `seed ${seed}: the multipart objects hold exactly the single put's chunks`);
        for (const key of ['single', 'a', 'b']) await store.deleteObject('bkt', key);
      }
    } finally {
      await stores.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}
