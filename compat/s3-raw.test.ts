// Raw HTTP requests no well-behaved client sends: malformed XML, oversize headers, bad part
// numbers, unsatisfiable ranges, invalid bucket names, bad or skewed signatures, unknown
// operations, lying payload hashes and chunk signatures. Each gets its S3 error in XML with a
// request id, nothing half-written becomes visible, and the server keeps serving.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { StoreError } from '../backend/core/errors.js';
import type { ObjectStore, TenantStores } from '../backend/core/object-store.js';
import { MemoryTenantStores } from '../backend/store/memory-object-store.js';
import { checksumOf } from '../gateway/s3/checksums.js';
import { chunkSignature, EMPTY_SHA256, trailerSignature, type ChunkSigningContext } from '../gateway/s3/sigv4.js';
import { startTestGateway, type TestGateway } from '../test/helpers/gateway.js';
import { errorCode, rawS3, type RawRequest } from './helpers/s3-clients.js';

let gw: TestGateway;
let user: TestGateway['users'][number];
const B = 'raw-bucket';

before(async () => {
  gw = await startTestGateway();
  user = gw.users[0];
  const r = await rawS3(gw.url, { method: 'PUT', path: `/${B}`, user });
  assert.equal(r.status, 200);
  await rawS3(gw.url, { method: 'PUT', path: `/${B}/small`, user, body: 'twelve bytes' });
});

after(async () => {
  await gw?.close();
});

async function expectError(r: RawRequest, status: number, code: string): Promise<void> {
  const res = await rawS3(gw.url, r);
  assert.equal(res.status, status, `${r.method} ${r.path}: ${res.body}`);
  assert.equal(errorCode(res.body), code, res.body);
  assert.match(res.body, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>/);
  assert.match(res.body, /<Message>[^<]+<\/Message>/);
  assert.match(res.body, /<Resource>[^<]*<\/Resource>/);
  const id = res.headers['x-amz-request-id'];
  assert.ok(typeof id === 'string' && id.length > 0);
  assert.ok(res.body.includes(`<RequestId>${id}</RequestId>`));
}

async function stillServing(): Promise<void> {
  const res = await rawS3(gw.url, { method: 'GET', path: `/${B}/small`, user });
  assert.equal(res.status, 200);
  assert.equal(res.body, 'twelve bytes');
}

async function absent(key: string): Promise<void> {
  const res = await rawS3(gw.url, { method: 'HEAD', path: `/${B}/${key}`, user });
  assert.equal(res.status, 404, `${key} must not exist`);
}

test('malformed XML bodies → MalformedXML', async () => {
  for (const body of ['<Delete><Object><Key>a</Key></Object>', 'not xml at all', '<Delete></Delete>', '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Delete><Object><Key>&a;</Key></Object></Delete>']) {
    const md5 = createHash('md5').update(body).digest('base64');
    await expectError({ method: 'POST', path: `/${B}`, query: [['delete', '']], user, body, headers: { 'content-md5': md5 } }, 400, 'MalformedXML');
  }
  await expectError(
    { method: 'POST', path: `/${B}/k`, query: [['uploadId', 'whatever']], user, body: '<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part>' },
    400,
    'MalformedXML',
  );
  await expectError({ method: 'PUT', path: `/${B}/small`, query: [['tagging', '']], user, body: '<Tagging><TagSet>' }, 400, 'MalformedXML');
  await stillServing();
});

test('oversize header section → RequestHeaderSectionTooLarge, connection closed, server fine', async () => {
  const url = new URL(gw.url);
  const response = await new Promise<string>((resolve, reject) => {
    const sock = net.connect(Number(url.port), url.hostname, () => {
      sock.write(`GET /${B}/small HTTP/1.1\r\nHost: ${url.host}\r\nX-Big: ${'x'.repeat(64 * 1024)}\r\n\r\n`);
    });
    let out = '';
    sock.on('data', (d) => (out += d.toString()));
    sock.on('end', () => resolve(out));
    sock.on('error', (e) => (out ? resolve(out) : reject(e)));
  });
  assert.match(response, /^HTTP\/1\.1 400 /);
  assert.match(response, /<Code>RequestHeaderSectionTooLarge<\/Code>/);
  await stillServing();
});

