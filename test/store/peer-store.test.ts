import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { randomBytesFast } from '../../bench/lib.js';
import { isStoreError } from '../../backend/core/errors.js';
import type { PutOptions } from '../../backend/core/object-store.js';
import { bytesOnDisk } from '../../backend/store/peer-store.js';
import { makeStore, md5hex, pieces, readAll, MiB } from './helpers.js';

const fragmentPath = (volume: string, id: string): string => join(volume, 'fragments', id.slice(0, 2), id.slice(2, 4), id);

test('storing the same 100 MiB under two names costs one copy on disk', async () => {
  const s = await makeStore({ avgChunkSize: 4 * MiB, erasure: { k: 10, n: 16 } });
  try {
    const store = await s.open();
    await store.createBucket('bkt');
    const data = randomBytesFast(100 * MiB, 9);
    await store.putObject('bkt', 'one', pieces(data, 1 << 20));
    const once = await bytesOnDisk(join(s.volume, 'fragments'));
    assert.ok(once >= 100 * MiB * 1.6 && once < 100 * MiB * 1.7, `one copy with 10+6 overhead: ${once}`);
    await store.putObject('bkt', 'two', pieces(data, 100_000));
    assert.equal(await bytesOnDisk(join(s.volume, 'fragments')), once);
    await store.copyObject({ bucket: 'bkt', key: 'two' }, 'bkt', 'three');
    await store.renameObject('bkt', 'three', 'bkt', 'four');
    assert.equal(await bytesOnDisk(join(s.volume, 'fragments')), once, 'copy and rename are metadata-only');
    assert.equal(md5hex(await readAll((await store.getObject('bkt', 'four')).body)), md5hex(data));
    await store.deleteObject('bkt', 'one');
    await store.deleteObject('bkt', 'two');
    await s.stores.collectGarbage({ graceMs: 0 });
    assert.equal(await bytesOnDisk(join(s.volume, 'fragments')), once, 'still referenced by "four"');
    await store.deleteObject('bkt', 'four');
    const gc = await s.stores.collectGarbage({ graceMs: 0 });
    assert.equal(gc.chunks, s.stores.stats().chunks + gc.chunks, 'every chunk was collected');
    assert.equal(await bytesOnDisk(join(s.volume, 'fragments')), 0);
  } finally {
    await s.close();
  }
});

test('range reads return exactly the requested bytes, across chunk boundaries', async () => {
  const s = await makeStore({ avgChunkSize: 64 * 1024, readAhead: 3, cacheSize: 1 * MiB });
  try {
    const store = await s.open();
    await store.createBucket('bkt');
    const data = randomBytesFast(2 * MiB + 333, 3);
    await store.putObject('bkt', 'k', pieces(data, 10_000));
    let seed = 1;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    for (let i = 0; i < 40; i++) {
      const start = rnd(data.length);
      const end = start + rnd(300_000);
      const got = await store.getObject('bkt', 'k', { range: { start, end } });
      const want = data.subarray(start, Math.min(end, data.length - 1) + 1);
      assert.equal(got.contentLength, want.length);
      assert.ok((await readAll(got.body)).equals(want), `bytes ${start}-${end}`);
    }
    const tail = await store.getObject('bkt', 'k', { range: { suffix: 5 } });
    assert.ok((await readAll(tail.body)).equals(data.subarray(data.length - 5)));
  } finally {
    await s.close();
  }
});

test('a corrupted and a deleted fragment file: the read still returns the right bytes', async () => {
  const s = await makeStore({ avgChunkSize: 256 * 1024, erasure: { k: 4, n: 6 }, cacheSize: 0 });
  try {
    const store = await s.open();
    await store.createBucket('bkt');
    const data = randomBytesFast(1 * MiB, 11);
    await store.putObject('bkt', 'k', pieces(data));
    const rows = s.stores.index.db.prepare('SELECT chunk, idx, fragment_id AS id FROM fragments ORDER BY chunk, idx').all() as { chunk: number; idx: number; id: string }[];
    const byChunk = new Map<number, string[]>();
    for (const r of rows) byChunk.set(r.chunk, [...(byChunk.get(r.chunk) ?? []), r.id]);
    assert.ok(byChunk.size >= 2);
    for (const ids of byChunk.values()) {
      // damage two data fragments of every chunk: one bit flipped, one file gone
      const p = fragmentPath(s.volume, ids[0]);
      const bytes = await readFile(p);
      bytes[bytes.length >> 1] ^= 0x01;
      await writeFile(p, bytes);
      await rm(fragmentPath(s.volume, ids[1]));
    }
    const got = await readAll((await store.getObject('bkt', 'k')).body);
    assert.ok(got.equals(data));
    // a third loss per chunk exceeds n − k = 2: the read fails with a StoreError, not wrong bytes
    for (const ids of byChunk.values()) await rm(fragmentPath(s.volume, ids[2]));
    // the first chunk is read before getObject returns, so the get itself fails (S3: 503 before any header)
    await assert.rejects(store.getObject('bkt', 'k'), (err: unknown) => isStoreError(err, 'Unavailable'));
  } finally {
    await s.close();
  }
});

