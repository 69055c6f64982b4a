// Every operation of issue 3 through the current AWS SDK for JavaScript v3, with its default
// checksum behaviour left on (aws-chunked uploads with trailing CRC32, response validation), plus a
// 100+ MiB multipart upload through @aws-sdk/lib-storage and presigned URLs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  DeleteObjectTaggingCommand,
  GetBucketLocationCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
  type ChecksumAlgorithm,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { randomBytesFast } from '../bench/lib.js';
import { startTestGateway, type TestGateway } from '../test/helpers/gateway.js';
import { sdkClient, sha256 } from './helpers/s3-clients.js';

const MiB = 1024 * 1024;
let gw: TestGateway;
let s3: S3Client;
let other: S3Client;

before(async () => {
  gw = await startTestGateway();
  s3 = sdkClient(gw.url, gw.users[0]);
  other = sdkClient(gw.url, gw.users[1]);
});

after(async () => {
  s3?.destroy();
  other?.destroy();
  await gw?.close();
});

/** The S3 error code and HTTP status of a failed command (304 has no body, so no code either). */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof S3ServiceException) {
      const status = err.$metadata.httpStatusCode;
      return status === 304 ? '304 NotModified' : `${status} ${err.name}`;
    }
    throw err;
  }
  return 'no error';
}

async function bodyOf(p: Promise<{ Body?: unknown }>): Promise<Buffer> {
  const r = await p;
  const bytes = await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
  return Buffer.from(bytes);
}

describe('buckets', () => {
  test('create, head, list, location, versioning, delete; errors', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'bkt-life' }));
    assert.equal(await failure(s3.send(new CreateBucketCommand({ Bucket: 'bkt-life' }))), '409 BucketAlreadyOwnedByYou');
    assert.equal(await failure(s3.send(new CreateBucketCommand({ Bucket: 'Invalid_Name' }))), '400 InvalidBucketName');
    assert.equal((await s3.send(new HeadBucketCommand({ Bucket: 'bkt-life' }))).$metadata.httpStatusCode, 200);
    assert.equal(await failure(s3.send(new HeadBucketCommand({ Bucket: 'bkt-missing' }))), '404 NotFound');
    const list = await s3.send(new ListBucketsCommand({}));
    assert.ok(list.Buckets?.some((b) => b.Name === 'bkt-life' && b.CreationDate instanceof Date));
    const loc = await s3.send(new GetBucketLocationCommand({ Bucket: 'bkt-life' }));
    assert.ok(!loc.LocationConstraint, 'no region configured reads as us-east-1 (empty LocationConstraint)');
    const ver = await s3.send(new GetBucketVersioningCommand({ Bucket: 'bkt-life' }));
    assert.equal(ver.Status, undefined);
    await s3.send(new PutObjectCommand({ Bucket: 'bkt-life', Key: 'x', Body: 'x' }));
    assert.equal(await failure(s3.send(new DeleteBucketCommand({ Bucket: 'bkt-life' }))), '409 BucketNotEmpty');
    await s3.send(new DeleteObjectCommand({ Bucket: 'bkt-life', Key: 'x' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'bkt-life' }));
    assert.equal(await failure(s3.send(new DeleteBucketCommand({ Bucket: 'bkt-life' }))), '404 NoSuchBucket');
  });

  test('each access key is its own tenant', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'bkt-tenant' }));
    await s3.send(new PutObjectCommand({ Bucket: 'bkt-tenant', Key: 'secret', Body: 'mine' }));
    const theirs = await other.send(new ListBucketsCommand({}));
    assert.ok(!theirs.Buckets?.some((b) => b.Name === 'bkt-tenant'));
    assert.equal(await failure(other.send(new GetObjectCommand({ Bucket: 'bkt-tenant', Key: 'secret' }))), '404 NoSuchBucket');
    // The other tenant may own a bucket of the same name without seeing ours.
    await other.send(new CreateBucketCommand({ Bucket: 'bkt-tenant' }));
    assert.equal(await failure(other.send(new GetObjectCommand({ Bucket: 'bkt-tenant', Key: 'secret' }))), '404 NoSuchKey');
  });
});

