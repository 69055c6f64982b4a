/**
 * The ObjectStore conformance suite: the whole contract of backend/core/object-store.ts as
 * node:test tests, run against every implementation (MemoryObjectStore in
 * test/memory-store/memory-object-store.test.ts, the real store in its own test file).
 *
 * Usage:  objectStoreSuite('my store', async () => ({ stores, cleanup, minPartSize }));
 * The factory is called once per suite; every test uses its own freshly named buckets, so the
 * tests do not depend on each other. Part sizes are `minPartSize`, so keep it small (e.g. 64 KiB).
 * Imports only backend/core and node: modules.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { isStoreError, type ErrorCode } from '../../backend/core/errors.js';
import type { Body, ListOptions, ObjectStore, PutOptions, TenantStores } from '../../backend/core/object-store.js';

export interface ObjectStoreFixture {
  stores: TenantStores;
  cleanup(): Promise<void>;
  /** the minimum part size the store under test enforces at completion */
  minPartSize: number;
}

const md5 = (b: Uint8Array): Buffer => createHash('md5').update(b).digest();
const md5hex = (b: Uint8Array): string => md5(b).toString('hex');

/** A body that yields `data` in pieces of `piece` bytes (streams, not one buffer). */
function body(data: Uint8Array | string, piece = 16 * 1024): Body {
  const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data);
  return (async function* () {
    for (let i = 0; i < buf.length; i += piece) yield buf.subarray(i, i + piece);
  })();
}

