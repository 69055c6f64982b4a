// aws-chunked decoding: the S3 documentation's signed streaming example, tampering, truncation,
// trailers, and arbitrary split points in the input.
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserRegistry } from '../../gateway/common/users.js';
import { decodeAwsChunked } from '../../gateway/s3/aws-chunked.js';
import { S3Error } from '../../gateway/s3/errors.js';
import { authenticate, trailerSignature, chunkSignature, type ChunkSigningContext } from '../../gateway/s3/sigv4.js';

const AK = 'AKIAIOSFODNN7EXAMPLE';
const SK = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const NOW = Date.UTC(2013, 4, 24);
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function exampleContext(): ChunkSigningContext {
  const r = authenticate(
    {
      method: 'PUT',
      rawPath: '/examplebucket/chunkObject.txt',
      query: [],
      rawHeaders: [
        'Host', 's3.amazonaws.com',
        'x-amz-date', '20130524T000000Z',
        'x-amz-storage-class', 'REDUCED_REDUNDANCY',
        'Authorization',
        `AWS4-HMAC-SHA256 Credential=${AK}/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9`,
        'x-amz-content-sha256', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'Content-Encoding', 'aws-chunked',
        'x-amz-decoded-content-length', '66560',
        'Content-Length', '66824',
      ],
    },
    new UserRegistry([{ accessKey: AK, secretKey: SK }]),
    { now: () => NOW },
  );
  assert.ok(r);
  return r.signing;
}

/** The documented body: a 64 KiB chunk, a 1 KiB chunk and the final empty chunk. */
function exampleBody(): Buffer {
  return Buffer.concat([
    Buffer.from('10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n'),
    Buffer.alloc(65536, 'a'),
    Buffer.from('\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n'),
    Buffer.alloc(1024, 'a'),
    Buffer.from('\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n'),
  ]);
}

async function* pieces(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(c);
  return Buffer.concat(out);
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof S3Error) return err.s3Code;
    throw err;
  }
  return 'no error';
}

test('documented signed streaming body decodes, whatever the split points', async () => {
  const body = exampleBody();
  assert.equal(body.length, 66824);
  for (const size of [1, 7, 1000, 65536, body.length]) {
    const out = await collect(decodeAwsChunked(pieces(body, size), { signing: exampleContext(), trailer: false }));
    assert.equal(out.length, 66560);
    assert.ok(out.equals(Buffer.alloc(66560, 'a')), `split ${size}`);
  }
});

test('a changed data byte, a wrong chunk signature or a truncated body fails', async () => {
  const flipped = exampleBody();
  flipped[200] = 'b'.charCodeAt(0);
  assert.equal(await failure(collect(decodeAwsChunked(pieces(flipped, 4096), { signing: exampleContext(), trailer: false }))), 'SignatureDoesNotMatch');
  const badSig = Buffer.from(exampleBody().toString('latin1').replace('0055627c', '0055627d'), 'latin1');
  assert.equal(await failure(collect(decodeAwsChunked(pieces(badSig, 4096), { signing: exampleContext(), trailer: false }))), 'SignatureDoesNotMatch');
  const cut = exampleBody().subarray(0, 66000);
  assert.equal(await failure(collect(decodeAwsChunked(pieces(cut, 4096), { signing: exampleContext(), trailer: false }))), 'IncompleteBody');
  const noFinal = exampleBody().subarray(0, 65626 + 1112);
  assert.equal(await failure(collect(decodeAwsChunked(pieces(noFinal, 4096), { signing: exampleContext(), trailer: false }))), 'IncompleteBody');
});

test('unsigned body with a trailing checksum hands the trailer over', async () => {
  const body = Buffer.from('5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n');
  let trailer: Map<string, string> | undefined;
  const out = await collect(decodeAwsChunked(pieces(body, 3), { trailer: true, onTrailer: (t) => (trailer = t) }));
  assert.equal(out.toString(), 'hello world');
  assert.equal(trailer?.get('x-amz-checksum-crc32'), 'DUoRhQ==');
});

test('garbage chunk sizes and missing CRLFs are rejected', async () => {
  for (const text of ['zz\r\nhello\r\n0\r\n\r\n', '5\r\nhelloXX0\r\n\r\n', '5\r\nhello\r\n0\r\n\r\nextra']) {
    assert.equal(await failure(collect(decodeAwsChunked(pieces(Buffer.from(text), 4), { trailer: false }))), 'IncompleteBody', text);
  }
});

test('signed chunks with a signed trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER)', async () => {
  const ctx = exampleContext();
  const data = Buffer.from('trailer test data');
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  const s1 = chunkSignature(ctx, ctx.seedSignature, sha(data));
  const s2 = chunkSignature(ctx, s1, EMPTY);
  const trailerLine = 'x-amz-checksum-crc32c:abcdef==';
  const ts = trailerSignature(ctx, s2, `${trailerLine}\n`);
  const make = (sig: string): Buffer =>
    Buffer.from(`${data.length.toString(16)};chunk-signature=${s1}\r\n${data}\r\n0;chunk-signature=${s2}\r\n${trailerLine}\r\nx-amz-trailer-signature:${sig}\r\n\r\n`);
  let trailer: Map<string, string> | undefined;
  const out = await collect(decodeAwsChunked(pieces(make(ts), 5), { signing: ctx, trailer: true, onTrailer: (t) => (trailer = t) }));
  assert.ok(out.equals(data));
  assert.equal(trailer?.get('x-amz-checksum-crc32c'), 'abcdef==');
  const wrong = ts.replace(/^./, (c) => (c === '0' ? '1' : '0'));
  assert.equal(await failure(collect(decodeAwsChunked(pieces(make(wrong), 5), { signing: ctx, trailer: true }))), 'SignatureDoesNotMatch');
});
