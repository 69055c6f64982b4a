/**
 * PutObject and CopyObject (S3 API reference). The body is streamed into the store through the
 * verifying pipeline of body.ts; conditional writes (`If-None-Match: *`, `If-Match`) are evaluated
 * by the store atomically with the commit. CopyObject shares the source's data (no rewrite).
 */
import type { CopyOptions, ObjectInfo, PutOptions } from '../../backend/core/object-store.js';
import { isStoreError, StoreError } from '../../backend/core/errors.js';
import { uploadBody, type UploadBody } from './body.js';
import { checksumHeaderName } from './checksums.js';
import type { S3Endpoint } from './endpoint.js';
import {
  conditionsOf,
  header,
  isoDate,
  quoteEtag,
  standardHeadersOf,
  tagsFromHeader,
  userMetadataOf,
  type S3Context,
  type S3Reply,
} from './context.js';
import { s3Errors } from './errors.js';
import { s3Document, xmlElement } from './xml.js';

type Ep<O extends S3Endpoint['op']> = Extract<S3Endpoint, { op: O }>;

/** `If-None-Match: *` and `If-Match: etag` on writes (S3 conditional writes). */
export function writeConditions(ctx: S3Context): Pick<PutOptions, 'ifNoneMatch' | 'ifMatch'> {
  const out: Pick<PutOptions, 'ifNoneMatch' | 'ifMatch'> = {};
  const inm = header(ctx.req, 'if-none-match');
  if (inm !== undefined) {
    if (inm.trim() !== '*') throw s3Errors.notImplemented('If-None-Match on writes only supports "*".');
    out.ifNoneMatch = '*';
  }
  const im = header(ctx.req, 'if-match');
  if (im !== undefined) out.ifMatch = im.trim();
  return out;
}

/** Rethrows the body pipeline's own failure in preference to however the store reported it. */
export async function withBody<T>(ub: UploadBody, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw ub.failure ?? err;
  }
}

export function checksumReplyHeaders(info: { checksum?: ObjectInfo['checksum'] }): Record<string, string> {
  const c = info.checksum;
  return c ? { [checksumHeaderName(c.algorithm)]: c.value } : {};
}

export async function handlePutObject(ctx: S3Context<Ep<'PutObject'>>): Promise<S3Reply> {
  const { bucket, key } = ctx.endpoint;
  const ub = uploadBody(ctx.req, ctx.auth);
  const options: PutOptions = {
    headers: standardHeadersOf(ctx.req),
    userMetadata: userMetadataOf(ctx.req),
    ...writeConditions(ctx),
    get checksum() {
      return ub.checksum;
    },
  };
  const tags = tagsFromHeader(header(ctx.req, 'x-amz-tagging'));
  if (tags) options.tags = tags;
  if (ub.contentMd5) options.contentMd5 = ub.contentMd5;
  if (ub.expectedSize !== undefined) options.expectedSize = ub.expectedSize;
  const info = await withBody(ub, () => ctx.store.putObject(bucket, key, ub.body, options));
  return { status: 200, headers: { ETag: quoteEtag(info.etag), ...checksumReplyHeaders({ checksum: ub.checksum ?? info.checksum }) } };
}

function directive(ctx: S3Context, name: string): 'COPY' | 'REPLACE' | undefined {
  const v = header(ctx.req, name);
  if (v === undefined) return undefined;
  const up = v.trim().toUpperCase();
  if (up !== 'COPY' && up !== 'REPLACE') throw s3Errors.invalidArgument(`Unknown ${name}`, name, v);
  return up;
}

export async function handleCopyObject(ctx: S3Context<Ep<'CopyObject'>>): Promise<S3Reply> {
  const { bucket, key, source } = ctx.endpoint;
  const metadataDirective = directive(ctx, 'x-amz-metadata-directive') ?? 'COPY';
  const taggingDirective = directive(ctx, 'x-amz-tagging-directive') ?? 'COPY';
  if (source.bucket === bucket && source.key === key && metadataDirective === 'COPY' && taggingDirective === 'COPY') {
    throw s3Errors.invalidRequest(
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const options: CopyOptions = { metadataDirective, taggingDirective };
  if (metadataDirective === 'REPLACE') {
    options.headers = standardHeadersOf(ctx.req);
    options.userMetadata = userMetadataOf(ctx.req);
  }
  if (taggingDirective === 'REPLACE') options.tags = tagsFromHeader(header(ctx.req, 'x-amz-tagging')) ?? {};
  const wc = writeConditions(ctx);
  if (wc.ifNoneMatch) options.ifNoneMatch = wc.ifNoneMatch;
  const conditions = conditionsOf(ctx.req, 'x-amz-copy-source-');
  let info: ObjectInfo;
  try {
    info = await ctx.store.copyObject({ bucket: source.bucket, key: source.key, conditions }, bucket, key, options);
  } catch (err) {
    // For a copy every failed source condition is 412, including the "not modified" ones.
    if (isStoreError(err, 'NotModified')) throw new StoreError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
    throw err;
  }
  const children = [xmlElement('LastModified', isoDate(info.lastModified)), xmlElement('ETag', quoteEtag(info.etag))];
  if (info.checksum && info.checksum.type === 'FULL_OBJECT') {
    children.push(xmlElement(`Checksum${info.checksum.algorithm}`, info.checksum.value));
  }
  return { status: 200, body: s3Document('CopyObjectResult', children) };
}
