/**
 * GetObjectTagging, PutObjectTagging, DeleteObjectTagging (S3 API reference). Tag-set limits
 * (≤ 10 tags, key ≤ 128 and value ≤ 256 characters) are the store's to enforce.
 */
import type { S3Endpoint } from './endpoint.js';
import type { S3Context, S3Reply } from './context.js';
import { uploadBody } from './body.js';
import { s3Errors } from './errors.js';
import { withBody } from './object-put.js';
import { asArray, childrenOf, parseXml, readBounded, s3Document, textOf, xmlElement } from './xml.js';

type Ep<O extends S3Endpoint['op']> = Extract<S3Endpoint, { op: O }>;

const MAX_TAGGING_BODY = 64 * 1024;

export async function handleGetObjectTagging(ctx: S3Context<Ep<'GetObjectTagging'>>): Promise<S3Reply> {
  const info = await ctx.store.headObject(ctx.endpoint.bucket, ctx.endpoint.key);
  const tags = Object.entries(info.tags).map(([k, v]) => xmlElement('Tag', [xmlElement('Key', k), xmlElement('Value', v)]));
  return { status: 200, body: s3Document('Tagging', [xmlElement('TagSet', tags)]) };
}

export async function handlePutObjectTagging(ctx: S3Context<Ep<'PutObjectTagging'>>): Promise<S3Reply> {
  const ub = uploadBody(ctx.req, ctx.auth, { maxSize: MAX_TAGGING_BODY, verifyMd5: true });
  const text = (await withBody(ub, () => readBounded(ub.body, MAX_TAGGING_BODY))).toString('utf8');
  const root = parseXml(text, 'Tagging');
  const setNode = asArray(root.TagSet)[0];
  const tags: Record<string, string> = {};
  for (const t of setNode === undefined ? [] : asArray(childrenOf(setNode).Tag)) {
    const c = childrenOf(t);
    const k = textOf(c.Key);
    const v = textOf(c.Value) ?? '';
    if (k === undefined) throw s3Errors.malformedXml();
    if (k in tags) throw s3Errors.invalidArgument('Cannot provide multiple Tags with the same key', 'Tag', k);
    tags[k] = v;
  }
  await ctx.store.putObjectTagging(ctx.endpoint.bucket, ctx.endpoint.key, tags);
  return { status: 200 };
}

export async function handleDeleteObjectTagging(ctx: S3Context<Ep<'DeleteObjectTagging'>>): Promise<S3Reply> {
  await ctx.store.putObjectTagging(ctx.endpoint.bucket, ctx.endpoint.key, {});
  return { status: 204 };
}
