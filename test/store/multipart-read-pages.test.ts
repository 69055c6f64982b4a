/**
 * Regression test for the intermittent "parts5 reads back byte-identical" failure of
 * multipart-dedup.test.ts. Root cause: the chunked read path fetches the chunk list 64 entries at a
 * time and asked for the next page at the end offset of the last chunk seen; MetaIndex.versionChunks
 * starts at the chunk CONTAINING that offset, so at the object's end it returned the last chunk
 * again and the read served it twice. It hit every read reaching the object's end over a multiple
 * of 64 chunks (a single put just as much as a multipart one); with the random tenant chunker key,
 * 64 MiB at a 1 MiB average came out at exactly 64 chunks in a few percent of runs.
 *
 * A fixed-size chunker makes the chunk counts exact, so this fails every time without the fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytesFast } from '../../bench/lib.js';
import { silentLogger } from '../../backend/core/logger.js';
import type { ObjectStore } from '../../backend/core/object-store.js';
import { MemoryFragmentStore } from '../../backend/fragments/memory-fragment-store.js';
import type { Chunker } from '../../backend/store/chunking.js';
import { LocalPlacement } from '../../backend/store/local-placement.js';
import { PeerStore } from '../../backend/store/peer-store.js';
import { md5hex, pieces, readAll } from './helpers.js';

/** bytes per chunk of the fixed-size chunker */
const C = 16 * 1024;
/** chunk list page of the read path (tenant-store.ts PAGE) */
const PAGE = 64;

/** Cuts every `size` bytes: a pure function of the bytes since the last cut, like the Rabin one. */
class FixedChunker implements Chunker {
  #count = 0;
  constructor(readonly size: number) {}
  scan(data: Uint8Array): number[] {
    const cuts: number[] = [];
    let pos = 0;
    while (data.length - pos >= this.size - this.#count) {
      pos += this.size - this.#count;
      cuts.push(pos);
      this.#count = 0;
    }
    this.#count += data.length - pos;
    return cuts;
  }
  reset(): void {
    this.#count = 0;
  }
}

async function withStore(fn: (store: ObjectStore, stores: PeerStore) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-mp-pages-'));
  const logger = silentLogger();
  const stores = await PeerStore.open(
    { stateDir: join(dir, 'state'), kdfIterations: 1000, erasure: { k: 2, n: 3 }, avgChunkSize: 64 * 1024, gcIntervalMs: 0, minPartSize: 1 },
    { logger, placement: new LocalPlacement({ store: new MemoryFragmentStore(), logger }), chunker: () => new FixedChunker(C) },
  );
  try {
    const store = await stores.open({ accessKey: 'tenant-a', secretKey: 'secret-secret' });
    await store.createBucket('bkt');
    await fn(store, stores);
  } finally {
    await stores.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function read(store: ObjectStore, key: string, range?: { start: number; end?: number }): Promise<Buffer> {
  const got = await store.getObject('bkt', key, range ? { range } : {});
  const body = await readAll(got.body);
  assert.equal(body.length, got.contentLength, `${key}: as many bytes as the announced length`);
  return body;
}

test('reads that reach the end after a multiple of 64 chunks serve each chunk once', async () => {
  await withStore(async (store, stores) => {
    // a short last chunk, and one of full size (the end offset then falls on a chunk boundary)
    for (const chunks of [PAGE - 1, PAGE, PAGE + 1, 2 * PAGE]) {
      for (const short of [0, 100]) {
        const data = randomBytesFast(chunks * C - short, chunks + short);
        const key = `single-${chunks}-${short}`;
        await store.putObject('bkt', key, pieces(data));
        assert.equal(md5hex(await read(store, key)), md5hex(data), `${key}: whole object`);
        // ranges whose chunk count to the end is exactly one page, starting inside and on a chunk
        for (const start of [Math.max(0, (chunks - PAGE) * C), Math.max(0, (chunks - PAGE) * C + 1)]) {
          const want = data.subarray(start);
          assert.equal(md5hex(await read(store, key, { start })), md5hex(want), `${key}: bytes ${start}-`);
        }
        const end = data.length - 2;
        assert.equal(md5hex(await read(store, key, { start: 0, end })), md5hex(data.subarray(0, end + 1)), `${key}: bytes 0-${end}`);
      }
    }
    assert.ok(stores.stats().chunks > 0, 'the objects are chunked, not inline');
  });
});

test('a multipart upload of exactly 64 chunks, parts out of order and in parallel, reads back exactly', async () => {
  await withStore(async (store) => {
    const data = randomBytesFast(PAGE * C, 64);
    // part sizes off the chunk size: every seam is re-cut at completion
    const partSize = 5 * C + 777;
    const up = await store.createMultipartUpload('bkt', 'mp');
    const numbers = Array.from({ length: Math.ceil(data.length / partSize) }, (_, i) => i + 1);
    const done = await Promise.all(
      [...numbers].reverse().map(async (n) => {
        const part = data.subarray((n - 1) * partSize, Math.min(n * partSize, data.length));
        return { partNumber: n, etag: (await store.uploadPart('bkt', 'mp', up.uploadId, n, pieces(part, 4096))).etag };
      }),
    );
    await store.completeMultipartUpload('bkt', 'mp', up.uploadId, done.sort((a, b) => a.partNumber - b.partNumber));
    assert.equal(md5hex(await read(store, 'mp')), md5hex(data));
  });
});