/** A body that yields some bytes and then fails, like a client connection that drops. */
function brokenBody(data: Uint8Array): Body {
  return (async function* () {
    yield data.subarray(0, Math.floor(data.length / 2));
    throw new Error('client went away');
  })();
}

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isStoreError(err), `expected a StoreError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

function byteSorted(keys: string[]): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/** The listing model: what the entries (keys and common prefixes) of a full listing must be. */
function modelEntries(keys: string[], opts: { prefix?: string; delimiter?: string; startAfter?: string }): string[] {
  const prefix = opts.prefix ?? '';
  const after = opts.startAfter;
  const gt = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b)) > 0;
  const out = new Set<string>();
  for (const k of byteSorted(keys)) {
    if (!k.startsWith(prefix) || (after !== undefined && !gt(k, after))) continue;
    let entry = k;
    if (opts.delimiter) {
      const i = k.indexOf(opts.delimiter, prefix.length);
      if (i >= 0) entry = k.slice(0, i + opts.delimiter.length);
    }
    if (entry !== k && after !== undefined && !gt(entry, after)) continue;
    out.add(entry);
  }
  return [...out];
}

let bucketCounter = 0;

export function objectStoreSuite(name: string, factory: () => Promise<ObjectStoreFixture>): void {
  describe(`ObjectStore conformance: ${name}`, () => {
    let fixture: ObjectStoreFixture;
    let store: ObjectStore;
    let other: ObjectStore;
    let minPart: number;
    const run = randomBytes(3).toString('hex');

    before(async () => {
      fixture = await factory();
      minPart = fixture.minPartSize;
      store = await fixture.stores.open({ accessKey: 'conformance-a', secretKey: 'secret-a-123456' });
      other = await fixture.stores.open({ accessKey: 'conformance-b', secretKey: 'secret-b-123456' });
    });
    after(async () => {
      await fixture?.cleanup();
    });

    async function newBucket(s: ObjectStore = store): Promise<string> {
      const b = `cf-${run}-${++bucketCounter}`;
      await s.createBucket(b);
      return b;
    }

    async function put(bucket: string, key: string, data: Uint8Array | string, opts?: PutOptions) {
      return store.putObject(bucket, key, body(data), opts);
    }

    async function get(bucket: string, key: string): Promise<Buffer> {
      const r = await store.getObject(bucket, key);
      return readAll(r.body);
    }

    // ---- buckets -------------------------------------------------------------------------------
    describe('buckets', () => {
      test('create, head, list sorted, delete', async () => {
        const b1 = `cf-${run}-zz-${++bucketCounter}`;
        const b2 = `cf-${run}-aa-${++bucketCounter}`;
        await store.createBucket(b1);
        await store.createBucket(b2);
        const head = await store.headBucket(b1);
        assert.equal(head.name, b1);
        assert.ok(head.created instanceof Date);
        const names = (await store.listBuckets()).map((b) => b.name);
        assert.ok(names.includes(b1) && names.includes(b2));
        assert.deepEqual(names, byteSorted(names), 'listBuckets is sorted by name');
        await store.deleteBucket(b1);
        await rejectsWith(store.headBucket(b1), 'NoSuchBucket');
        assert.ok(!(await store.listBuckets()).some((b) => b.name === b1));
        await store.deleteBucket(b2);
      });

      test('invalid names → InvalidBucketName', async () => {
        for (const bad of ['d', 'ui', 'ab', 'Upper', 'under_score', '-dash', 'dash-', 'a..b', '10.0.0.1', 'xn--x', 'a'.repeat(64)]) {
          await rejectsWith(store.createBucket(bad), 'InvalidBucketName');
        }
        const ok = `cf-${run}.dotted-${++bucketCounter}`;
        await store.createBucket(ok);
        await store.deleteBucket(ok);
      });

      test('already owned → BucketAlreadyOwnedByYou', async () => {
        const b = await newBucket();
        await rejectsWith(store.createBucket(b), 'BucketAlreadyOwnedByYou');
      });

      test('missing bucket → NoSuchBucket everywhere', async () => {
        const b = `cf-${run}-missing-${++bucketCounter}`;
        await rejectsWith(store.headBucket(b), 'NoSuchBucket');
        await rejectsWith(store.deleteBucket(b), 'NoSuchBucket');
        await rejectsWith(store.putObject(b, 'k', body('x')), 'NoSuchBucket');
        await rejectsWith(store.getObject(b, 'k'), 'NoSuchBucket');
        await rejectsWith(store.headObject(b, 'k'), 'NoSuchBucket');
        await rejectsWith(store.deleteObject(b, 'k'), 'NoSuchBucket');
        await rejectsWith(store.listObjects(b), 'NoSuchBucket');
        await rejectsWith(store.createMultipartUpload(b, 'k'), 'NoSuchBucket');
        await rejectsWith(store.listMultipartUploads(b), 'NoSuchBucket');
      });

      test('not empty → BucketNotEmpty, with objects and with pending uploads', async () => {
        const b = await newBucket();
        await put(b, 'k', 'x');
        await rejectsWith(store.deleteBucket(b), 'BucketNotEmpty');
        await store.deleteObject(b, 'k');
        const up = await store.createMultipartUpload(b, 'pending');
        await rejectsWith(store.deleteBucket(b), 'BucketNotEmpty');
        await store.abortMultipartUpload(b, 'pending', up.uploadId);
        await store.deleteBucket(b);
        await rejectsWith(store.headBucket(b), 'NoSuchBucket');
      });
    });

    // ---- tenants -------------------------------------------------------------------------------
    describe('tenant isolation', () => {
      test('two users never see each other’s buckets or objects', async () => {
        const b = await newBucket();
        await put(b, 'secret.txt', 'tenant a only');
        assert.ok(!(await other.listBuckets()).some((x) => x.name === b));
        await rejectsWith(other.headBucket(b), 'NoSuchBucket');
        await rejectsWith(other.getObject(b, 'secret.txt'), 'NoSuchBucket');
        await rejectsWith(other.listObjects(b), 'NoSuchBucket');
        await rejectsWith(other.deleteObject(b, 'secret.txt'), 'NoSuchBucket');
        await rejectsWith(other.copyObject({ bucket: b, key: 'secret.txt' }, b, 'stolen'), 'NoSuchBucket');
        // Bucket names are per tenant: the same name is a different, empty bucket for the other user.
        await other.createBucket(b);
        assert.deepEqual((await other.listObjects(b)).objects, []);
        await other.putObject(b, 'mine', body('tenant b'));
        assert.deepEqual((await store.listObjects(b)).objects.map((o) => o.key), ['secret.txt']);
        assert.equal((await get(b, 'secret.txt')).toString(), 'tenant a only');
        await other.deleteObject(b, 'mine');
        await other.deleteBucket(b);
        await store.headBucket(b);
      });

      test('the same user gets the same store back', async () => {
        const again = await fixture.stores.open({ accessKey: 'conformance-a', secretKey: 'secret-a-123456' });
        const b = await newBucket();
        await put(b, 'k', 'v');
        assert.equal((await readAll((await again.getObject(b, 'k')).body)).toString(), 'v');
      });

      test('capacity reports numbers', async () => {
        const c = await fixture.stores.capacity();
        assert.ok(Number.isFinite(c.total) && c.total > 0);
        assert.ok(Number.isFinite(c.free) && c.free >= 0 && c.free <= c.total);
      });
    });

    // ---- objects -------------------------------------------------------------------------------
    describe('objects', () => {
      test('put/get/head/delete with ETag = MD5', async () => {
        const b = await newBucket();
        const data = randomBytes(100_000);
        const info = await put(b, 'dir/file.bin', data);
        assert.equal(info.etag, md5hex(data));
        assert.equal(info.size, data.length);
        assert.equal(info.key, 'dir/file.bin');
        assert.equal(info.bucket, b);
        const r = await store.getObject(b, 'dir/file.bin');
        assert.equal(r.contentLength, data.length);
        assert.equal(r.range, undefined);
        assert.ok((await readAll(r.body)).equals(data));
        assert.equal(r.info.etag, md5hex(data));
        const h = await store.headObject(b, 'dir/file.bin');
        assert.equal(h.etag, md5hex(data));
        assert.equal(h.size, data.length);
        assert.equal(h.lastModified.getTime(), info.lastModified.getTime());
        await store.deleteObject(b, 'dir/file.bin');
        await rejectsWith(store.getObject(b, 'dir/file.bin'), 'NoSuchKey');
        await rejectsWith(store.headObject(b, 'dir/file.bin'), 'NoSuchKey');
        await store.deleteObject(b, 'dir/file.bin');
      });

      test('empty, 1-byte and few-MiB objects round-trip byte for byte', async () => {
        const b = await newBucket();
        const empty = await put(b, 'empty', Buffer.alloc(0));
        assert.equal(empty.etag, 'd41d8cd98f00b204e9800998ecf8427e');
        assert.equal(empty.size, 0);
        const er = await store.getObject(b, 'empty');
        assert.equal(er.contentLength, 0);
        assert.equal((await readAll(er.body)).length, 0);
        await put(b, 'one', Buffer.from([0x42]));
        assert.deepEqual(await get(b, 'one'), Buffer.from([0x42]));
        const big = randomBytes(3 * 2 ** 20 + 12345);
        const info = await store.putObject(b, 'big', body(big, 65_536));
        assert.equal(info.etag, md5hex(big));
        assert.ok((await get(b, 'big')).equals(big));
      });

      test('overwrite replaces the object', async () => {
        const b = await newBucket();
        await put(b, 'k', 'first', { userMetadata: { a: '1' } });
        const second = await put(b, 'k', 'second version');
        assert.equal((await get(b, 'k')).toString(), 'second version');
        const h = await store.headObject(b, 'k');
        assert.equal(h.etag, second.etag);
        assert.deepEqual(h.userMetadata, {});
        assert.equal((await store.listObjects(b)).objects.length, 1);
      });

      test('key rules: 1024 bytes ok, 1025 → KeyTooLong, odd keys round-trip', async () => {
        const b = await newBucket();
        await put(b, 'k'.repeat(1024), 'x');
        await rejectsWith(put(b, 'k'.repeat(1025), 'x'), 'KeyTooLong');
        await rejectsWith(put(b, 'ä'.repeat(513), 'x'), 'KeyTooLong');
        const odd = ['a b', 'ä/ö/ü', '😀', 'x//y', 'trailing/', '..', 'per%cent', 'q?x=1&y', '#hash', ' lead', 'new\nline'];
        for (const k of odd) await put(b, k, `v:${k}`);
        for (const k of odd) assert.equal((await get(b, k)).toString(), `v:${k}`);
      });

      test('metadata, standard headers, tags and checksum round-trip', async () => {
        const b = await newBucket();
        const headers = {
          contentType: 'text/plain; charset=utf-8',
          contentEncoding: 'gzip',
          contentDisposition: 'attachment; filename="a.txt"',
          contentLanguage: 'de-CH',
          cacheControl: 'max-age=60',
          expires: 'Thu, 01 Dec 2044 16:00:00 GMT',
        };
        const checksum = { algorithm: 'SHA256' as const, value: createHash('sha256').update('meta').digest('base64'), type: 'FULL_OBJECT' as const };
        await put(b, 'm', 'meta', { headers, userMetadata: { color: 'blue', 'x-long': 'ü ✓' }, tags: { project: 'peerstor', empty: '' }, checksum });
        for (const info of [await store.headObject(b, 'm'), (await store.getObject(b, 'm')).info]) {
          assert.deepEqual(info.headers, headers);
          assert.deepEqual(info.userMetadata, { color: 'blue', 'x-long': 'ü ✓' });
          assert.deepEqual(info.tags, { project: 'peerstor', empty: '' });
          assert.deepEqual(info.checksum, checksum);
        }
        const plain = await put(b, 'plain', 'x');
        assert.deepEqual(plain.userMetadata, {});
        assert.deepEqual(plain.tags, {});
        assert.equal(plain.parts, undefined);
      });

      test('tagging: replace, too many, missing key', async () => {
        const b = await newBucket();
        await put(b, 't', 'x', { tags: { a: '1' } });
        await store.putObjectTagging(b, 't', { b: '2', c: '3' });
        assert.deepEqual((await store.headObject(b, 't')).tags, { b: '2', c: '3' });
        await store.putObjectTagging(b, 't', {});
        assert.deepEqual((await store.headObject(b, 't')).tags, {});
        const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v']));
        await rejectsWith(store.putObjectTagging(b, 't', eleven), 'InvalidArgument');
        await rejectsWith(store.putObjectTagging(b, 't', { ['k'.repeat(129)]: 'v' }), 'InvalidArgument');
        await rejectsWith(store.putObjectTagging(b, 't', { k: 'v'.repeat(257) }), 'InvalidArgument');
        await rejectsWith(put(b, 't2', 'x', { tags: eleven }), 'InvalidArgument');
        await rejectsWith(store.putObjectTagging(b, 'missing', { a: '1' }), 'NoSuchKey');
      });

      test('Content-MD5 mismatch → BadDigest and nothing stored or replaced', async () => {
        const b = await newBucket();
        const data = Buffer.from('the body');
        await rejectsWith(put(b, 'k', data, { contentMd5: md5(Buffer.from('other')) }), 'BadDigest');
        await rejectsWith(store.headObject(b, 'k'), 'NoSuchKey');
        await put(b, 'k', data, { contentMd5: md5(data) });
        await rejectsWith(put(b, 'k', 'new body', { contentMd5: md5(Buffer.from('nope')) }), 'BadDigest');
        assert.equal((await get(b, 'k')).toString(), 'the body');
        assert.equal((await store.listObjects(b)).objects.length, 1);
      });

      test('short body → IncompleteBody and nothing stored; a failing body stores nothing', async () => {
        const b = await newBucket();
        await rejectsWith(put(b, 'k', 'abc', { expectedSize: 10 }), 'IncompleteBody');
        await rejectsWith(store.headObject(b, 'k'), 'NoSuchKey');
        await put(b, 'k', 'abc', { expectedSize: 3 });
        await assert.rejects(store.putObject(b, 'k', brokenBody(randomBytes(200_000))));
        assert.equal((await get(b, 'k')).toString(), 'abc', 'a failed put replaces nothing');
        await assert.rejects(store.putObject(b, 'fresh', brokenBody(randomBytes(200_000))));
        await rejectsWith(store.headObject(b, 'fresh'), 'NoSuchKey');
        assert.deepEqual((await store.listObjects(b)).objects.map((o) => o.key), ['k']);
      });

      test('conditional put: ifNoneMatch * and ifMatch', async () => {
        const b = await newBucket();
        const first = await put(b, 'k', 'one', { ifNoneMatch: '*' });
        await rejectsWith(put(b, 'k', 'two', { ifNoneMatch: '*' }), 'PreconditionFailed');
        assert.equal((await get(b, 'k')).toString(), 'one');
        await rejectsWith(put(b, 'k', 'two', { ifMatch: md5hex(Buffer.from('nope')) }), 'PreconditionFailed');
        const second = await put(b, 'k', 'two', { ifMatch: `"${first.etag}"` });
        assert.equal(second.etag, md5hex(Buffer.from('two')));
        await rejectsWith(put(b, 'absent', 'x', { ifMatch: first.etag }), 'PreconditionFailed');
        await rejectsWith(store.headObject(b, 'absent'), 'NoSuchKey');
      });

      test('concurrent puts of one key: the survivor is whole; ifNoneMatch * lets exactly one win', async () => {
        const b = await newBucket();
        const bodies = Array.from({ length: 4 }, () => randomBytes(150_000));
        await Promise.all(bodies.map((d) => put(b, 'race', d)));
        const got = await get(b, 'race');
        assert.ok(bodies.some((d) => d.equals(got)), 'the object is one of the bodies, not a mix');
        assert.equal((await store.headObject(b, 'race')).etag, md5hex(got));
        const results = await Promise.allSettled(bodies.map((d) => put(b, 'once', d, { ifNoneMatch: '*' })));
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) {
          if (r.status === 'rejected') assert.ok(isStoreError(r.reason, 'PreconditionFailed'), String(r.reason));
        }
        const winner = results.findIndex((r) => r.status === 'fulfilled');
        assert.ok((await get(b, 'once')).equals(bodies[winner]));
      });

      test('a body abandoned half-way does not break the store', async () => {
        const b = await newBucket();
        const data = randomBytes(2 * 2 ** 20);
        await put(b, 'big', data);
        const r = await store.getObject(b, 'big');
        for await (const chunk of r.body) {
          assert.ok((chunk as Buffer).length > 0);
          break;
        }
        r.body.destroy();
        assert.ok((await get(b, 'big')).equals(data));
        await store.deleteObject(b, 'big');
        await rejectsWith(store.headObject(b, 'big'), 'NoSuchKey');
      });

      test('ranges: every form, clamping and 416 cases', async () => {
        const b = await newBucket();
        const data = randomBytes(1000);
        await put(b, 'r', data);
        const cases: [Parameters<ObjectStore['getObject']>[2], number, number][] = [
          [{ range: { start: 0, end: 0 } }, 0, 0],
          [{ range: { start: 10, end: 19 } }, 10, 19],
          [{ range: { start: 990, end: 5000 } }, 990, 999],
          [{ range: { start: 500 } }, 500, 999],
          [{ range: { start: 999 } }, 999, 999],
          [{ range: { suffix: 1 } }, 999, 999],
          [{ range: { suffix: 100 } }, 900, 999],
          [{ range: { suffix: 5000 } }, 0, 999],
        ];
        for (const [opts, start, end] of cases) {
          const r = await store.getObject(b, 'r', opts);
          assert.deepEqual(r.range, { start, end }, JSON.stringify(opts));
          assert.equal(r.contentLength, end - start + 1);
          assert.ok((await readAll(r.body)).equals(data.subarray(start, end + 1)), JSON.stringify(opts));
          assert.equal(r.info.size, 1000, 'info.size is the whole object');
        }
        await rejectsWith(store.getObject(b, 'r', { range: { start: 1000 } }), 'InvalidRange');
        await rejectsWith(store.getObject(b, 'r', { range: { start: 1000, end: 1001 } }), 'InvalidRange');
        await rejectsWith(store.getObject(b, 'r', { range: { suffix: 0 } }), 'InvalidRange');
        await put(b, 'empty', Buffer.alloc(0));
        await rejectsWith(store.getObject(b, 'empty', { range: { start: 0 } }), 'InvalidRange');
        await rejectsWith(store.getObject(b, 'empty', { range: { suffix: 1 } }), 'InvalidRange');
        // A range that spans internal boundaries of a larger object.
        const big = randomBytes(2 * 2 ** 20 + 7);
        await put(b, 'big', big);
        const r = await store.getObject(b, 'big', { range: { start: 2 ** 20 - 3, end: 2 ** 20 + 70_000 } });
        assert.ok((await readAll(r.body)).equals(big.subarray(2 ** 20 - 3, 2 ** 20 + 70_001)));
      });

      test('conditions on get and head', async () => {
        const b = await newBucket();
        const info = await put(b, 'c', 'conditional');
        const past = new Date(info.lastModified.getTime() - 3600_000);
        const future = new Date(info.lastModified.getTime() + 3600_000);
        for (const call of [
          (conditions: object) => store.getObject(b, 'c', { conditions }).then((r) => readAll(r.body)),
          (conditions: object) => store.headObject(b, 'c', { conditions }),
        ]) {
          await call({ ifMatch: `"${info.etag}"` });
          await call({ ifMatch: '*' });
          await rejectsWith(call({ ifMatch: '"0123"' }), 'PreconditionFailed');
          await call({ ifNoneMatch: '"0123"' });
          await rejectsWith(call({ ifNoneMatch: `"${info.etag}"` }), 'NotModified');
          await rejectsWith(call({ ifNoneMatch: '*' }), 'NotModified');
          await call({ ifModifiedSince: past });
          await rejectsWith(call({ ifModifiedSince: future }), 'NotModified');
          await rejectsWith(call({ ifModifiedSince: info.lastModified }), 'NotModified');
          await call({ ifUnmodifiedSince: future });
          await call({ ifUnmodifiedSince: info.lastModified });
          await rejectsWith(call({ ifUnmodifiedSince: past }), 'PreconditionFailed');
          // RFC 9110 §13.2.2 order: If-Match true makes If-Unmodified-Since irrelevant, and a
          // non-matching If-None-Match makes If-Modified-Since irrelevant.
          await call({ ifMatch: info.etag, ifUnmodifiedSince: past });
          await call({ ifNoneMatch: '"0123"', ifModifiedSince: future });
          await rejectsWith(call({ ifMatch: '"0123"', ifNoneMatch: info.etag }), 'PreconditionFailed');
        }
      });
    });

    // ---- copy and rename -----------------------------------------------------------------------
    describe('copy and rename', () => {
      test('copy with COPY keeps metadata and tags; REPLACE takes new ones', async () => {
        const b = await newBucket();
        const b2 = await newBucket();
        const data = randomBytes(50_000);
        const src = await put(b, 'src', data, { headers: { contentType: 'image/png' }, userMetadata: { a: '1' }, tags: { t: '1' } });
        const c1 = await store.copyObject({ bucket: b, key: 'src' }, b2, 'copy');
        assert.equal(c1.etag, src.etag);
        assert.equal(c1.size, data.length);
        assert.equal(c1.bucket, b2);
        assert.equal(c1.key, 'copy');
        const h1 = await store.headObject(b2, 'copy');
        assert.deepEqual(h1.headers, { contentType: 'image/png' });
        assert.deepEqual(h1.userMetadata, { a: '1' });
        assert.deepEqual(h1.tags, { t: '1' });
        assert.ok((await get(b2, 'copy')).equals(data));
        await store.copyObject({ bucket: b, key: 'src' }, b, 'replaced', {
          metadataDirective: 'REPLACE',
          headers: { contentType: 'text/plain' },
          userMetadata: { b: '2' },
          taggingDirective: 'REPLACE',
          tags: { u: '2' },
        });
        const h2 = await store.headObject(b, 'replaced');
        assert.deepEqual(h2.headers, { contentType: 'text/plain' });
        assert.deepEqual(h2.userMetadata, { b: '2' });
        assert.deepEqual(h2.tags, { u: '2' });
        await store.copyObject({ bucket: b, key: 'src' }, b, 'meta-only', { metadataDirective: 'REPLACE', userMetadata: { c: '3' } });
        assert.deepEqual((await store.headObject(b, 'meta-only')).tags, { t: '1' }, 'tags follow taggingDirective, not metadataDirective');
        // The copy is independent of its source.
        await store.deleteObject(b, 'src');
        assert.ok((await get(b2, 'copy')).equals(data));
      });

      test('copy errors: missing source, source conditions, ifNoneMatch on the destination', async () => {
        const b = await newBucket();
        await rejectsWith(store.copyObject({ bucket: b, key: 'missing' }, b, 'x'), 'NoSuchKey');
        await rejectsWith(store.copyObject({ bucket: `cf-${run}-nope-${++bucketCounter}`, key: 'k' }, b, 'x'), 'NoSuchBucket');
        const src = await put(b, 'src', 'source');
        await rejectsWith(store.copyObject({ bucket: b, key: 'src' }, `cf-${run}-nope-${++bucketCounter}`, 'x'), 'NoSuchBucket');
        await rejectsWith(store.copyObject({ bucket: b, key: 'src', conditions: { ifMatch: '"0123"' } }, b, 'x'), 'PreconditionFailed');
        await rejectsWith(store.copyObject({ bucket: b, key: 'src', conditions: { ifNoneMatch: src.etag } }, b, 'x'), 'PreconditionFailed');
        await store.copyObject({ bucket: b, key: 'src', conditions: { ifMatch: src.etag } }, b, 'x');
        await rejectsWith(store.copyObject({ bucket: b, key: 'src' }, b, 'x', { ifNoneMatch: '*' }), 'PreconditionFailed');
        await store.copyObject({ bucket: b, key: 'src' }, b, 'y', { ifNoneMatch: '*' });
        assert.equal((await get(b, 'y')).toString(), 'source');
      });

      test('renameObject moves data and metadata, replaces the destination, crosses buckets', async () => {
        const b = await newBucket();
        const b2 = await newBucket();
        const data = randomBytes(20_000);
        const src = await put(b, 'a/old', data, { userMetadata: { m: 'v' }, tags: { t: 'x' } });
        await put(b, 'a/new', 'to be replaced');
        await store.renameObject(b, 'a/old', b, 'a/new');
        await rejectsWith(store.headObject(b, 'a/old'), 'NoSuchKey');
        const h = await store.headObject(b, 'a/new');
        assert.equal(h.etag, src.etag);
        assert.deepEqual(h.userMetadata, { m: 'v' });
        assert.deepEqual(h.tags, { t: 'x' });
        assert.ok((await get(b, 'a/new')).equals(data));
        await store.renameObject(b, 'a/new', b2, 'moved');
        assert.ok((await get(b2, 'moved')).equals(data));
        assert.deepEqual((await store.listObjects(b)).objects, []);
        await rejectsWith(store.renameObject(b, 'missing', b, 'x'), 'NoSuchKey');
        await rejectsWith(store.renameObject(b2, 'moved', `cf-${run}-nope-${++bucketCounter}`, 'x'), 'NoSuchBucket');
        assert.ok((await get(b2, 'moved')).equals(data), 'a failed rename leaves the source');
      });

      test('renamePrefix moves exactly the keys under the prefix', async () => {
        const b = await newBucket();
        const b2 = await newBucket();
        for (const k of ['dir/a', 'dir/sub/b', 'dir/sub/c', 'dir2/x', 'dirx', 'di', 'other/dir/a']) await put(b, k, `v:${k}`);
        const moved = await store.renamePrefix(b, 'dir/', b, 'renamed/');
        assert.equal(moved, 3);
        const keys = (await store.listObjects(b)).objects.map((o) => o.key);
        assert.deepEqual(keys, ['di', 'dir2/x', 'dirx', 'other/dir/a', 'renamed/a', 'renamed/sub/b', 'renamed/sub/c']);
        assert.equal((await get(b, 'renamed/sub/b')).toString(), 'v:dir/sub/b');
        assert.equal(await store.renamePrefix(b, 'renamed/sub/', b2, 'elsewhere/'), 2);
        assert.deepEqual((await store.listObjects(b2)).objects.map((o) => o.key), ['elsewhere/b', 'elsewhere/c']);
        assert.equal((await get(b2, 'elsewhere/c')).toString(), 'v:dir/sub/c');
        assert.equal(await store.renamePrefix(b, 'nothing-here/', b, 'x/'), 0);
        await rejectsWith(store.renamePrefix(`cf-${run}-nope-${++bucketCounter}`, 'a', b, 'b'), 'NoSuchBucket');
      });
    });

    // ---- listing -------------------------------------------------------------------------------
    describe('listing', () => {
      const keys: string[] = [];
      for (let i = 0; i < 12; i++) keys.push(`file-${String(i).padStart(2, '0')}`);
      for (let i = 0; i < 8; i++) keys.push(`photos/2024/img-${i}.jpg`);
      for (let i = 0; i < 6; i++) keys.push(`photos/2025/img-${i}.jpg`);
      for (let i = 0; i < 5; i++) keys.push(`docs/${i}/readme`);
      keys.push('docs/', 'docs/top', 'a', 'A', 'z', 'ä', 'ä/inner', 'z/ä', '\uFFFD', '😀', '😀/x', 'émoji/é', 'ü', 'zz', 'photos', 'photos0');
      keys.push('sp ace', 'a/b/c/d', 'a/b', 'a-b', 'a.b', '~tilde');
      let b: string;

      before(async () => {
        b = await newBucket();
        for (const k of keys) await put(b, k, k);
      });

      async function collect(opts: ListOptions, maxKeys: number): Promise<string[]> {
        const seen: string[] = [];
        let token: string | undefined;
        for (let pages = 0; ; pages++) {
          assert.ok(pages <= keys.length + 1, 'paging terminates');
          const page = await store.listObjects(b, { ...opts, maxKeys, continuationToken: token });
          const entries = [...page.objects.map((o) => o.key), ...page.commonPrefixes];
          assert.ok(entries.length <= maxKeys, `page of ${entries.length} > maxKeys ${maxKeys}`);
          assert.deepEqual(page.objects.map((o) => o.key), byteSorted(page.objects.map((o) => o.key)));
          seen.push(...byteSorted(entries));
          if (!page.isTruncated) {
            assert.equal(page.nextContinuationToken, undefined);
            break;
          }
          assert.equal(entries.length, maxKeys, 'a truncated page is full');
          assert.ok(page.nextContinuationToken, 'a truncated page has a token');
          assert.equal(page.lastReturned, byteSorted(entries).at(-1));
          token = page.nextContinuationToken;
        }
        return seen;
      }

      test('a full listing is in UTF-8 byte order with summaries', async () => {
        const res = await store.listObjects(b);
        assert.deepEqual(res.objects.map((o) => o.key), byteSorted(keys));
        assert.equal(res.isTruncated, false);
        assert.deepEqual(res.commonPrefixes, []);
        const order = res.objects.map((o) => o.key);
        assert.ok(order.indexOf('z') < order.indexOf('ä') && order.indexOf('ä') < order.indexOf('\uFFFD') && order.indexOf('\uFFFD') < order.indexOf('😀'));
        const one = res.objects.find((o) => o.key === 'docs/top')!;
        assert.equal(one.size, Buffer.byteLength('docs/top'));
        assert.equal(one.etag, md5hex(Buffer.from('docs/top')));
        assert.ok(one.lastModified instanceof Date);
      });

      test('prefix, delimiter and startAfter match the model', async () => {
        const cases = [
          { prefix: 'photos/' },
          { prefix: 'photos' },
          { delimiter: '/' },
          { prefix: 'photos/', delimiter: '/' },
          { prefix: 'docs/', delimiter: '/' },
          { prefix: 'ä', delimiter: '/' },
          { startAfter: 'file-05' },
          { startAfter: 'photos/2024/img-3.jpg', delimiter: '/' },
          { startAfter: 'ä' },
          { prefix: 'nothing' },
          { delimiter: '-' },
        ];
        for (const opts of cases) {
          const res = await store.listObjects(b, opts);
          const got = byteSorted([...res.objects.map((o) => o.key), ...res.commonPrefixes]);
          assert.deepEqual(got, modelEntries(keys, opts), JSON.stringify(opts));
          assert.deepEqual(res.commonPrefixes, byteSorted(res.commonPrefixes));
        }
      });

      test('pagination with maxKeys 1..n never skips or repeats', async () => {
        const all = modelEntries(keys, {});
        const folders = modelEntries(keys, { delimiter: '/' });
        for (const maxKeys of [1, 2, 3, 7, 13, keys.length - 1, keys.length, 1000]) {
          assert.deepEqual(await collect({}, maxKeys), all, `maxKeys ${maxKeys}`);
          assert.deepEqual(await collect({ delimiter: '/' }, maxKeys), folders, `delimiter, maxKeys ${maxKeys}`);
        }
        assert.deepEqual(await collect({ prefix: 'photos/', delimiter: '/' }, 1), ['photos/2024/', 'photos/2025/']);
        const zero = await store.listObjects(b, { maxKeys: 0 });
        assert.deepEqual(zero.objects, []);
        assert.equal(zero.isTruncated, false);
        const clamped = await store.listObjects(b, { maxKeys: 5000 });
        assert.equal(clamped.objects.length, keys.length);
      });

      test('bad continuation token → InvalidArgument', async () => {
        await rejectsWith(store.listObjects(b, { continuationToken: 'not a token!' }), 'InvalidArgument');
      });

      test('listing reflects puts and deletes', async () => {
        const b2 = await newBucket();
        assert.deepEqual((await store.listObjects(b2)).objects, []);
        await put(b2, 'x', 'x');
        await put(b2, 'y', 'y');
        await store.deleteObject(b2, 'x');
        assert.deepEqual((await store.listObjects(b2)).objects.map((o) => o.key), ['y']);
      });
    });

    // ---- multipart -----------------------------------------------------------------------------
    describe('multipart', () => {
      test('out-of-order parts assemble in order; ETag is MD5 of MD5s -N; metadata from create', async () => {
        const b = await newBucket();
        const parts = [randomBytes(minPart), randomBytes(minPart + 1000), randomBytes(777)];
        const up = await store.createMultipartUpload(b, 'mp', {
          headers: { contentType: 'application/x-test' },
          userMetadata: { origin: 'multipart' },
          tags: { kind: 'mp' },
        });
        assert.equal(up.key, 'mp');
        assert.ok(up.uploadId.length > 0);
        const etags: string[] = [];
        for (const i of [2, 0, 1]) {
          const p = await store.uploadPart(b, 'mp', up.uploadId, i + 1, body(parts[i]));
          assert.equal(p.etag, md5hex(parts[i]));
          assert.equal(p.size, parts[i].length);
          assert.equal(p.partNumber, i + 1);
          etags[i] = p.etag;
        }
        await rejectsWith(store.headObject(b, 'mp'), 'NoSuchKey');
        const info = await store.completeMultipartUpload(b, 'mp', up.uploadId, etags.map((etag, i) => ({ partNumber: i + 1, etag: `"${etag}"` })));
        const whole = Buffer.concat(parts);
        const expected = createHash('md5').update(Buffer.concat(parts.map(md5))).digest('hex') + '-3';
        assert.equal(info.etag, expected);
        assert.equal(info.size, whole.length);
        assert.ok((await get(b, 'mp')).equals(whole));
        const h = await store.headObject(b, 'mp');
        assert.equal(h.etag, expected);
        assert.deepEqual(h.headers, { contentType: 'application/x-test' });
        assert.deepEqual(h.userMetadata, { origin: 'multipart' });
        assert.deepEqual(h.tags, { kind: 'mp' });
        assert.deepEqual(h.parts?.map((p) => [p.partNumber, p.size, p.etag]), parts.map((p, i) => [i + 1, p.length, md5hex(p)]));
        await rejectsWith(store.listParts(b, 'mp', up.uploadId), 'NoSuchUpload');
        assert.deepEqual((await store.listMultipartUploads(b)).uploads, []);

        // partNumber GET / HEAD
        let offset = 0;
        for (let i = 0; i < parts.length; i++) {
          const r = await store.getObject(b, 'mp', { partNumber: i + 1 });
          assert.deepEqual(r.range, { start: offset, end: offset + parts[i].length - 1 });
          assert.equal(r.contentLength, parts[i].length);
          assert.ok((await readAll(r.body)).equals(parts[i]));
          await store.headObject(b, 'mp', { partNumber: i + 1 });
          offset += parts[i].length;
        }
        await rejectsWith(store.getObject(b, 'mp', { partNumber: 4 }), 'InvalidRange');
        await put(b, 'simple', 'simple object');
        const s = await store.getObject(b, 'simple', { partNumber: 1 });
        assert.equal((await readAll(s.body)).toString(), 'simple object');
        await rejectsWith(store.getObject(b, 'simple', { partNumber: 2 }), 'InvalidRange');
      });

      test('a subset of uploaded parts; replacing a part; single part', async () => {
        const b = await newBucket();
        const up = await store.createMultipartUpload(b, 'k');
        const first = randomBytes(minPart);
        const second = randomBytes(minPart);
        const p1a = await store.uploadPart(b, 'k', up.uploadId, 1, body(first));
        const p1b = await store.uploadPart(b, 'k', up.uploadId, 1, body(second));
        assert.notEqual(p1a.etag, p1b.etag);
        const p5 = await store.uploadPart(b, 'k', up.uploadId, 5, body('tail'));
        await store.uploadPart(b, 'k', up.uploadId, 3, body('never used'));
        const listed = await store.listParts(b, 'k', up.uploadId);
        assert.deepEqual(listed.parts.map((p) => [p.partNumber, p.etag]), [[1, p1b.etag], [3, md5hex(Buffer.from('never used'))], [5, p5.etag]]);
        await rejectsWith(store.completeMultipartUpload(b, 'k', up.uploadId, [{ partNumber: 1, etag: p1a.etag }]), 'InvalidPart');
        const info = await store.completeMultipartUpload(b, 'k', up.uploadId, [{ partNumber: 1, etag: p1b.etag }, { partNumber: 5, etag: p5.etag }]);
        assert.ok((await get(b, 'k')).equals(Buffer.concat([second, Buffer.from('tail')])));
        assert.match(info.etag, /^[0-9a-f]{32}-2$/);
        const single = await store.createMultipartUpload(b, 'one');
        const only = await store.uploadPart(b, 'one', single.uploadId, 1, body('x'));
        const oneInfo = await store.completeMultipartUpload(b, 'one', single.uploadId, [{ partNumber: 1, etag: only.etag }]);
        assert.equal(oneInfo.etag, createHash('md5').update(md5(Buffer.from('x'))).digest('hex') + '-1');
      });

      test('EntityTooSmall, InvalidPart, InvalidPartOrder, bad part numbers', async () => {
        const b = await newBucket();
        const up = await store.createMultipartUpload(b, 'k');
        const small = await store.uploadPart(b, 'k', up.uploadId, 1, body(randomBytes(Math.max(1, minPart - 1))));
        const big = await store.uploadPart(b, 'k', up.uploadId, 2, body(randomBytes(minPart)));
        await rejectsWith(
          store.completeMultipartUpload(b, 'k', up.uploadId, [{ partNumber: 1, etag: small.etag }, { partNumber: 2, etag: big.etag }]),
          'EntityTooSmall',
        );
        await rejectsWith(
          store.completeMultipartUpload(b, 'k', up.uploadId, [{ partNumber: 2, etag: big.etag }, { partNumber: 1, etag: small.etag }]),
          'InvalidPartOrder',
        );
        await rejectsWith(
          store.completeMultipartUpload(b, 'k', up.uploadId, [{ partNumber: 2, etag: big.etag }, { partNumber: 2, etag: big.etag }]),
          'InvalidPartOrder',
        );
        await rejectsWith(store.completeMultipartUpload(b, 'k', up.uploadId, [{ partNumber: 3, etag: big.etag }]), 'InvalidPart');
        await rejectsWith(store.completeMultipartUpload(b, 'k', up.uploadId, [{ partNumber: 2, etag: small.etag }]), 'InvalidPart');
        await rejectsWith(store.uploadPart(b, 'k', up.uploadId, 0, body('x')), 'InvalidArgument');
        await rejectsWith(store.uploadPart(b, 'k', up.uploadId, 10001, body('x')), 'InvalidArgument');
        await rejectsWith(store.headObject(b, 'k'), 'NoSuchKey');
        // The failed completions left the upload intact: the last part may be small.
        await store.completeMultipartUpload(b, 'k', up.uploadId, [{ partNumber: 2, etag: big.etag }]);
        assert.equal((await store.headObject(b, 'k')).size, minPart);
      });

      test('part body checks: BadDigest and IncompleteBody store no part', async () => {
        const b = await newBucket();
        const up = await store.createMultipartUpload(b, 'k');
        await rejectsWith(store.uploadPart(b, 'k', up.uploadId, 1, body('abc'), { contentMd5: md5(Buffer.from('xyz')) }), 'BadDigest');
        await rejectsWith(store.uploadPart(b, 'k', up.uploadId, 2, body('abc'), { expectedSize: 4 }), 'IncompleteBody');
        assert.deepEqual((await store.listParts(b, 'k', up.uploadId)).parts, []);
        await store.uploadPart(b, 'k', up.uploadId, 1, body('abc'), { contentMd5: md5(Buffer.from('abc')), expectedSize: 3 });
        assert.equal((await store.listParts(b, 'k', up.uploadId)).parts.length, 1);
        await store.abortMultipartUpload(b, 'k', up.uploadId);
      });

      test('NoSuchUpload for unknown ids, wrong keys and aborted uploads', async () => {
        const b = await newBucket();
        await rejectsWith(store.uploadPart(b, 'k', 'no-such-upload', 1, body('x')), 'NoSuchUpload');
        await rejectsWith(store.listParts(b, 'k', 'no-such-upload'), 'NoSuchUpload');
        await rejectsWith(store.completeMultipartUpload(b, 'k', 'no-such-upload', [{ partNumber: 1, etag: md5hex(Buffer.from('x')) }]), 'NoSuchUpload');
        await rejectsWith(store.abortMultipartUpload(b, 'k', 'no-such-upload'), 'NoSuchUpload');
        const up = await store.createMultipartUpload(b, 'k');
        await rejectsWith(store.uploadPart(b, 'other-key', up.uploadId, 1, body('x')), 'NoSuchUpload');
        const b2 = await newBucket();
        await rejectsWith(store.uploadPart(b2, 'k', up.uploadId, 1, body('x')), 'NoSuchUpload');
        const p = await store.uploadPart(b, 'k', up.uploadId, 1, body('x'));
        await store.abortMultipartUpload(b, 'k', up.uploadId);
        await rejectsWith(store.uploadPart(b, 'k', up.uploadId, 2, body('x')), 'NoSuchUpload');
        await rejectsWith(store.completeMultipartUpload(b, 'k', up.uploadId, [{ partNumber: 1, etag: p.etag }]), 'NoSuchUpload');
        await rejectsWith(store.abortMultipartUpload(b, 'k', up.uploadId), 'NoSuchUpload');
        await rejectsWith(store.headObject(b, 'k'), 'NoSuchKey');
        assert.deepEqual((await store.listMultipartUploads(b)).uploads, []);
        // Uploads are tenant-scoped too.
        const mine = await store.createMultipartUpload(b, 'k');
        await other.createBucket(b);
        await rejectsWith(other.uploadPart(b, 'k', mine.uploadId, 1, body('x')), 'NoSuchUpload');
        await rejectsWith(other.abortMultipartUpload(b, 'k', mine.uploadId), 'NoSuchUpload');
        assert.deepEqual((await other.listMultipartUploads(b)).uploads, []);
        await other.deleteBucket(b);
        await store.abortMultipartUpload(b, 'k', mine.uploadId);
      });

      test('listParts pages with partNumberMarker / maxParts', async () => {
        const b = await newBucket();
        const up = await store.createMultipartUpload(b, 'k');
        for (const n of [4, 1, 9, 2, 7]) await store.uploadPart(b, 'k', up.uploadId, n, body(`part ${n}`));
        const seen: number[] = [];
        let marker: number | undefined;
        for (let i = 0; i < 10; i++) {
          const page = await store.listParts(b, 'k', up.uploadId, { maxParts: 2, partNumberMarker: marker });
          assert.ok(page.parts.length <= 2);
          for (const p of page.parts) {
            assert.equal(p.etag, md5hex(Buffer.from(`part ${p.partNumber}`)));
            assert.equal(p.size, Buffer.byteLength(`part ${p.partNumber}`));
            assert.ok(p.lastModified instanceof Date);
          }
          seen.push(...page.parts.map((p) => p.partNumber));
          if (!page.isTruncated) break;
          assert.equal(page.nextPartNumberMarker, page.parts.at(-1)!.partNumber);
          marker = page.nextPartNumberMarker;
        }
        assert.deepEqual(seen, [1, 2, 4, 7, 9]);
        assert.deepEqual((await store.listParts(b, 'k', up.uploadId, { partNumberMarker: 7 })).parts.map((p) => p.partNumber), [9]);
        await store.abortMultipartUpload(b, 'k', up.uploadId);
      });

      test('listMultipartUploads: order, prefix, delimiter, paging', async () => {
        const b = await newBucket();
        const made = [];
        for (const k of ['b/2', 'a', 'b/1', 'c', 'a']) made.push(await store.createMultipartUpload(b, k));
        const all = await store.listMultipartUploads(b);
        assert.equal(all.isTruncated, false);
        assert.deepEqual(all.uploads.map((u) => u.key), ['a', 'a', 'b/1', 'b/2', 'c']);
        const aIds = made.filter((u) => u.key === 'a').map((u) => u.uploadId);
        assert.deepEqual(new Set(all.uploads.filter((u) => u.key === 'a').map((u) => u.uploadId)), new Set(aIds));
        for (const u of all.uploads) assert.ok(u.initiated instanceof Date);
        assert.deepEqual((await store.listMultipartUploads(b, { prefix: 'b/' })).uploads.map((u) => u.key), ['b/1', 'b/2']);
        const folded = await store.listMultipartUploads(b, { delimiter: '/' });
        assert.deepEqual(folded.uploads.map((u) => u.key), ['a', 'a', 'c']);
        assert.deepEqual(folded.commonPrefixes, ['b/']);
        const seen: string[] = [];
        let keyMarker: string | undefined;
        let uploadIdMarker: string | undefined;
        for (let i = 0; i < 10; i++) {
          const page = await store.listMultipartUploads(b, { maxUploads: 1, keyMarker, uploadIdMarker });
          assert.ok(page.uploads.length <= 1);
          seen.push(...page.uploads.map((u) => `${u.key}#${u.uploadId}`));
          if (!page.isTruncated) break;
          keyMarker = page.nextKeyMarker;
          uploadIdMarker = page.nextUploadIdMarker;
          assert.ok(keyMarker !== undefined);
        }
        assert.deepEqual(seen, all.uploads.map((u) => `${u.key}#${u.uploadId}`));
        for (const u of made) await store.abortMultipartUpload(b, u.key, u.uploadId);
        assert.deepEqual((await store.listMultipartUploads(b)).uploads, []);
      });

      test('conditional completion and uploadPartCopy', async () => {
        const b = await newBucket();
        const existing = await put(b, 'k', 'existing');
        const src = randomBytes(minPart + 500);
        await put(b, 'src', src);
        const up = await store.createMultipartUpload(b, 'k');
        const p1 = await store.uploadPartCopy(b, 'k', up.uploadId, 1, { bucket: b, key: 'src', range: { start: 0, end: minPart - 1 } });
        assert.equal(p1.etag, md5hex(src.subarray(0, minPart)));
        assert.equal(p1.size, minPart);
        const p2 = await store.uploadPartCopy(b, 'k', up.uploadId, 2, { bucket: b, key: 'src' });
        assert.equal(p2.etag, md5hex(src));
        await rejectsWith(store.uploadPartCopy(b, 'k', up.uploadId, 3, { bucket: b, key: 'missing' }), 'NoSuchKey');
        const parts = [{ partNumber: 1, etag: p1.etag }, { partNumber: 2, etag: p2.etag }];
        await rejectsWith(store.completeMultipartUpload(b, 'k', up.uploadId, parts, { ifNoneMatch: '*' }), 'PreconditionFailed');
        await rejectsWith(store.completeMultipartUpload(b, 'k', up.uploadId, parts, { ifMatch: '"0123"' }), 'PreconditionFailed');
        assert.equal((await get(b, 'k')).toString(), 'existing');
        await store.completeMultipartUpload(b, 'k', up.uploadId, parts, { ifMatch: existing.etag });
        assert.ok((await get(b, 'k')).equals(Buffer.concat([src.subarray(0, minPart), src])));
      });

      test('copying a multipart object keeps its bytes and ETag', async () => {
        const b = await newBucket();
        const up = await store.createMultipartUpload(b, 'mp');
        const a = randomBytes(minPart);
        const p1 = await store.uploadPart(b, 'mp', up.uploadId, 1, body(a));
        const p2 = await store.uploadPart(b, 'mp', up.uploadId, 2, body('end'));
        const info = await store.completeMultipartUpload(b, 'mp', up.uploadId, [{ partNumber: 1, etag: p1.etag }, { partNumber: 2, etag: p2.etag }]);
        const copy = await store.copyObject({ bucket: b, key: 'mp' }, b, 'copy');
        assert.equal(copy.etag, info.etag);
        assert.ok((await get(b, 'copy')).equals(Buffer.concat([a, Buffer.from('end')])));
        await store.renameObject(b, 'mp', b, 'renamed');
        const r = await store.getObject(b, 'renamed', { partNumber: 2 });
        assert.equal((await readAll(r.body)).toString(), 'end');
      });
    });
  });
}
