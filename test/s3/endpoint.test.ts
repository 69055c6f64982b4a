// Request → typed endpoint: every supported operation, path-style and virtual-hosted addressing,
// and the requests that must be refused (invalid bucket names, bad part numbers, unknown
// sub-resources → NotImplemented).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEndpoint, parseCopySource, isValidBucketName, type EndpointInput } from '../../gateway/s3/endpoint.js';
import { S3Error } from '../../gateway/s3/errors.js';

function ep(method: string, url: string, headers: Record<string, string> = {}, extra: Partial<EndpointInput> = {}) {
  const [rawPath, qs = ''] = url.split('?', 2);
  const query = new Map<string, string>();
  for (const part of qs.split('&').filter(Boolean)) {
    const [k, v = ''] = part.split('=', 2);
    query.set(decodeURIComponent(k), decodeURIComponent(v));
  }
  return parseEndpoint({ method, rawPath, query, headers, ...extra });
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof S3Error) return `${err.status} ${err.s3Code}`;
    throw err;
  }
  return 'no error';
}

test('operations are named after the AWS actions', () => {
  const cases: [string, string, Record<string, string>, string][] = [
    ['GET', '/', {}, 'ListBuckets'],
    ['PUT', '/bkt', {}, 'CreateBucket'],
    ['HEAD', '/bkt', {}, 'HeadBucket'],
    ['DELETE', '/bkt', {}, 'DeleteBucket'],
    ['GET', '/bkt?location', {}, 'GetBucketLocation'],
    ['GET', '/bkt?versioning', {}, 'GetBucketVersioning'],
    ['GET', '/bkt', {}, 'ListObjects'],
    ['GET', '/bkt?list-type=2&prefix=a', {}, 'ListObjectsV2'],
    ['GET', '/bkt?uploads', {}, 'ListMultipartUploads'],
    ['POST', '/bkt?delete', {}, 'DeleteObjects'],
    ['PUT', '/bkt/k', {}, 'PutObject'],
    ['PUT', '/bkt/k', { 'x-amz-copy-source': '/src/a%20b' }, 'CopyObject'],
    ['GET', '/bkt/k?x-id=GetObject', {}, 'GetObject'],
    ['HEAD', '/bkt/k', {}, 'HeadObject'],
    ['DELETE', '/bkt/k', {}, 'DeleteObject'],
    ['POST', '/bkt/k?uploads', {}, 'CreateMultipartUpload'],
    ['PUT', '/bkt/k?partNumber=3&uploadId=u', {}, 'UploadPart'],
    ['PUT', '/bkt/k?partNumber=3&uploadId=u', { 'x-amz-copy-source': 'src/k' }, 'UploadPartCopy'],
    ['POST', '/bkt/k?uploadId=u', {}, 'CompleteMultipartUpload'],
    ['DELETE', '/bkt/k?uploadId=u', {}, 'AbortMultipartUpload'],
    ['GET', '/bkt/k?uploadId=u', {}, 'ListParts'],
    ['GET', '/bkt/k?tagging', {}, 'GetObjectTagging'],
    ['PUT', '/bkt/k?tagging', {}, 'PutObjectTagging'],
    ['DELETE', '/bkt/k?tagging', {}, 'DeleteObjectTagging'],
  ];
  for (const [method, url, headers, op] of cases) assert.equal(ep(method, url, headers).op, op, `${method} ${url}`);
});

test('keys keep slashes, percent-decoding happens once', () => {
  const e = ep('GET', '/bkt/dir/sub%2Fx/a%20b%2Bc');
  assert.deepEqual([e.op, 'key' in e && e.key], ['GetObject', 'dir/sub/x/a b+c']);
  const trailing = ep('PUT', '/bkt/folder/');
  assert.equal('key' in trailing && trailing.key, 'folder/');
});

test('virtual-hosted style with --domain, path style otherwise', () => {
  const v = ep('GET', '/some/key', { host: 'photos.example.com:8080' }, { host: 'photos.example.com:8080', domain: 'example.com' });
  assert.deepEqual(v, { op: 'GetObject', bucket: 'photos', key: 'some/key', partNumber: undefined, overrides: {} });
  const p = ep('GET', '/photos/some/key', {}, { host: 'example.com', domain: 'example.com' });
  assert.equal('bucket' in p && p.bucket, 'photos');
});

test('refusals: bucket names, part numbers, unknown sub-resources, methods', () => {
  assert.equal(code(() => ep('PUT', '/Bad_Bucket')), '400 InvalidBucketName');
  assert.equal(code(() => ep('GET', '/ab/key')), '400 InvalidBucketName');
  assert.equal(code(() => ep('PUT', '/bkt/k?partNumber=0&uploadId=u')), '400 InvalidArgument');
  assert.equal(code(() => ep('PUT', '/bkt/k?partNumber=10001&uploadId=u')), '400 InvalidArgument');
  assert.equal(code(() => ep('PUT', '/bkt/k?partNumber=x&uploadId=u')), '400 InvalidArgument');
  assert.equal(code(() => ep('GET', '/bkt?acl')), '501 NotImplemented');
  assert.equal(code(() => ep('PUT', '/bkt?policy')), '501 NotImplemented');
  assert.equal(code(() => ep('GET', '/bkt/k?torrent')), '501 NotImplemented');
  assert.equal(code(() => ep('POST', '/bkt/k?select&select-type=2')), '501 NotImplemented');
  assert.equal(code(() => ep('GET', '/bkt/k?versionId=abc')), '501 NotImplemented');
  assert.equal(code(() => ep('PATCH', '/bkt/k')), '405 MethodNotAllowed');
  assert.equal(code(() => ep('GET', '/bkt?list-type=2&max-keys=-1')), '400 InvalidArgument');
  assert.equal(code(() => ep('GET', '/bkt?encoding-type=base64')), '400 InvalidArgument');
});

test('bucket name rules and copy sources', () => {
  for (const ok of ['abc', 'my.bucket-1', 'a'.repeat(63)]) assert.ok(isValidBucketName(ok), ok);
  for (const bad of ['ab', 'a'.repeat(64), 'UPPER', 'a..b', '-abc', 'abc-', '192.168.1.1', 'd', 'ui', 'xn--abc']) {
    assert.ok(!isValidBucketName(bad), bad);
  }
  assert.deepEqual(parseCopySource('/src/dir/a%20b.txt'), { bucket: 'src', key: 'dir/a b.txt' });
  assert.deepEqual(parseCopySource('src/k?versionId=null'), { bucket: 'src', key: 'k' });
  assert.throws(() => parseCopySource('nokey'), S3Error);
});
