import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isStoreError, type ErrorCode } from '../../backend/core/errors.js';
import type { ObjectSummary } from '../../backend/core/object-store.js';
import {
  compareKeys,
  decodeContinuationToken,
  encodeContinuationToken,
  evaluateConditions,
  evaluateWriteConditions,
  listObjectsPage,
  multipartEtag,
  normalizeEtag,
  prefixUpperBound,
  resolveRange,
  validateBucketName,
  validateCompletedPartOrder,
  validateKey,
  validatePartNumber,
  validateTags,
  type ScanFrom,
} from '../../backend/core/s3-rules.js';

function throwsCode(fn: () => unknown, code: ErrorCode): void {
  assert.throws(fn, (err: unknown) => isStoreError(err, code), `expected StoreError ${code}`);
}

test('validateBucketName follows the S3 rules', () => {
  for (const ok of ['abc', 'my-bucket', 'my.bucket.1', 'a'.repeat(63), '1bucket', 'bucket1']) validateBucketName(ok);
  for (const bad of ['d', 'ui', 'ab', 'a'.repeat(64), 'ABC', 'my_bucket', '-abc', 'abc-', '.abc', 'abc.', 'a..b', 'a.-b', 'a-.b',
    '192.168.1.1', 'xn--abc', 'sthree-x', 'abc-s3alias', 'abc--ol-s3', 'ab c', 'äbc']) {
    throwsCode(() => validateBucketName(bad), 'InvalidBucketName');
  }
});

test('validateKey: empty, too long, NUL, lone surrogate', () => {
  validateKey('a');
  validateKey('x'.repeat(1024));
  validateKey('ä'.repeat(512));
  validateKey('😀/emoji');
  throwsCode(() => validateKey(''), 'InvalidObjectName');
  throwsCode(() => validateKey('x'.repeat(1025)), 'KeyTooLong');
  throwsCode(() => validateKey('ä'.repeat(513)), 'KeyTooLong');
  throwsCode(() => validateKey('a\0b'), 'InvalidObjectName');
  throwsCode(() => validateKey('a\ud800b'), 'InvalidObjectName');
});

test('compareKeys is UTF-8 byte order', () => {
  const keys = ['z', 'ä', '\uFFFD', '😀', 'a', 'A', 'aa', '', '\u00ff', '\ue000', '\u{10000}'];
  const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  assert.deepEqual([...keys].sort(compareKeys), byBytes);
  assert.ok(compareKeys('\uFFFD', '😀') < 0, 'U+FFFD sorts before astral code points in UTF-8');
  assert.ok(compareKeys('z', 'ä') < 0);
  assert.equal(compareKeys('abc', 'abc'), 0);
});

test('prefixUpperBound', () => {
  assert.deepEqual(prefixUpperBound('a/'), Buffer.from('a0'));
  assert.deepEqual(prefixUpperBound('ä'), Buffer.from([0xc3, 0xa5]));
  assert.equal(prefixUpperBound(''), undefined);
});

test('resolveRange follows RFC 9110', () => {
  assert.deepEqual(resolveRange({ start: 0, end: 0 }, 10), { start: 0, end: 0 });
  assert.deepEqual(resolveRange({ start: 2, end: 100 }, 10), { start: 2, end: 9 });
  assert.deepEqual(resolveRange({ start: 9 }, 10), { start: 9, end: 9 });
  assert.deepEqual(resolveRange({ suffix: 3 }, 10), { start: 7, end: 9 });
  assert.deepEqual(resolveRange({ suffix: 30 }, 10), { start: 0, end: 9 });
  throwsCode(() => resolveRange({ start: 10 }, 10), 'InvalidRange');
  throwsCode(() => resolveRange({ start: 10, end: 20 }, 10), 'InvalidRange');
  throwsCode(() => resolveRange({ suffix: 0 }, 10), 'InvalidRange');
  throwsCode(() => resolveRange({ start: 5, end: 4 }, 10), 'InvalidRange');
  throwsCode(() => resolveRange({ start: 0 }, 0), 'InvalidRange');
  throwsCode(() => resolveRange({ suffix: 5 }, 0), 'InvalidRange');
});