test('reopened with another erasure code, the store reads what it wrote before (each chunk decodes with its own k, n)', async () => {
  const s = await makeStore({ avgChunkSize: 256 * 1024, erasure: { k: 4, n: 6 }, cacheSize: 0 });
  try {
    let store = await s.open();
    await store.createBucket('bkt');
    const old = randomBytesFast(1 * MiB, 21);
    await store.putObject('bkt', 'old', pieces(old));
    await s.reopen({ erasure: { k: 3, n: 5 } });
    store = await s.open();
    const fresh = randomBytesFast(1 * MiB, 22);
    await store.putObject('bkt', 'new', pieces(fresh));
    const codes = s.stores.index.db.prepare('SELECT DISTINCT k, n FROM chunks ORDER BY k').all();
    assert.deepEqual(codes, [{ k: 3, n: 5 }, { k: 4, n: 6 }]);
    assert.ok((await readAll((await store.getObject('bkt', 'old')).body)).equals(old));
    assert.ok((await readAll((await store.getObject('bkt', 'new')).body)).equals(fresh));
    // and a degraded old chunk still decodes from parity with its own code: drop data fragment 0
    const first = s.stores.index.db.prepare('SELECT f.fragment_id AS id FROM fragments f JOIN chunks c ON c.id = f.chunk WHERE c.k = 4 AND f.idx = 0').all() as { id: string }[];
    for (const { id } of first) await rm(fragmentPath(s.volume, id));
    assert.ok((await readAll((await store.getObject('bkt', 'old')).body)).equals(old));
  } finally {
    await s.close();
  }
});

test('garbage collection: dead chunks after the grace period, orphan fragment files, pinned puts', async () => {
  const s = await makeStore({ avgChunkSize: 64 * 1024, gcGraceMs: 3_600_000 });
  try {
    const store = await s.open();
    await store.createBucket('bkt');
    await store.putObject('bkt', 'a', pieces(randomBytesFast(512 * 1024, 1)));
    const full = await bytesOnDisk(join(s.volume, 'fragments'));
    await store.deleteObject('bkt', 'a');
    assert.equal((await s.stores.collectGarbage()).chunks, 0, 'within the grace period nothing goes');
    assert.equal(await bytesOnDisk(join(s.volume, 'fragments')), full);
    // an orphan: a fragment file the index does not know (an interrupted put)
    const orphan = randomBytesFast(1000, 77);
    const orphanId = createHash('sha256').update(orphan).digest('hex');
    await s.fragments.put(orphanId, orphan);
    assert.equal((await s.stores.collectGarbage()).orphans, 0, 'a fresh orphan may belong to a put in flight');
    const gc = await s.stores.collectGarbage({ graceMs: 0 });
    assert.ok(gc.chunks > 0);
    assert.equal(gc.orphans, 1);
    assert.equal(await s.fragments.has(orphanId), false);
    assert.equal(await bytesOnDisk(join(s.volume, 'fragments')), 0);
    // GC running while puts of the same content are in flight must not take their chunks away
    const data = randomBytesFast(768 * 1024, 5);
    await Promise.all([
      store.putObject('bkt', 'x', pieces(data)),
      s.stores.collectGarbage({ graceMs: 0 }),
      store.putObject('bkt', 'y', pieces(data)),
      s.stores.collectGarbage({ graceMs: 0 }),
    ]);
    await s.stores.collectGarbage({ graceMs: 0 });
    for (const k of ['x', 'y']) assert.ok((await readAll((await store.getObject('bkt', k)).body)).equals(data));
  } finally {
    await s.close();
  }
});

