// SigV4 verification against the worked examples in the S3 API reference ("Examples: Signature
// Calculations in AWS Signature Version 4" and "Transferring Payload in Multiple Chunks").
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserRegistry } from '../../gateway/common/users.js';
import { S3Error } from '../../gateway/s3/errors.js';
import { authenticate, canonicalUris, chunkSignature, signRequest, type SignableRequest } from '../../gateway/s3/sigv4.js';

const AK = 'AKIAIOSFODNN7EXAMPLE';
const SK = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const users = new UserRegistry([{ accessKey: AK, secretKey: SK }]);
const NOW = Date.UTC(2013, 4, 24, 0, 0, 0);
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function auth(sig: string, signed: string): string {
  return `AWS4-HMAC-SHA256 Credential=${AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signed},Signature=${sig}`;
}

function s3Code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof S3Error) return err.s3Code;
    throw err;
  }
  return 'no error';
}

const getObject = (sig: string): SignableRequest => ({
  method: 'GET',
  rawPath: '/test.txt',
  query: [],
  rawHeaders: [
    'Host', 'examplebucket.s3.amazonaws.com',
    'Range', 'bytes=0-9',
    'x-amz-content-sha256', EMPTY,
    'x-amz-date', '20130524T000000Z',
    'Authorization', auth(sig, 'host;range;x-amz-content-sha256;x-amz-date'),
  ],
});

test('GET object example verifies; one changed header or signature digit does not', () => {
  const good = 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41';
  const r = authenticate(getObject(good), users, { now: () => NOW });
  assert.equal(r?.user.accessKey, AK);
  assert.deepEqual(r?.payload, { kind: 'sha256', hash: EMPTY });
  assert.equal(s3Code(() => authenticate(getObject(good.replace(/^f/, 'e')), users, { now: () => NOW })), 'SignatureDoesNotMatch');
  const tampered = getObject(good);
  tampered.rawHeaders[3] = 'bytes=0-10';
  assert.equal(s3Code(() => authenticate(tampered, users, { now: () => NOW })), 'SignatureDoesNotMatch');
});

test('PUT object example with a $ in the key and a signed Date header', () => {
  const req: SignableRequest = {
    method: 'PUT',
    rawPath: '/test%24file.text',
    query: [],
    rawHeaders: [
      'Host', 'examplebucket.s3.amazonaws.com',
      'Date', 'Fri, 24 May 2013 00:00:00 GMT',
      'x-amz-date', '20130524T000000Z',
      'x-amz-storage-class', 'REDUCED_REDUNDANCY',
      'x-amz-content-sha256', '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072',
      'Authorization', auth('98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd', 'date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class'),
    ],
  };
  assert.equal(authenticate(req, users, { now: () => NOW })?.user.accessKey, AK);
  // A client that sent the $ raw signed the same canonical (encoded) path.
  assert.equal(authenticate({ ...req, rawPath: '/test$file.text' }, users, { now: () => NOW })?.user.accessKey, AK);
});

test('list objects example: query parameters are sorted and encoded', () => {
  const req: SignableRequest = {
    method: 'GET',
    rawPath: '/',
    query: [['max-keys', '2'], ['prefix', 'J']],
    rawHeaders: [
      'Host', 'examplebucket.s3.amazonaws.com',
      'x-amz-date', '20130524T000000Z',
      'x-amz-content-sha256', EMPTY,
      'Authorization', auth('34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7', 'host;x-amz-content-sha256;x-amz-date'),
    ],
  };
  assert.equal(authenticate(req, users, { now: () => NOW })?.user.accessKey, AK);
  const reordered = { ...req, query: [['prefix', 'J'], ['max-keys', '2']] as [string, string][] };
  assert.equal(authenticate(reordered, users, { now: () => NOW })?.user.accessKey, AK);
});

test('GET bucket lifecycle example: a value-less sub-resource signs as "lifecycle="', () => {
  const req: SignableRequest = {
    method: 'GET',
    rawPath: '/',
    query: [['lifecycle', '']],
    rawHeaders: [
      'Host', 'examplebucket.s3.amazonaws.com',
      'x-amz-date', '20130524T000000Z',
      'x-amz-content-sha256', EMPTY,
      'Authorization', auth('fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543', 'host;x-amz-content-sha256;x-amz-date'),
    ],
  };
  assert.equal(authenticate(req, users, { now: () => NOW })?.user.accessKey, AK);
});