describe('objects', () => {
  const B = 'bkt-objects';
  const data = randomBytesFast(300_000, 7);

  before(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });

  test('put and get round-trip bytes, metadata and representation headers', async () => {
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: B,
        Key: 'dir/file one+€.bin',
        Body: data,
        ContentType: 'application/x-test',
        ContentEncoding: 'identity',
        ContentDisposition: 'attachment; filename="a.bin"',
        ContentLanguage: 'de',
        CacheControl: 'max-age=60',
        Expires: new Date('2030-01-01T00:00:00Z'),
        Metadata: { owner: 'Alice', 'x-trace': '42' },
      }),
    );
    assert.equal(put.ETag, `"${createHash('md5').update(data).digest('hex')}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'dir/file one+€.bin' }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    assert.equal(sha256(bytes), sha256(data));
    assert.equal(got.ContentType, 'application/x-test');
    assert.equal(got.ContentEncoding, 'identity');
    assert.equal(got.ContentDisposition, 'attachment; filename="a.bin"');
    assert.equal(got.ContentLanguage, 'de');
    assert.equal(got.CacheControl, 'max-age=60');
    assert.equal(got.Expires?.toISOString(), '2030-01-01T00:00:00.000Z');
    assert.deepEqual(got.Metadata, { owner: 'Alice', 'x-trace': '42' });
    const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'dir/file one+€.bin' }));
    assert.equal(head.ContentLength, data.length);
    assert.equal(head.ETag, put.ETag);
    assert.equal(await failure(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'nope' }))), '404 NotFound');
    assert.equal(await failure(s3.send(new GetObjectCommand({ Bucket: B, Key: 'nope' }))), '404 NoSuchKey');
  });

  test('streamed body of unknown length (aws-chunked with trailing checksum)', async () => {
    const chunks = [data.subarray(0, 100_000), data.subarray(100_000)];
    const put = new Upload({ client: s3, params: { Bucket: B, Key: 'streamed', Body: Readable.from(chunks) } });
    await put.done();
    assert.equal(sha256(await bodyOf(s3.send(new GetObjectCommand({ Bucket: B, Key: 'streamed' })))), sha256(data));
  });

  test('ranges: a-b, a-, suffix; 416 past the end; partNumber', async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'range', Body: data }));
    const r1 = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'range', Range: 'bytes=10-19' }));
    assert.equal(r1.$metadata.httpStatusCode, 206);
    assert.equal(r1.ContentRange, `bytes 10-19/${data.length}`);
    assert.ok(Buffer.from(await r1.Body!.transformToByteArray()).equals(data.subarray(10, 20)));
    const r2 = await bodyOf(s3.send(new GetObjectCommand({ Bucket: B, Key: 'range', Range: `bytes=${data.length - 5}-` })));
    assert.ok(r2.equals(data.subarray(data.length - 5)));
    const r3 = await bodyOf(s3.send(new GetObjectCommand({ Bucket: B, Key: 'range', Range: 'bytes=-7' })));
    assert.ok(r3.equals(data.subarray(data.length - 7)));
    const r4 = await bodyOf(s3.send(new GetObjectCommand({ Bucket: B, Key: 'range', Range: `bytes=100-${data.length * 2}` })));
    assert.ok(r4.equals(data.subarray(100)));
    assert.equal(await failure(s3.send(new GetObjectCommand({ Bucket: B, Key: 'range', Range: `bytes=${data.length}-` }))), '416 InvalidRange');
    const p1 = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'range', PartNumber: 1 }));
    assert.equal(p1.PartsCount, 1);
    assert.equal(p1.ContentLength, data.length);
    await p1.Body!.transformToByteArray();
    assert.equal(await failure(s3.send(new GetObjectCommand({ Bucket: B, Key: 'range', PartNumber: 2 }))), '416 InvalidRange');
  });

  test('response-* overrides', async () => {
    const r = await s3.send(
      new GetObjectCommand({
        Bucket: B,
        Key: 'range',
        ResponseContentType: 'text/x-override',
        ResponseContentDisposition: 'inline',
        ResponseCacheControl: 'no-cache',
        ResponseContentLanguage: 'fr',
        ResponseContentEncoding: 'x-enc',
        ResponseExpires: new Date('2031-02-03T04:05:06Z'),
      }),
    );
    await r.Body!.transformToByteArray();
    assert.equal(r.ContentType, 'text/x-override');
    assert.equal(r.ContentDisposition, 'inline');
    assert.equal(r.CacheControl, 'no-cache');
    assert.equal(r.ContentLanguage, 'fr');
    assert.equal(r.ContentEncoding, 'x-enc');
  });

  test('conditional reads', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: B, Key: 'cond', Body: 'conditional' }));
    const etag = put.ETag!;
    assert.equal((await bodyOf(s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfMatch: etag })))).toString(), 'conditional');
    assert.equal(await failure(s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfMatch: '"0123"' }))), '412 PreconditionFailed');
    assert.equal(await failure(s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfNoneMatch: etag }))), '304 NotModified');
    const future = new Date(Date.now() + 3600_000);
    const past = new Date(Date.now() - 3600_000);
    assert.equal(await failure(s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfModifiedSince: future }))), '304 NotModified');
    assert.equal(await failure(s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfUnmodifiedSince: past }))), '412 PreconditionFailed');
    assert.equal((await bodyOf(s3.send(new GetObjectCommand({ Bucket: B, Key: 'cond', IfModifiedSince: past })))).toString(), 'conditional');
    // HEAD responses have no body, so only the status tells (as with S3 itself).
    assert.match(await failure(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'cond', IfMatch: '"0123"' }))), /^412 /);
  });

  test('conditional writes: If-None-Match: * and If-Match', async () => {
    const first = await s3.send(new PutObjectCommand({ Bucket: B, Key: 'cw', Body: 'v1', IfNoneMatch: '*' }));
    assert.equal(await failure(s3.send(new PutObjectCommand({ Bucket: B, Key: 'cw', Body: 'v2', IfNoneMatch: '*' }))), '412 PreconditionFailed');
    assert.equal(await failure(s3.send(new PutObjectCommand({ Bucket: B, Key: 'cw', Body: 'v2', IfMatch: '"ffff"' }))), '412 PreconditionFailed');
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'cw', Body: 'v3', IfMatch: first.ETag }));
    assert.equal((await bodyOf(s3.send(new GetObjectCommand({ Bucket: B, Key: 'cw' })))).toString(), 'v3');
  });

  test('every checksum algorithm is validated on upload and returned with checksum mode', async () => {
    const algs: ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];
    for (const alg of algs) {
      const key = `ck-${alg}`;
      const put = await s3.send(new PutObjectCommand({ Bucket: B, Key: key, Body: data, ChecksumAlgorithm: alg }));
      const field = `Checksum${alg}` as const;
      assert.ok(put[field], `${alg} returned on put`);
      const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: key, ChecksumMode: 'ENABLED' }));
      assert.equal(sha256(Buffer.from(await got.Body!.transformToByteArray())), sha256(data));
      assert.equal(got[field], put[field], `${alg} returned on get`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: key, ChecksumMode: 'ENABLED' }));
      assert.equal(head[field], put[field]);
    }
    // A wrong value the client claims up front is refused and nothing is stored.
    assert.equal(
      await failure(s3.send(new PutObjectCommand({ Bucket: B, Key: 'ck-bad', Body: 'hello', ChecksumCRC32: 'AAAAAA==' }))),
      '400 BadDigest',
    );
    assert.equal(
      await failure(s3.send(new PutObjectCommand({ Bucket: B, Key: 'ck-bad', Body: 'hello', ChecksumSHA256: Buffer.alloc(32).toString('base64') }))),
      '400 BadDigest',
    );
    assert.equal(
      await failure(s3.send(new PutObjectCommand({ Bucket: B, Key: 'ck-bad', Body: 'hello', ContentMD5: Buffer.alloc(16).toString('base64') }))),
      '400 BadDigest',
    );
    assert.equal(await failure(s3.send(new HeadObjectCommand({ Bucket: B, Key: 'ck-bad' }))), '404 NotFound');
    const md5 = createHash('md5').update('hello').digest('base64');
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'ck-md5', Body: 'hello', ContentMD5: md5 }));
  });

  test('copy: COPY and REPLACE directives, source conditions, copy onto itself', async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'src', Body: data, ContentType: 'text/src', Metadata: { a: '1' }, Tagging: 't=1' }));
    const c1 = await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy1', CopySource: `${B}/src` }));
    assert.ok(c1.CopyObjectResult?.ETag);
    const h1 = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'copy1' }));
    assert.equal(h1.ContentType, 'text/src');
    assert.deepEqual(h1.Metadata, { a: '1' });
    await s3.send(
      new CopyObjectCommand({ Bucket: B, Key: 'copy2', CopySource: `${B}/src`, MetadataDirective: 'REPLACE', ContentType: 'text/new', Metadata: { b: '2' } }),
    );
    const h2 = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'copy2' }));
    assert.equal(h2.ContentType, 'text/new');
    assert.deepEqual(h2.Metadata, { b: '2' });
    assert.equal(sha256(await bodyOf(s3.send(new GetObjectCommand({ Bucket: B, Key: 'copy2' })))), sha256(data));
    assert.equal(
      await failure(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy3', CopySource: `${B}/src`, CopySourceIfMatch: '"nope"' }))),
      '412 PreconditionFailed',
    );
    assert.equal(
      await failure(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy3', CopySource: `${B}/src`, CopySourceIfNoneMatch: c1.CopyObjectResult!.ETag }))),
      '412 PreconditionFailed',
    );
    assert.equal(await failure(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'src', CopySource: `${B}/src` }))), '400 InvalidRequest');
    await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'src', CopySource: `${B}/src`, MetadataDirective: 'REPLACE', Metadata: { c: '3' } }));
    assert.equal(await failure(s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy4', CopySource: `${B}/missing` }))), '404 NoSuchKey');
    await s3.send(new CopyObjectCommand({ Bucket: B, Key: 'copy key €', CopySource: encodeURIComponent(`${B}/dir/file one+€.bin`) }));
    assert.equal(sha256(await bodyOf(s3.send(new GetObjectCommand({ Bucket: B, Key: 'copy key €' })))), sha256(data));
  });

  test('delete one and many (quiet and verbose)', async () => {
    for (const k of ['d1', 'd2', 'd3', 'd4']) await s3.send(new PutObjectCommand({ Bucket: B, Key: k, Body: k }));
    await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'd1' }));
    await s3.send(new DeleteObjectCommand({ Bucket: B, Key: 'd1' }));
    const verbose = await s3.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'd2' }, { Key: 'never-existed' }] } }));
    assert.deepEqual(verbose.Deleted?.map((d) => d.Key).sort(), ['d2', 'never-existed']);
    const quiet = await s3.send(new DeleteObjectsCommand({ Bucket: B, Delete: { Objects: [{ Key: 'd3' }, { Key: 'd4' }], Quiet: true } }));
    assert.equal(quiet.Deleted, undefined);
    assert.equal(quiet.Errors, undefined);
    for (const k of ['d1', 'd2', 'd3', 'd4']) assert.equal(await failure(s3.send(new HeadObjectCommand({ Bucket: B, Key: k }))), '404 NotFound');
  });

  test('tagging: on put, get, replace, delete, tag count', async () => {
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'tagged', Body: 't', Tagging: 'project=peer&env=test%20x' }));
    const t1 = await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'tagged' }));
    assert.deepEqual(Object.fromEntries(t1.TagSet!.map((t) => [t.Key, t.Value])), { project: 'peer', env: 'test x' });
    const g = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'tagged' }));
    await g.Body!.transformToByteArray();
    assert.equal(g.TagCount, 2);
    await s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: 'tagged', Tagging: { TagSet: [{ Key: 'k<&>', Value: 'v"\'' }] } }));
    const t2 = await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'tagged' }));
    assert.deepEqual(t2.TagSet, [{ Key: 'k<&>', Value: 'v"\'' }]);
    await s3.send(new DeleteObjectTaggingCommand({ Bucket: B, Key: 'tagged' }));
    assert.deepEqual((await s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'tagged' }))).TagSet ?? [], []);
    const tooMany = Array.from({ length: 11 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    assert.equal(await failure(s3.send(new PutObjectTaggingCommand({ Bucket: B, Key: 'tagged', Tagging: { TagSet: tooMany } }))), '400 InvalidArgument');
    assert.equal(await failure(s3.send(new GetObjectTaggingCommand({ Bucket: B, Key: 'missing' }))), '404 NoSuchKey');
  });
});

describe('listing', () => {
  const B = 'bkt-list';
  const keys = ['a/1', 'a/2', 'a/b/3', 'b/4', 'c', 'd e+f', 'é/x', 'z\u0001ctl'];

  before(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
    for (const k of keys) await s3.send(new PutObjectCommand({ Bucket: B, Key: k, Body: k }));
  });

  test('v2: prefix, delimiter, pages with continuation tokens, start-after, fetch-owner', async () => {
    const all = await s3.send(new ListObjectsV2Command({ Bucket: B, EncodingType: 'url' }));
    assert.deepEqual(all.Contents?.map((o) => decodeURIComponent(o.Key!)), [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))));
    assert.equal(all.KeyCount, keys.length);
    const d = await s3.send(new ListObjectsV2Command({ Bucket: B, Delimiter: '/' }));
    assert.deepEqual(d.CommonPrefixes?.map((p) => p.Prefix), ['a/', 'b/', 'é/']);
    assert.deepEqual(d.Contents?.map((o) => o.Key), ['c', 'd e+f', 'z\u0001ctl']);
    const pa = await s3.send(new ListObjectsV2Command({ Bucket: B, Prefix: 'a/', Delimiter: '/' }));
    assert.deepEqual(pa.Contents?.map((o) => o.Key), ['a/1', 'a/2']);
    assert.deepEqual(pa.CommonPrefixes?.map((p) => p.Prefix), ['a/b/']);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: B, MaxKeys: 3, ContinuationToken: token, EncodingType: 'url' }));
      seen.push(...(page.Contents ?? []).map((o) => decodeURIComponent(o.Key!)));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      pages++;
    } while (token);
    assert.equal(pages, 3);
    assert.equal(seen.length, keys.length);
    const sa = await s3.send(new ListObjectsV2Command({ Bucket: B, StartAfter: 'b/4' }));
    assert.equal(sa.Contents?.[0].Key, 'c');
    const owner = await s3.send(new ListObjectsV2Command({ Bucket: B, FetchOwner: true, MaxKeys: 1 }));
    assert.equal(owner.Contents?.[0].Owner?.ID, gw.users[0].accessKey);
    const noOwner = await s3.send(new ListObjectsV2Command({ Bucket: B, MaxKeys: 1 }));
    assert.equal(noOwner.Contents?.[0].Owner, undefined);
  });

  test('v1: marker paging', async () => {
    const seen: string[] = [];
    let marker: string | undefined;
    for (;;) {
      const page = await s3.send(new ListObjectsCommand({ Bucket: B, MaxKeys: 2, Marker: marker, EncodingType: 'url' }));
      const got = (page.Contents ?? []).map((o) => decodeURIComponent(o.Key!));
      seen.push(...got);
      if (!page.IsTruncated) break;
      marker = page.NextMarker ? decodeURIComponent(page.NextMarker) : got[got.length - 1];
    }
    assert.equal(seen.length, keys.length);
    const d = await s3.send(new ListObjectsCommand({ Bucket: B, Delimiter: '/', Prefix: 'a/' }));
    assert.deepEqual(d.CommonPrefixes?.map((p) => p.Prefix), ['a/b/']);
    assert.equal(await failure(s3.send(new ListObjectsCommand({ Bucket: 'bkt-nothere' }))), '404 NoSuchBucket');
  });
});

describe('multipart', () => {
  const B = 'bkt-mp';

  before(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });

  test('a 104 MiB upload through lib-storage (8 MiB parts, 4 in flight) round-trips', async () => {
    const size = 104 * MiB + 12345;
    const big = randomBytesFast(size, 99);
    const upload = new Upload({ client: s3, params: { Bucket: B, Key: 'big.bin', Body: big }, partSize: 8 * MiB, queueSize: 4 });
    const done = await upload.done();
    assert.match(done.ETag ?? '', /^"[0-9a-f]{32}-14"$/);
    const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'big.bin', ChecksumMode: 'ENABLED' }));
    assert.equal(head.ContentLength, size);
    const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: 'big.bin', ChecksumMode: 'ENABLED' }));
    const h = createHash('sha256');
    for await (const c of got.Body as Readable) h.update(c as Buffer);
    assert.equal(h.digest('hex'), sha256(big));
    const part2 = await bodyOf(s3.send(new GetObjectCommand({ Bucket: B, Key: 'big.bin', PartNumber: 2 })));
    assert.ok(part2.equals(big.subarray(8 * MiB, 16 * MiB)));
  });

  test('manual: parts, part copy with range, list parts/uploads, complete checks, abort', async () => {
    const p1 = randomBytesFast(5 * MiB, 1);
    const p2 = randomBytesFast(1000, 2);
    await s3.send(new PutObjectCommand({ Bucket: B, Key: 'copy-src', Body: randomBytesFast(6 * MiB, 3) }));
    const src = await bodyOf(s3.send(new GetObjectCommand({ Bucket: B, Key: 'copy-src' })));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'manual', ContentType: 'text/mp', Metadata: { m: 'v' } }));
    assert.ok(UploadId);
    const u1 = await s3.send(new UploadPartCommand({ Bucket: B, Key: 'manual', UploadId, PartNumber: 1, Body: p1 }));
    const u2 = await s3.send(
      new UploadPartCopyCommand({ Bucket: B, Key: 'manual', UploadId, PartNumber: 2, CopySource: `${B}/copy-src`, CopySourceRange: `bytes=0-${5 * MiB - 1}` }),
    );
    const u3 = await s3.send(new UploadPartCommand({ Bucket: B, Key: 'manual', UploadId, PartNumber: 3, Body: p2 }));
    const parts = await s3.send(new ListPartsCommand({ Bucket: B, Key: 'manual', UploadId }));
    assert.deepEqual(parts.Parts?.map((p) => [p.PartNumber, p.Size]), [[1, 5 * MiB], [2, 5 * MiB], [3, 1000]]);
    const paged = await s3.send(new ListPartsCommand({ Bucket: B, Key: 'manual', UploadId, MaxParts: 2 }));
    assert.equal(paged.IsTruncated, true);
    assert.equal(paged.NextPartNumberMarker, '2');
    const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket: B }));
    assert.ok(uploads.Uploads?.some((u) => u.UploadId === UploadId && u.Key === 'manual'));
    assert.equal(await failure(s3.send(new DeleteBucketCommand({ Bucket: B }))), '409 BucketNotEmpty');

    const e1 = u1.ETag!;
    const e2 = u2.CopyPartResult!.ETag!;
    const e3 = u3.ETag!;
    const complete = (list: { PartNumber: number; ETag: string }[]) =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: 'manual', UploadId, MultipartUpload: { Parts: list } }));
    assert.equal(await failure(complete([{ PartNumber: 2, ETag: e2 }, { PartNumber: 1, ETag: e1 }])), '400 InvalidPartOrder');
    assert.equal(await failure(complete([{ PartNumber: 1, ETag: '"00000000000000000000000000000000"' }])), '400 InvalidPart');
    assert.equal(await failure(complete([{ PartNumber: 3, ETag: e3 }, { PartNumber: 4, ETag: e3 }])), '400 InvalidPart');
    assert.equal(await failure(complete([{ PartNumber: 3, ETag: e3 }, { PartNumber: 1, ETag: e1 }].reverse().reverse())), '400 InvalidPartOrder');
    const r = await complete([{ PartNumber: 1, ETag: e1 }, { PartNumber: 2, ETag: e2 }, { PartNumber: 3, ETag: e3 }]);
    assert.match(r.ETag ?? '', /-3"$/);
    const whole = await bodyOf(s3.send(new GetObjectCommand({ Bucket: B, Key: 'manual' })));
    assert.equal(sha256(whole), sha256(Buffer.concat([p1, src.subarray(0, 5 * MiB), p2])));
    const head = await s3.send(new HeadObjectCommand({ Bucket: B, Key: 'manual' }));
    assert.equal(head.ContentType, 'text/mp');
    assert.deepEqual(head.Metadata, { m: 'v' });
    assert.equal(await failure(s3.send(new ListPartsCommand({ Bucket: B, Key: 'manual', UploadId }))), '404 NoSuchUpload');

    // EntityTooSmall: a non-last part under 5 MiB.
    const small = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: 'small' }));
    const s1 = await s3.send(new UploadPartCommand({ Bucket: B, Key: 'small', UploadId: small.UploadId, PartNumber: 1, Body: p2 }));
    const s2 = await s3.send(new UploadPartCommand({ Bucket: B, Key: 'small', UploadId: small.UploadId, PartNumber: 2, Body: p2 }));
    assert.equal(
      await failure(
        s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: B,
            Key: 'small',
            UploadId: small.UploadId,
            MultipartUpload: { Parts: [{ PartNumber: 1, ETag: s1.ETag }, { PartNumber: 2, ETag: s2.ETag }] },
          }),
        ),
      ),
      '400 EntityTooSmall',
    );
    await s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: 'small', UploadId: small.UploadId }));
    assert.equal(await failure(s3.send(new AbortMultipartUploadCommand({ Bucket: B, Key: 'small', UploadId: small.UploadId }))), '404 NoSuchUpload');
    assert.equal(
      await failure(s3.send(new UploadPartCommand({ Bucket: B, Key: 'small', UploadId: 'no-such-upload', PartNumber: 1, Body: 'x' }))),
      '404 NoSuchUpload',
    );
  });

  test('multipart checksums: composite CRC32 and full-object CRC64NVME', async () => {
    for (const alg of ['CRC32', 'CRC64NVME'] as const) {
      const key = `mp-${alg}`;
      const p = [randomBytesFast(5 * MiB, 11), randomBytesFast(777, 12)];
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: B, Key: key, ChecksumAlgorithm: alg }));
      const done: { PartNumber: number; ETag?: string; ChecksumCRC32?: string; ChecksumCRC64NVME?: string }[] = [];
      for (let i = 0; i < p.length; i++) {
        const r = await s3.send(new UploadPartCommand({ Bucket: B, Key: key, UploadId, PartNumber: i + 1, Body: p[i], ChecksumAlgorithm: alg }));
        done.push({ PartNumber: i + 1, ETag: r.ETag, ChecksumCRC32: r.ChecksumCRC32, ChecksumCRC64NVME: r.ChecksumCRC64NVME });
      }
      const c = await s3.send(new CompleteMultipartUploadCommand({ Bucket: B, Key: key, UploadId, MultipartUpload: { Parts: done } }));
      const got = await s3.send(new GetObjectCommand({ Bucket: B, Key: key, ChecksumMode: 'ENABLED' }));
      assert.equal(sha256(Buffer.from(await got.Body!.transformToByteArray())), sha256(Buffer.concat(p)));
      if (alg === 'CRC32') {
        assert.match(c.ChecksumCRC32 ?? '', /-2$/);
        assert.equal(got.ChecksumCRC32, c.ChecksumCRC32);
      } else {
        assert.equal(c.ChecksumType, 'FULL_OBJECT');
        // The SDK validated the full-object CRC64NVME of the body it just read.
        assert.equal(got.ChecksumCRC64NVME, c.ChecksumCRC64NVME);
      }
    }
  });
});

describe('presigned URLs', () => {
  const B = 'bkt-presign';

  before(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: B }));
  });

  test('presigned PUT and GET work; a wrong signature and an expired URL are refused', async () => {
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: B, Key: 'pre sign€d' }), { expiresIn: 300 });
    const put = await fetch(putUrl, { method: 'PUT', body: 'via presigned put' });
    assert.equal(put.status, 200);
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: B, Key: 'pre sign€d' }), { expiresIn: 300 });
    const get = await fetch(getUrl);
    assert.equal(get.status, 200);
    assert.equal(await get.text(), 'via presigned put');
    assert.ok(get.headers.get('x-amz-request-id'));
    const tampered = getUrl.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`);
    const bad = await fetch(tampered);
    assert.equal(bad.status, 403);
    assert.match(await bad.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
    const expiredUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: B, Key: 'pre sign€d' }), {
      expiresIn: 60,
      signingDate: new Date(Date.now() - 3600_000),
    });
    const expired = await fetch(expiredUrl);
    assert.equal(expired.status, 403);
    assert.match(await expired.text(), /<Code>AccessDenied<\/Code><Message>Request has expired/);
    const anonymous = await fetch(`${gw.url}/${B}/pre%20sign%E2%82%ACd`);
    assert.equal(anonymous.status, 403);
    assert.match(await anonymous.text(), /<Code>AccessDenied<\/Code>/);
  });
});
