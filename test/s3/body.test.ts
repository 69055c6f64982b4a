/**
 * uploadBody's verification of bodies big enough for the body hasher's thread (several batches):
 * right digests pass and report the checksum, a wrong payload SHA-256, CRC32, SHA-1 or Content-MD5
 * fails the iterator before it completes, with the S3 error the handlers send.
 */
import { createHash, randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { uploadBody } from '../../gateway/s3/body.js';
import { S3Error } from '../../gateway/s3/errors.js';
import type { AuthResult, PayloadMode } from '../../gateway/s3/sigv4.js';

const data = randomBytes(3 * 2 ** 20 + 4321);
const sha256Hex = createHash('sha256').update(data).digest('hex');
const crc32 = (): string => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(zlib.crc32(data) >>> 0);
  return b.toString('base64');
};

function request(body: Buffer, headers: Record<string, string>): IncomingMessage {
  const pieces: Buffer[] = [];
  for (let i = 0; i < body.length; i += 65536) pieces.push(body.subarray(i, i + 65536));
  const req = Readable.from(pieces) as unknown as IncomingMessage;
  req.headers = { 'content-length': String(body.length), ...headers };
  return req;
}

const auth = (payload: PayloadMode): AuthResult => ({ payload }) as AuthResult;

async function drain(body: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of body) n += c.length;
  return n;
}

async function failsWith(body: AsyncIterable<Uint8Array>, code: string): Promise<void> {
  await assert.rejects(drain(body), (err: unknown) => err instanceof S3Error && err.s3Code === code);
}

test('a right payload hash and CRC32 pass, and the checksum is reported', async () => {
  const ub = uploadBody(request(data, { 'x-amz-checksum-crc32': crc32() }), auth({ kind: 'sha256', hash: sha256Hex }));
  assert.equal(await drain(ub.body), data.length);
  assert.deepEqual(ub.checksum, { algorithm: 'CRC32', value: crc32(), type: 'FULL_OBJECT' });
});

test('a wrong payload hash fails the body with XAmzContentSHA256Mismatch', async () => {
  const wrong = createHash('sha256').update('other').digest('hex');
  const ub = uploadBody(request(data, {}), auth({ kind: 'sha256', hash: wrong }));
  await failsWith(ub.body, 'XAmzContentSHA256Mismatch');
  assert.equal(ub.failure?.s3Code, 'XAmzContentSHA256Mismatch');
});

test('a wrong CRC32 or SHA-1 fails the body with BadDigest; a server-computed SHA-1 is reported', async () => {
  await failsWith(uploadBody(request(data, { 'x-amz-checksum-crc32': 'AAAAAA==' }), auth({ kind: 'unsigned' })).body, 'BadDigest');
  const sha1 = createHash('sha1').update(data).digest('base64');
  const wrongSha1 = createHash('sha1').update('x').digest('base64');
  await failsWith(uploadBody(request(data, { 'x-amz-checksum-sha1': wrongSha1 }), auth({ kind: 'unsigned' })).body, 'BadDigest');
  const ub = uploadBody(request(data, { 'x-amz-sdk-checksum-algorithm': 'SHA1' }), auth({ kind: 'unsigned' }));
  await drain(ub.body);
  assert.equal(ub.checksum?.value, sha1);
});

test('Content-MD5 checked here (verifyMd5): right passes, wrong is BadDigest', async () => {
  const md5 = createHash('md5').update(data).digest('base64');
  const ok = uploadBody(request(data, { 'content-md5': md5 }), auth({ kind: 'unsigned' }), { verifyMd5: true });
  assert.equal(await drain(ok.body), data.length);
  const wrong = createHash('md5').update('x').digest('base64');
  await failsWith(uploadBody(request(data, { 'content-md5': wrong }), auth({ kind: 'unsigned' }), { verifyMd5: true }).body, 'BadDigest');
});

test('a reader that stops early leaves the hasher usable for the next body', async () => {
  const ub = uploadBody(request(data, {}), auth({ kind: 'sha256', hash: sha256Hex }));
  for await (const c of ub.body) if (c.length > 0) break;
  const again = uploadBody(request(data, {}), auth({ kind: 'sha256', hash: sha256Hex }));
  assert.equal(await drain(again.body), data.length);
});