test('bad part numbers → InvalidArgument', async () => {
  for (const n of ['0', '10001', '-1', 'abc', '1.5']) {
    await expectError({ method: 'PUT', path: `/${B}/k`, query: [['partNumber', n], ['uploadId', 'u']], user, body: 'x' }, 400, 'InvalidArgument');
  }
  await expectError({ method: 'GET', path: `/${B}/small`, query: [['partNumber', '0']], user }, 400, 'InvalidArgument');
  await stillServing();
});

test('unsatisfiable ranges → 416 InvalidRange; unparsable ranges are ignored', async () => {
  await expectError({ method: 'GET', path: `/${B}/small`, user, headers: { range: 'bytes=12-' } }, 416, 'InvalidRange');
  await expectError({ method: 'GET', path: `/${B}/small`, user, headers: { range: 'bytes=-0' } }, 416, 'InvalidRange');
  const ignored = await rawS3(gw.url, { method: 'GET', path: `/${B}/small`, user, headers: { range: 'bytes=abc' } });
  assert.equal(ignored.status, 200);
  assert.equal(ignored.body, 'twelve bytes');
  const ok = await rawS3(gw.url, { method: 'GET', path: `/${B}/small`, user, headers: { range: 'bytes=7-' } });
  assert.equal(ok.status, 206);
  assert.equal(ok.body, 'bytes');
  assert.equal(ok.headers['content-range'], 'bytes 7-11/12');
});

test('invalid bucket names → InvalidBucketName', async () => {
  for (const name of ['AB', 'Upper', 'under_score', 'a..b', '-lead', '127.0.0.1']) {
    await expectError({ method: 'PUT', path: `/${name}`, user }, 400, 'InvalidBucketName');
  }
  await expectError({ method: 'GET', path: '/Upper/key', user }, 400, 'InvalidBucketName');
});

test('authentication failures', async () => {
  const other = { accessKey: user.accessKey, secretKey: 'not-the-right-secret' };
  await expectError({ method: 'GET', path: `/${B}/small`, user: other }, 403, 'SignatureDoesNotMatch');
  await expectError({ method: 'GET', path: `/${B}/small`, user: { accessKey: 'NOSUCHKEY', secretKey: 'whatever-secret' } }, 403, 'InvalidAccessKeyId');
  await expectError({ method: 'GET', path: `/${B}/small`, user, time: Date.now() - 20 * 60_000 }, 403, 'RequestTimeTooSkewed');
  await expectError({ method: 'GET', path: `/${B}/small`, user, time: Date.now() + 20 * 60_000 }, 403, 'RequestTimeTooSkewed');
  await expectError({ method: 'GET', path: `/${B}/small` }, 403, 'AccessDenied');
  await expectError({ method: 'GET', path: `/${B}/small`, headers: { authorization: 'AWS4-HMAC-SHA256 garbage' } }, 400, 'AuthorizationHeaderMalformed');
  await expectError({ method: 'GET', path: `/${B}/small`, headers: { authorization: 'AWS AKID:c2lnbmF0dXJl' } }, 400, 'InvalidRequest');
  await stillServing();
});

test('unknown operations → 501 NotImplemented in XML, never 404 or 500', async () => {
  const cases: RawRequest[] = [
    { method: 'GET', path: `/${B}`, query: [['acl', '']], user },
    { method: 'PUT', path: `/${B}`, query: [['policy', '']], user, body: '{}' },
    { method: 'GET', path: `/${B}`, query: [['cors', '']], user },
    { method: 'PUT', path: `/${B}`, query: [['versioning', '']], user, body: '<VersioningConfiguration/>' },
    { method: 'GET', path: `/${B}`, query: [['versions', '']], user },
    { method: 'POST', path: `/${B}/small`, query: [['restore', '']], user, body: '<RestoreRequest/>' },
    { method: 'GET', path: `/${B}/small`, query: [['acl', '']], user },
    { method: 'GET', path: `/${B}/small`, query: [['attributes', '']], user },
    { method: 'GET', path: `/${B}/nope`, query: [['acl', '']], user },
    { method: 'POST', path: '/', user },
  ];
  for (const c of cases) await expectError(c, 501, 'NotImplemented');
  await stillServing();
});