test('tenants: keys are wrapped under the secret, isolated, and re-keyed without re-encryption', async () => {
  const s = await makeStore({ avgChunkSize: 64 * 1024 });
  try {
    const a = await s.open('alice', 'alice-secret');
    assert.equal(await s.open('alice', 'alice-secret'), a, 'the unwrapped keys are cached');
    await assert.rejects(s.open('alice', 'wrong-secret'), (e: unknown) => isStoreError(e, 'AccessDenied'));
    const b = await s.open('bob', 'bob-secret-1');
    await a.createBucket('same');
    await b.createBucket('same');
    const data = randomBytesFast(300 * 1024, 8);
    await a.putObject('same', 'k', pieces(data));
    const afterA = await bytesOnDisk(join(s.volume, 'fragments'));
    await b.putObject('same', 'k', pieces(data));
    assert.ok((await bytesOnDisk(join(s.volume, 'fragments'))) >= 2 * afterA - 1024, 'no dedup across tenants');
    await assert.rejects(b.headObject('same', 'nothing'), (e: unknown) => isStoreError(e, 'NoSuchKey'));
    await s.stores.rekeyTenant('bob', 'bob-secret-1', 'bob-secret-2');
    await assert.rejects(s.open('bob', 'bob-secret-1'), (e: unknown) => isStoreError(e, 'AccessDenied'));
    await s.reopen();
    const b2 = await s.open('bob', 'bob-secret-2');
    assert.ok((await readAll((await b2.getObject('same', 'k')).body)).equals(data));
    const small = await b2.putObject('same', 'tiny', pieces(Buffer.from('canary-plaintext')));
    assert.equal(small.size, 16);
    const db = await readFile(join(s.dir, 'state', 'index.sqlite'));
    const wal = await readFile(join(s.dir, 'state', 'index.sqlite-wal')).catch(() => Buffer.alloc(0));
    assert.equal(Buffer.concat([db, wal]).includes('canary-plaintext'), false, 'inline objects are sealed in the index');
  } finally {
    await s.close();
  }
});

test('failed puts leave nothing visible and replace nothing', async () => {
  const s = await makeStore({ avgChunkSize: 64 * 1024 });
  try {
    const store = await s.open();
    await store.createBucket('bkt');
    const old = randomBytesFast(200 * 1024, 1);
    await store.putObject('bkt', 'k', pieces(old));
    const broken = async function* (): AsyncGenerator<Buffer> {
      yield randomBytesFast(500 * 1024, 2);
      throw new Error('client went away');
    };
    await assert.rejects(store.putObject('bkt', 'k', broken()));
    await assert.rejects(store.putObject('bkt', 'k', pieces(randomBytesFast(300 * 1024, 3)), { expectedSize: 400 * 1024 }), (e: unknown) => isStoreError(e, 'IncompleteBody'));
    await assert.rejects(store.putObject('bkt', 'k', pieces(randomBytesFast(300 * 1024, 3)), { contentMd5: Buffer.alloc(16) }), (e: unknown) => isStoreError(e, 'BadDigest'));
    assert.ok((await readAll((await store.getObject('bkt', 'k')).body)).equals(old));
    assert.equal(s.stores.index.notLive().length, 0, 'no uploading version is left behind');
    await s.stores.collectGarbage({ graceMs: 0 });
    assert.ok((await readAll((await store.getObject('bkt', 'k')).body)).equals(old));
  } finally {
    await s.close();
  }
});

test('decrypted chunks are served from the LRU cache, bounded by cacheSize', async () => {
  for (const cacheSize of [8 * MiB, 0]) {
    const s = await makeStore({ avgChunkSize: 64 * 1024, cacheSize });
    try {
      const store = await s.open();
      await store.createBucket('bkt');
      const data = randomBytesFast(1 * MiB, 21);
      await store.putObject('bkt', 'k', pieces(data));
      assert.ok((await readAll((await store.getObject('bkt', 'k')).body)).equals(data));
      await rm(join(s.volume, 'fragments'), { recursive: true });
      if (cacheSize > 0) assert.ok((await readAll((await store.getObject('bkt', 'k')).body)).equals(data), 'every chunk came from the cache');
      else await assert.rejects(store.getObject('bkt', 'k'), (e: unknown) => isStoreError(e, 'Unavailable'));
    } finally {
      await s.close();
    }
  }
});

test('a trailing checksum set while the body streams is stored (read after the body ends)', async () => {
  const s = await makeStore({ avgChunkSize: 64 * 1024 });
  try {
    const store = await s.open();
    await store.createBucket('bkt');
    for (const size of [100, 300 * 1024]) {
      const options: PutOptions = {};
      const body = async function* (): AsyncGenerator<Buffer> {
        yield* pieces(randomBytesFast(size, 3));
        options.checksum = { algorithm: 'CRC32', value: 'AAAAAA==', type: 'FULL_OBJECT' };
      };
      const info = await store.putObject('bkt', `k${size}`, body(), options);
      assert.equal(info.checksum?.value, 'AAAAAA==');
      assert.equal((await store.headObject('bkt', `k${size}`)).checksum?.algorithm, 'CRC32');
    }
  } finally {
    await s.close();
  }
});
