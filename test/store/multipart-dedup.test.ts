/**
 * Dedup must survive multipart uploads (issue 2): the same 64 MiB stored by one put and by
 * multipart uploads with 5 MiB and 8 MiB parts (uploaded out of order) costs one copy on disk, and
 * the same file with 100 bytes inserted 1 MiB from the start costs at most 3 more chunks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomBytesFast } from '../../bench/lib.js';
import type { ObjectStore } from '../../backend/core/object-store.js';
import { bytesOnDisk } from '../../backend/store/peer-store.js';
import { makeStore, md5hex, pieces, readAll, MiB, type TestStore } from './helpers.js';

async function multipart(store: ObjectStore, key: string, data: Buffer, partSize: number): Promise<void> {
  const up = await store.createMultipartUpload('bkt', key);
  const numbers = Array.from({ length: Math.ceil(data.length / partSize) }, (_, i) => i + 1);
  // out of order, two at a time, like a parallel client
  const order = [...numbers].reverse();
  const etags = new Map<number, string>();
  for (let i = 0; i < order.length; i += 2) {
    await Promise.all(
      order.slice(i, i + 2).map(async (n) => {
        const part = data.subarray((n - 1) * partSize, Math.min(n * partSize, data.length));
        const p = await store.uploadPart('bkt', key, up.uploadId, n, pieces(part));
        etags.set(n, p.etag);
      }),
    );
  }
  await store.completeMultipartUpload('bkt', key, up.uploadId, numbers.map((n) => ({ partNumber: n, etag: etags.get(n)! })));
}

async function footprint(s: TestStore): Promise<{ bytes: number; chunks: number }> {
  await s.stores.collectGarbage({ graceMs: 0 });
  return { bytes: await bytesOnDisk(join(s.volume, 'fragments')), chunks: s.stores.stats().chunks };
}

for (const avg of [4 * MiB, 1 * MiB]) {
  test(`multipart uploads dedup against a single put (average chunk ${avg / MiB} MiB)`, async () => {
    const s = await makeStore({ avgChunkSize: avg, erasure: { k: 10, n: 16 } });
    try {
      const store = await s.open();
      await store.createBucket('bkt');
      const data = randomBytesFast(64 * MiB, 42);
      await store.putObject('bkt', 'single', pieces(data, 256 * 1024));
      const one = await footprint(s);
      assert.ok(one.bytes >= 64 * MiB * 1.6, 'the fragments of one copy are on disk');

      await multipart(store, 'parts5', data, 5 * MiB);
      assert.deepEqual(await footprint(s), one, '5 MiB parts: no new chunk, not one byte more on disk');
      await multipart(store, 'parts8', data, 8 * MiB);
      assert.deepEqual(await footprint(s), one, '8 MiB parts: no new chunk, not one byte more on disk');

      // 64 MiB at a 1 MiB average is exactly 64 chunks in a few percent of runs (random tenant key):
      // that once served the last chunk twice on every read (multipart-read-pages.test.ts)
      assert.equal(md5hex(await readAll((await store.getObject('bkt', 'single')).body)), md5hex(data), 'single reads back byte-identical');
      for (const key of ['parts5', 'parts8']) {
        const got = await store.getObject('bkt', key);
        assert.equal(md5hex(await readAll(got.body)), md5hex(data), `${key} reads back byte-identical`);
        assert.match(got.info.etag, /^[0-9a-f]{32}-(13|8)$/);
      }

      const edited = Buffer.concat([data.subarray(0, MiB), randomBytesFast(100, 7), data.subarray(MiB)]);
      await multipart(store, 'edited', edited, 5 * MiB);
      const after = await footprint(s);
      assert.ok(after.chunks - one.chunks <= 3, `100 inserted bytes cost ${after.chunks - one.chunks} new chunks (at most 3)`);
      assert.equal(md5hex(await readAll((await store.getObject('bkt', 'edited')).body)), md5hex(edited));
    } finally {
      await s.close();
    }
  });
}

test('seams that the held-back head cannot resynchronize fall back to re-cutting stored chunks, still exactly', async () => {
  for (const headChunks of [0, 1]) {
    const s = await makeStore({ avgChunkSize: 128 * 1024, multipartHeadChunks: headChunks, minPartSize: 1 * MiB });
    try {
      const store = await s.open();
      await store.createBucket('bkt');
      const data = randomBytesFast(12 * MiB + 12345, 99);
      await store.putObject('bkt', 'single', pieces(data));
      const one = await footprint(s);
      await multipart(store, 'parts', data, 1 * MiB + 4321);
      assert.deepEqual(await footprint(s), one, `head of ${headChunks} chunk(s): the same chunks as a single put`);
      assert.equal(md5hex(await readAll((await store.getObject('bkt', 'parts')).body)), md5hex(data));
    } finally {
      await s.close();
    }
  }
});

test('abort releases the parts: their chunks and spool files are collected', async () => {
  const s = await makeStore({ avgChunkSize: 256 * 1024, minPartSize: 1 * MiB });
  try {
    const store = await s.open();
    await store.createBucket('bkt');
    const up = await store.createMultipartUpload('bkt', 'k');
    await store.uploadPart('bkt', 'k', up.uploadId, 2, pieces(randomBytesFast(3 * MiB, 1)));
    await store.uploadPart('bkt', 'k', up.uploadId, 1, pieces(randomBytesFast(3 * MiB, 2)));
    assert.ok(s.stores.stats().chunks > 0, 'interior chunks are stored as parts arrive');
    const listed = await store.listParts('bkt', 'k', up.uploadId);
    assert.deepEqual(listed.parts.map((p) => p.partNumber), [1, 2]);
    await store.abortMultipartUpload('bkt', 'k', up.uploadId);
    const left = await footprint(s);
    assert.equal(left.chunks, 0);
    assert.equal(left.bytes, 0);
    assert.equal(await bytesOnDisk(join(s.dir, 'state', 'spool')), 0);
  } finally {
    await s.close();
  }
});
