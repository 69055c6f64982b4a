/**
 * DeleteObject and DeleteObjects (S3 API reference). Deleting a missing key succeeds. The
 * multi-object body is read with a size bound, verified (Content-MD5 or x-amz-checksum-*) and
 * answered per key, quiet mode reporting errors only.
 */
import type { S3Endpoint } from './endpoint.js';
import type { S3Context, S3Reply } from './context.js';
import { uploadBody } from './body.js';
import { s3Errors, toErrorResponse } from './errors.js';
import { asArray, childrenOf, parseXml, readBounded, s3Document, textOf, xmlElement } from './xml.js';
import { withBody } from './object-put.js';

type Ep<O extends S3Endpoint['op']> = Extract<S3Endpoint, { op: O }>;

const MAX_DELETE_BODY = 2 * 1024 * 1024;

export async function handleDeleteObject(ctx: S3Context<Ep<'DeleteObject'>>): Promise<S3Reply> {
  await ctx.store.deleteObject(ctx.endpoint.bucket, ctx.endpoint.key);
  return { status: 204 };
}

export async function handleDeleteObjects(ctx: S3Context<Ep<'DeleteObjects'>>): Promise<S3Reply> {
  const { bucket } = ctx.endpoint;
  const ub = uploadBody(ctx.req, ctx.auth, { maxSize: MAX_DELETE_BODY, verifyMd5: true });
  const text = (await withBody(ub, () => readBounded(ub.body, MAX_DELETE_BODY))).toString('utf8');
  const root = parseXml(text, 'Delete');
  const quiet = textOf(root.Quiet)?.trim().toLowerCase() === 'true';
  const objects = asArray(root.Object).map((o) => {
    const key = textOf(childrenOf(o).Key);
    if (key === undefined || key === '') throw s3Errors.malformedXml();
    return key;
  });
  if (objects.length === 0) throw s3Errors.malformedXml();
  if (objects.length > 1000) throw s3Errors.malformedXml();
  await ctx.store.headBucket(bucket);
  const results: string[] = [];
  for (const key of objects) {
    try {
      await ctx.store.deleteObject(bucket, key);
      if (!quiet) results.push(xmlElement('Deleted', [xmlElement('Key', key)]));
    } catch (err) {
      const e = toErrorResponse(err);
      if (e.internal) ctx.logger.error({ err, requestId: ctx.requestId, key }, 'DeleteObjects: delete failed');
      results.push(xmlElement('Error', [xmlElement('Key', key), xmlElement('Code', e.s3Code), xmlElement('Message', e.message)]));
    }
  }
  return { status: 200, body: s3Document('DeleteResult', results) };
}