test('evaluateConditions: RFC 9110 §13.2.2 order', () => {
  const info = { etag: 'abc', lastModified: new Date('2024-01-01T00:00:10.700Z') };
  const before = new Date('2024-01-01T00:00:09Z');
  const same = new Date('2024-01-01T00:00:10Z');
  const after = new Date('2024-01-01T00:00:11Z');
  evaluateConditions(info, undefined);
  evaluateConditions(info, { ifMatch: '"abc"' });
  evaluateConditions(info, { ifMatch: 'W/"abc"' });
  evaluateConditions(info, { ifMatch: '*' });
  evaluateConditions(info, { ifMatch: '"x", "abc"' });
  throwsCode(() => evaluateConditions(info, { ifMatch: '"x"' }), 'PreconditionFailed');
  // If-Match true wins over a failing If-Unmodified-Since (the latter is not evaluated).
  evaluateConditions(info, { ifMatch: 'abc', ifUnmodifiedSince: before });
  throwsCode(() => evaluateConditions(info, { ifUnmodifiedSince: before }), 'PreconditionFailed');
  evaluateConditions(info, { ifUnmodifiedSince: same }); // one-second granularity
  throwsCode(() => evaluateConditions(info, { ifNoneMatch: '"abc"' }), 'NotModified');
  throwsCode(() => evaluateConditions(info, { ifNoneMatch: '*' }), 'NotModified');
  throwsCode(() => evaluateConditions(info, { ifNoneMatch: '"abc"' }, true), 'PreconditionFailed');
  evaluateConditions(info, { ifNoneMatch: '"x"' });
  // If-None-Match present (and not matching) → If-Modified-Since ignored.
  evaluateConditions(info, { ifNoneMatch: '"x"', ifModifiedSince: after });
  throwsCode(() => evaluateConditions(info, { ifModifiedSince: same }), 'NotModified');
  throwsCode(() => evaluateConditions(info, { ifModifiedSince: after }), 'NotModified');
  evaluateConditions(info, { ifModifiedSince: before });
  evaluateConditions(info, { ifModifiedSince: after }, true);
  // If-Match failing wins over If-None-Match.
  throwsCode(() => evaluateConditions(info, { ifMatch: 'x', ifNoneMatch: 'abc' }), 'PreconditionFailed');
});

test('evaluateWriteConditions', () => {
  evaluateWriteConditions(undefined, { ifNoneMatch: '*' });
  throwsCode(() => evaluateWriteConditions({ etag: 'e' }, { ifNoneMatch: '*' }), 'PreconditionFailed');
  evaluateWriteConditions({ etag: 'e' }, { ifMatch: '"e"' });
  throwsCode(() => evaluateWriteConditions({ etag: 'e' }, { ifMatch: 'f' }), 'PreconditionFailed');
  throwsCode(() => evaluateWriteConditions(undefined, { ifMatch: 'e' }), 'PreconditionFailed');
});

test('multipartEtag is MD5 of binary MD5s plus -N; normalizeEtag strips quotes and W/', () => {
  const p1 = createHash('md5').update('one').digest();
  const p2 = createHash('md5').update('two').digest();
  const expect = createHash('md5').update(Buffer.concat([p1, p2])).digest('hex') + '-2';
  assert.equal(multipartEtag([p1, p2]), expect);
  assert.equal(normalizeEtag('"abc"'), 'abc');
  assert.equal(normalizeEtag('W/"abc"'), 'abc');
  assert.equal(normalizeEtag('abc'), 'abc');
});

test('validateTags, validatePartNumber, validateCompletedPartOrder', () => {
  validateTags({});
  validateTags(Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, 'v'])));
  validateTags({ ['k'.repeat(128)]: 'v'.repeat(256) });
  throwsCode(() => validateTags(Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v']))), 'InvalidArgument');
  throwsCode(() => validateTags({ ['k'.repeat(129)]: 'v' }), 'InvalidArgument');
  throwsCode(() => validateTags({ '': 'v' }), 'InvalidArgument');
  throwsCode(() => validateTags({ k: 'v'.repeat(257) }), 'InvalidArgument');
  validatePartNumber(1);
  validatePartNumber(10000);
  for (const n of [0, 10001, 1.5, -1, NaN]) throwsCode(() => validatePartNumber(n), 'InvalidArgument');
  validateCompletedPartOrder([{ partNumber: 1 }, { partNumber: 3 }]);
  throwsCode(() => validateCompletedPartOrder([{ partNumber: 2 }, { partNumber: 1 }]), 'InvalidPartOrder');
  throwsCode(() => validateCompletedPartOrder([{ partNumber: 2 }, { partNumber: 2 }]), 'InvalidPartOrder');
  throwsCode(() => validateCompletedPartOrder([]), 'InvalidPart');
});