const presigned = (expires = '86400', sig = 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404'): SignableRequest => ({
  method: 'GET',
  rawPath: '/test.txt',
  query: [
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${AK}/20130524/us-east-1/s3/aws4_request`],
    ['X-Amz-Date', '20130524T000000Z'],
    ['X-Amz-Expires', expires],
    ['X-Amz-SignedHeaders', 'host'],
    ['X-Amz-Signature', sig],
  ],
  rawHeaders: ['Host', 'examplebucket.s3.amazonaws.com'],
});

test('presigned URL example verifies within its lifetime and expires after it', () => {
  const r = authenticate(presigned(), users, { now: () => NOW + 3600_000 });
  assert.equal(r?.presigned, true);
  assert.deepEqual(r?.payload, { kind: 'unsigned' });
  const late = s3Code(() => authenticate(presigned(), users, { now: () => NOW + 86401_000 }));
  assert.equal(late, 'AccessDenied');
  assert.equal(s3Code(() => authenticate(presigned('604801'), users, { now: () => NOW })), 'AuthorizationQueryParametersError');
  assert.equal(s3Code(() => authenticate(presigned('86400', '0'.repeat(64)), users, { now: () => NOW })), 'SignatureDoesNotMatch');
});

test('clock skew beyond 15 minutes is RequestTimeTooSkewed; within it is accepted', () => {
  const good = 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41';
  assert.equal(authenticate(getObject(good), users, { now: () => NOW + 14 * 60_000 })?.user.accessKey, AK);
  assert.equal(s3Code(() => authenticate(getObject(good), users, { now: () => NOW + 16 * 60_000 })), 'RequestTimeTooSkewed');
  assert.equal(s3Code(() => authenticate(getObject(good), users, { now: () => NOW - 16 * 60_000 })), 'RequestTimeTooSkewed');
});

test('unknown access key, pinned region, anonymous', () => {
  const good = 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41';
  assert.equal(s3Code(() => authenticate(getObject(good), new UserRegistry([]), { now: () => NOW })), 'InvalidAccessKeyId');
  assert.equal(s3Code(() => authenticate(getObject(good), users, { now: () => NOW, region: 'eu-west-1' })), 'AuthorizationHeaderMalformed');
  assert.equal(authenticate(getObject(good), users, { now: () => NOW, region: 'us-east-1' })?.user.accessKey, AK);
  assert.equal(authenticate({ method: 'GET', rawPath: '/', query: [], rawHeaders: ['Host', 'x'] }, users, { now: () => NOW }), undefined);
});

test('any region is accepted when none is pinned', () => {
  const amzDate = '20130524T000000Z';
  const base = { method: 'GET', rawPath: '/bucket/key', query: [] as [string, string][], rawHeaders: ['Host', 'h', 'x-amz-date', amzDate, 'x-amz-content-sha256', EMPTY] };
  for (const region of ['us-east-1', 'garage', 'moon-base-7']) {
    const { authorization } = signRequest({ ...base, payloadHash: EMPTY }, { accessKey: AK, secretKey: SK, region, amzDate });
    const r = authenticate({ ...base, rawHeaders: [...base.rawHeaders, 'Authorization', authorization] }, users, { now: () => NOW });
    assert.equal(r?.signing.scope, `20130524/${region}/s3/aws4_request`);
  }
});

test('streaming example: seed and chunk signatures of the S3 documentation', () => {
  const req: SignableRequest = {
    method: 'PUT',
    rawPath: '/examplebucket/chunkObject.txt',
    query: [],
    rawHeaders: [
      'Host', 's3.amazonaws.com',
      'x-amz-date', '20130524T000000Z',
      'x-amz-storage-class', 'REDUCED_REDUNDANCY',
      'Authorization', auth('4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
        'content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class'),
      'x-amz-content-sha256', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'Content-Encoding', 'aws-chunked',
      'x-amz-decoded-content-length', '66560',
      'Content-Length', '66824',
    ],
  };
  const r = authenticate(req, users, { now: () => NOW });
  assert.ok(r);
  assert.deepEqual(r.payload, { kind: 'streaming-signed', trailer: false });
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  const s1 = chunkSignature(r.signing, r.signing.seedSignature, sha(Buffer.alloc(65536, 'a')));
  assert.equal(s1, 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648');
  const s2 = chunkSignature(r.signing, s1, sha(Buffer.alloc(1024, 'a')));
  assert.equal(s2, '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497');
  const s3 = chunkSignature(r.signing, s2, EMPTY);
  assert.equal(s3, 'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9');
});

test('canonical URI: strict encoding of the decoded path first, raw path as fallback', () => {
  assert.deepEqual(canonicalUris('/b/a%20b+c'), ['/b/a%20b%2Bc', '/b/a%20b+c']);
  assert.deepEqual(canonicalUris('/b/%7Euser/x'), ['/b/~user/x', '/b/%7Euser/x']);
  assert.deepEqual(canonicalUris('/b/%E2%82%AC'), ['/b/%E2%82%AC']);
});