test('payload hash mismatch → XAmzContentSHA256Mismatch, nothing stored', async () => {
  await expectError({ method: 'PUT', path: `/${B}/liar`, user, body: 'actual body', payloadHash: createHash('sha256').update('other body').digest('hex') }, 400, 'XAmzContentSHA256Mismatch');
  await absent('liar');
  await expectError({ method: 'PUT', path: `/${B}/liar`, user, body: 'x', headers: { 'content-md5': 'not-base64-md5' } }, 400, 'InvalidDigest');
  await expectError({ method: 'PUT', path: `/${B}/liar`, user, body: 'x', headers: { 'x-amz-checksum-crc32': 'AAAAAA==' } }, 400, 'BadDigest');
  await absent('liar');
});

/** aws-chunked encoding with per-chunk signatures (and optionally a signed trailer). */
function signedChunked(data: Buffer, chunk: number, ctx: ChunkSigningContext, trailer?: string, corruptChunk = -1): Buffer {
  const parts: Buffer[] = [];
  let prev = ctx.seedSignature;
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  let index = 0;
  for (let i = 0; i < data.length; i += chunk, index++) {
    const piece = data.subarray(i, i + chunk);
    prev = chunkSignature(ctx, prev, sha(piece));
    const sent = index === corruptChunk ? Buffer.from(piece).fill(0x21, 0, 1) : piece;
    parts.push(Buffer.from(`${piece.length.toString(16)};chunk-signature=${prev}\r\n`), sent, Buffer.from('\r\n'));
  }
  prev = chunkSignature(ctx, prev, EMPTY_SHA256);
  parts.push(Buffer.from(`0;chunk-signature=${prev}\r\n`));
  if (trailer !== undefined) {
    const sig = trailerSignature(ctx, prev, `${trailer}\n`);
    parts.push(Buffer.from(`${trailer}\r\nx-amz-trailer-signature:${sig}\r\n\r\n`));
  } else {
    parts.push(Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

function chunkedLength(size: number, chunk: number, trailer?: string): number {
  let n = 0;
  for (let i = 0; i < size; i += chunk) {
    const len = Math.min(chunk, size - i);
    n += len.toString(16).length + 17 + 64 + 2 + len + 2;
  }
  n += 1 + 17 + 64 + 2;
  n += trailer === undefined ? 2 : trailer.length + 2 + 'x-amz-trailer-signature:'.length + 64 + 2 + 2;
  return n;
}

test('STREAMING-AWS4-HMAC-SHA256-PAYLOAD: good upload stored; a corrupted chunk fails and stores nothing', async () => {
  const data = Buffer.alloc(200_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
  const request = (key: string, corrupt: number): Parameters<typeof rawS3>[1] => ({
    method: 'PUT',
    path: `/${B}/${key}`,
    user,
    payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
    headers: {
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(data.length),
      'content-length': String(chunkedLength(data.length, 65536)),
    },
    bodyFrom: (ctx) => signedChunked(data, 65536, ctx, undefined, corrupt),
  });
  const ok = await rawS3(gw.url, request('streamed', -1));
  assert.equal(ok.status, 200, ok.body);
  const got = await rawS3(gw.url, { method: 'GET', path: `/${B}/streamed`, user });
  assert.equal(createHash('sha256').update(got.bytes).digest('hex'), createHash('sha256').update(data).digest('hex'));
  const bad = await rawS3(gw.url, request('streamed-bad', 2));
  assert.equal(bad.status, 403);
  assert.equal(errorCode(bad.body), 'SignatureDoesNotMatch');
  await absent('streamed-bad');
});

test('STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER with x-amz-checksum-crc32c: verified, stored, returned', async () => {
  const data = Buffer.from('signed chunks with a signed trailing checksum '.repeat(3000));
  const crc = checksumOf('CRC32C', data).toString('base64');
  const request = (key: string, value: string): Parameters<typeof rawS3>[1] => {
    const trailer = `x-amz-checksum-crc32c:${value}`;
    return {
      method: 'PUT',
      path: `/${B}/${key}`,
      user,
      payloadHash: 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
      headers: {
        'content-encoding': 'aws-chunked',
        'x-amz-trailer': 'x-amz-checksum-crc32c',
        'x-amz-decoded-content-length': String(data.length),
        'content-length': String(chunkedLength(data.length, 8192, trailer)),
      },
      bodyFrom: (ctx) => signedChunked(data, 8192, ctx, trailer),
    };
  };
  const ok = await rawS3(gw.url, request('trailer', crc));
  assert.equal(ok.status, 200, ok.body);
  assert.equal(ok.headers['x-amz-checksum-crc32c'], crc);
  const head = await rawS3(gw.url, { method: 'HEAD', path: `/${B}/trailer`, user, headers: { 'x-amz-checksum-mode': 'ENABLED' } });
  assert.equal(head.headers['x-amz-checksum-crc32c'], crc);
  const wrong = checksumOf('CRC32C', Buffer.from('something else')).toString('base64');
  const bad = await rawS3(gw.url, request('trailer-bad', wrong));
  assert.equal(bad.status, 400);
  assert.equal(errorCode(bad.body), 'BadDigest');
  await absent('trailer-bad');
});

test('STREAMING-UNSIGNED-PAYLOAD-TRAILER with a wrong trailing CRC32 → BadDigest, nothing stored', async () => {
  const body = Buffer.from('5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n');
  await expectError(
    {
      method: 'PUT',
      path: `/${B}/unsigned-trailer`,
      user,
      payloadHash: 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      body,
      headers: { 'content-encoding': 'aws-chunked', 'x-amz-trailer': 'x-amz-checksum-crc32', 'x-amz-decoded-content-length': '5' },
    },
    400,
    'BadDigest',
  );
  await absent('unsigned-trailer');
});

/** A TenantStores whose stores fail in programmed ways, to see what clients get. */
class FailingStores implements TenantStores {
  readonly #inner = new MemoryTenantStores();
  failWith: unknown;

  async open(u: Parameters<TenantStores['open']>[0]): Promise<ObjectStore> {
    const store = await this.#inner.open(u);
    return new Proxy(store, {
      get: (target, prop, receiver) => {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (prop === 'listBuckets' && this.failWith !== undefined) {
          return async () => {
            throw this.failWith;
          };
        }
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }

  capacity(): Promise<{ total: number; free: number }> {
    return this.#inner.capacity();
  }
}

test('storage failures: Unavailable → 503 SlowDown, Timeout → 503, anything else → 500 InternalError without internals', async () => {
  const stores = new FailingStores();
  const g = await startTestGateway({ stores: () => stores });
  try {
    const cases: [unknown, number, string][] = [
      [new StoreError('Unavailable', 'peer 12D3KooW… unreachable at 10.1.2.3'), 503, 'SlowDown'],
      [new StoreError('Timeout', 'quorum not reached after 30 s'), 503, 'ServiceUnavailable'],
      [new StoreError('Internal', 'sqlite: database disk image is malformed'), 500, 'InternalError'],
      [new TypeError("Cannot read properties of undefined (reading 'chunks')"), 500, 'InternalError'],
    ];
    for (const [err, status, code] of cases) {
      stores.failWith = err;
      const res = await rawS3(g.url, { method: 'GET', path: '/', user: g.users[0] });
      assert.equal(res.status, status);
      assert.equal(errorCode(res.body), code);
      assert.doesNotMatch(res.body, /10\.1\.2\.3|quorum|sqlite|chunks/);
    }
    stores.failWith = undefined;
    assert.equal((await rawS3(g.url, { method: 'GET', path: '/', user: g.users[0] })).status, 200);
  } finally {
    await g.close();
  }
});
