import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetaIndex, type NewChunk } from '../../backend/index/meta-index.js';
import { MIGRATIONS } from '../../backend/index/schema.js';
import { isStoreError } from '../../backend/core/errors.js';

const k = (s: string): Buffer => Buffer.from(s, 'utf8');

function chunk(id: number, peer = 'p'): NewChunk {
  const chunkId = Buffer.alloc(32, id);
  return {
    chunkId,
    plainSize: 100,
    sealedSize: 130,
    compressed: false,
    k: 2,
    n: 3,
    fragments: [0, 1, 2].map((idx) => ({ idx, fragmentId: `${id.toString(16).padStart(2, '0')}${idx}`.padEnd(64, 'a'), size: 70, peer })),
  };
}

function fresh(): MetaIndex {
  return MetaIndex.open(':memory:');
}

test('migrations run once and record the schema version', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-index-'));
  try {
    const file = join(dir, 'i.sqlite');
    const a = MetaIndex.open(file);
    assert.equal(a.schemaVersion, MIGRATIONS.length);
    assert.equal(a.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(a.db.pragma('synchronous', { simple: true }), 2); // FULL
    a.createTenant('alice', Buffer.from('w'), 1);
    a.close();
    const b = MetaIndex.open(file);
    assert.equal(b.schemaVersion, MIGRATIONS.length);
    assert.equal(b.tenant('alice')?.accessKey, 'alice');
    b.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('tenants: first writer wins', () => {
  const ix = fresh();
  const a = ix.createTenant('t', Buffer.from('one'), 1);
  const b = ix.createTenant('t', Buffer.from('two'), 2);
  assert.equal(a.id, b.id);
  assert.deepEqual(ix.tenant('t')?.wrappedKey, Buffer.from('one'));
  ix.setTenantKey(a.id, Buffer.from('three'));
  assert.deepEqual(ix.tenant('t')?.wrappedKey, Buffer.from('three'));
  ix.close();
});

test('versions: commit replaces the live version and reference counts follow', () => {
  const ix = fresh();
  const t = ix.createTenant('t', Buffer.from('w'), 1).id;
  assert.equal(ix.createBucket(t, 'b', 1), true);
  assert.equal(ix.createBucket(t, 'b', 1), false);
  const bucket = ix.bucket(t, 'b')!.id;
  const [c1, c2] = ix.tx(() => [ix.ensureChunk(t, chunk(1)), ix.ensureChunk(t, chunk(2))]);
  assert.equal(ix.ensureChunk(t, chunk(1)), c1, 'ensureChunk finds the existing row');
  const v1 = ix.beginVersion(bucket, k('key'), 1);
  assert.equal(ix.live(bucket, k('key')), undefined, 'an uploading version is not visible');
  ix.commitVersion({ id: v1, bucket, key: k('key'), size: 200, etag: 'e1', meta: '{}', inlineData: null, chunks: [{ offset: 0, chunk: c1 }, { offset: 100, chunk: c1 }], now: 2 });
  assert.equal(ix.live(bucket, k('key'))?.id, v1);
  assert.equal(ix.chunkByRow(c1)?.refs, 2);
  ix.commitVersion({ bucket, key: k('key'), size: 100, etag: 'e2', meta: '{}', inlineData: null, chunks: [{ offset: 0, chunk: c2 }], now: 3 });
  assert.equal(ix.live(bucket, k('key'))?.etag, 'e2');
  assert.equal(ix.chunkByRow(c1)?.refs, 0);
  assert.equal(ix.chunkByRow(c1)?.deadSince, 3, 'a chunk at 0 references records when it died');
  assert.equal(ix.chunkByRow(c2)?.refs, 1);
  assert.deepEqual(ix.deadChunks(3, 10).map((c) => c.id), [c1]);
  assert.deepEqual(ix.deadChunks(2, 10), [], 'the grace period holds');
  const frags = ix.deleteDeadChunk(c1);
  assert.equal(frags?.length, 3);
  assert.equal(ix.hasFragment(frags![0].fragmentId), false);
  assert.equal(ix.deleteDeadChunk(c2), undefined, 'a referenced chunk is never deleted');
  ix.close();
});

test('range reads seek to the chunk holding the offset', () => {
  const ix = fresh();
  const t = ix.createTenant('t', Buffer.from('w'), 1).id;
  ix.createBucket(t, 'b', 1);
  const bucket = ix.bucket(t, 'b')!.id;
  const rows = ix.tx(() => Array.from({ length: 10 }, (_, i) => ix.ensureChunk(t, chunk(i + 1))));
  const id = ix.commitVersion({ bucket, key: k('x'), size: 1000, etag: 'e', meta: '{}', inlineData: null, chunks: rows.map((c, i) => ({ offset: i * 100, chunk: c })), now: 1 });
  assert.deepEqual(ix.versionChunks(id, 250, 3).map((e) => e.offset), [200, 300, 400]);
  assert.deepEqual(ix.versionChunks(id, 0, 1).map((e) => e.offset), [0]);
  assert.deepEqual(ix.versionChunks(id, 999, 5).map((e) => e.offset), [900]);
  ix.close();
});

test('listing is in UTF-8 byte order and pages from a bound', () => {
  const ix = fresh();
  const t = ix.createTenant('t', Buffer.from('w'), 1).id;
  ix.createBucket(t, 'b', 1);
  const bucket = ix.bucket(t, 'b')!.id;
  // UTF-16 order would put U+FFFD after U+10000's surrogates; UTF-8 order puts it before
  const keys = ['a', 'b/1', 'b/2', '\u{10000}', '\uFFFD', 'Z'];
  for (const key of keys) ix.commitVersion({ bucket, key: k(key), size: 0, etag: 'e', meta: '{}', inlineData: Buffer.alloc(0), chunks: [], now: 1 });
  const all = ix.scanLive(bucket, Buffer.alloc(0), false, 100).map((r) => r.key.toString('utf8'));
  assert.deepEqual(all, [...keys].sort((x, y) => Buffer.compare(k(x), k(y))));
  assert.deepEqual(all, ['Z', 'a', 'b/1', 'b/2', '\uFFFD', '\u{10000}']);
  assert.deepEqual(ix.scanLive(bucket, k('b/1'), true, 2).map((r) => r.key.toString()), ['b/2', '\uFFFD']);
  const plan = ix.db.prepare('EXPLAIN QUERY PLAN SELECT key FROM versions WHERE bucket = ? AND state = 1 AND key > ? ORDER BY key LIMIT 5').all(bucket, k('a')) as { detail: string }[];
  assert.ok(plan.some((p) => p.detail.includes('versions_live')), `listing uses the live index: ${JSON.stringify(plan)}`);
  ix.close();
});

test('moveMany swaps keys without losing a version', () => {
  const ix = fresh();
  const t = ix.createTenant('t', Buffer.from('w'), 1).id;
  ix.createBucket(t, 'b', 1);
  const bucket = ix.bucket(t, 'b')!.id;
  const a = ix.commitVersion({ bucket, key: k('d/a'), size: 1, etag: 'A', meta: '{}', inlineData: Buffer.alloc(0), chunks: [], now: 1 });
  const b = ix.commitVersion({ bucket, key: k('d/d/a'), size: 1, etag: 'B', meta: '{}', inlineData: Buffer.alloc(0), chunks: [], now: 1 });
  ix.moveMany([{ id: a, bucket, key: k('d/d/a') }, { id: b, bucket, key: k('d/d/d/a') }], 2);
  assert.equal(ix.live(bucket, k('d/d/a'))?.etag, 'A');
  assert.equal(ix.live(bucket, k('d/d/d/a'))?.etag, 'B');
  assert.equal(ix.live(bucket, k('d/a')), undefined);
  ix.close();
});

test('multipart parts hold chunk references until dropped', () => {
  const ix = fresh();
  const t = ix.createTenant('t', Buffer.from('w'), 1).id;
  ix.createBucket(t, 'b', 1);
  const bucket = ix.bucket(t, 'b')!.id;
  ix.createUpload('u1', bucket, k('key'), 1, '{}');
  const u = ix.upload('u1')!;
  const c = ix.tx(() => ix.ensureChunk(t, chunk(7)));
  const part = { partNumber: 1, size: 10, etag: 'x', modified: 1, checksum: null, seam: '{}' };
  ix.putPart(u.id, part, [{ offset: 0, chunk: c }], 1);
  assert.equal(ix.chunkByRow(c)?.refs, 1);
  ix.putPart(u.id, part, [{ offset: 0, chunk: c }], 2);
  assert.equal(ix.chunkByRow(c)?.refs, 1, 're-uploading a part replaces its references');
  assert.throws(() => ix.deleteBucket(bucket), (e) => isStoreError(e, 'BucketNotEmpty'));
  ix.dropUpload(u.id, 3);
  assert.equal(ix.chunkByRow(c)?.refs, 0);
  assert.equal(ix.upload('u1'), undefined);
  ix.deleteBucket(bucket);
  assert.equal(ix.bucket(t, 'b'), undefined);
  ix.close();
});