test('continuation tokens round-trip and reject garbage', () => {
  for (const k of ['a', 'ä/ö', 'x'.repeat(1024), '😀']) assert.equal(decodeContinuationToken(encodeContinuationToken(k)), k);
  for (const bad of ['', 'not a token', '!!!', Buffer.from('2\nx').toString('base64url'), 'AA']) {
    throwsCode(() => decodeContinuationToken(bad), 'InvalidArgument');
  }
});

function scanOver(keys: string[], seeks: ScanFrom[] = []) {
  const sorted = [...keys].sort(compareKeys);
  const items: ObjectSummary[] = sorted.map((key) => ({ key, size: 0, etag: 'e', lastModified: new Date(0) }));
  return (from: ScanFrom): Iterable<ObjectSummary> => {
    seeks.push(from);
    return items.filter((o) => {
      if (from.pastPrefix !== undefined) return compareKeys(o.key, from.pastPrefix) > 0 && !o.key.startsWith(from.pastPrefix);
      return from.after === undefined || compareKeys(o.key, from.after) > 0;
    });
  };
}

test('listObjectsPage: prefix, delimiter, paging, seeking past common prefixes', async () => {
  const keys = ['a/1', 'a/2', 'a/3', 'b', 'c/x/y', 'c/z', 'd', 'ä', 'z'];
  const seeks: ScanFrom[] = [];
  const scan = scanOver(keys, seeks);
  const all = await listObjectsPage(scan, { delimiter: '/' });
  assert.deepEqual(all.objects.map((o) => o.key), ['b', 'd', 'z', 'ä']);
  assert.deepEqual(all.commonPrefixes, ['a/', 'c/']);
  assert.equal(all.isTruncated, false);
  assert.ok(seeks.some((s) => s.pastPrefix === 'a/'), 'the scan seeks past a rolled-up prefix');

  const under = await listObjectsPage(scan, { prefix: 'c/', delimiter: '/' });
  assert.deepEqual(under.objects.map((o) => o.key), ['c/z']);
  assert.deepEqual(under.commonPrefixes, ['c/x/']);

  // Page one entry at a time through objects and prefixes alike.
  const seen: string[] = [];
  let token: string | undefined;
  for (let i = 0; i < 20; i++) {
    const page = await listObjectsPage(scan, { delimiter: '/', maxKeys: 1, continuationToken: token });
    seen.push(...page.commonPrefixes, ...page.objects.map((o) => o.key));
    if (!page.isTruncated) break;
    token = page.nextContinuationToken;
    assert.ok(token);
  }
  assert.deepEqual(seen, ['a/', 'b', 'c/', 'd', 'z', 'ä']);

  const after = await listObjectsPage(scan, { startAfter: 'b' });
  assert.deepEqual(after.objects.map((o) => o.key), ['c/x/y', 'c/z', 'd', 'z', 'ä']);
  // startAfter inside a rolled-up prefix: the prefix sorts before it and is not repeated.
  const inside = await listObjectsPage(scan, { startAfter: 'a/1', delimiter: '/' });
  assert.deepEqual(inside.commonPrefixes, ['c/']);
  const zero = await listObjectsPage(scan, { maxKeys: 0 });
  assert.deepEqual(zero.objects, []);
  assert.equal(zero.isTruncated, false);
  const exact = await listObjectsPage(scan, { prefix: 'a/', maxKeys: 3 });
  assert.equal(exact.objects.length, 3);
  assert.equal(exact.isTruncated, false, 'not truncated when nothing follows');
  await assert.rejects(listObjectsPage(scan, { maxKeys: -1 }), (e: unknown) => isStoreError(e, 'InvalidArgument'));
  await assert.rejects(listObjectsPage(scan, { continuationToken: 'bogus!' }), (e: unknown) => isStoreError(e, 'InvalidArgument'));
});
