/**
 * Bucket operations (S3 API reference): ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
 * GetBucketLocation, GetBucketVersioning.
 */
import type { S3Endpoint } from './endpoint.js';
import type { S3Context, S3Reply } from './context.js';
import { isoDate } from './context.js';
import { uploadBody } from './body.js';
import { parseXml, readBounded, s3Document, xmlElement, S3_XMLNS, xmlDocument } from './xml.js';

type Ep<O extends S3Endpoint['op']> = Extract<S3Endpoint, { op: O }>;

export function ownerXml(accessKey: string): string {
  return xmlElement('Owner', [xmlElement('ID', accessKey), xmlElement('DisplayName', accessKey)]);
}

export async function handleListBuckets(ctx: S3Context<Ep<'ListBuckets'>>): Promise<S3Reply> {
  const buckets = await ctx.store.listBuckets();
  const body = s3Document('ListAllMyBucketsResult', [
    ownerXml(ctx.auth.user.accessKey),
    xmlElement(
      'Buckets',
      buckets.map((b) => xmlElement('Bucket', [xmlElement('Name', b.name), xmlElement('CreationDate', isoDate(b.created))])),
    ),
  ]);
  return { status: 200, body };
}

export async function handleCreateBucket(ctx: S3Context<Ep<'CreateBucket'>>): Promise<S3Reply> {
  // The optional CreateBucketConfiguration only names a location; any is accepted, but it must be XML.
  const text = (await readBounded(uploadBody(ctx.req, ctx.auth, { maxSize: 64 * 1024, verifyMd5: true }).body, 64 * 1024)).toString('utf8');
  if (text.trim() !== '') parseXml(text, 'CreateBucketConfiguration');
  await ctx.store.createBucket(ctx.endpoint.bucket);
  return { status: 200, headers: { Location: `/${ctx.endpoint.bucket}` } };
}

export async function handleHeadBucket(ctx: S3Context<Ep<'HeadBucket'>>): Promise<S3Reply> {
  await ctx.store.headBucket(ctx.endpoint.bucket);
  return { status: 200, headers: { 'x-amz-bucket-region': ctx.region || 'us-east-1' } };
}

export async function handleDeleteBucket(ctx: S3Context<Ep<'DeleteBucket'>>): Promise<S3Reply> {
  await ctx.store.deleteBucket(ctx.endpoint.bucket);
  return { status: 204 };
}

export async function handleGetBucketLocation(ctx: S3Context<Ep<'GetBucketLocation'>>): Promise<S3Reply> {
  await ctx.store.headBucket(ctx.endpoint.bucket);
  return { status: 200, body: xmlDocument(xmlElement('LocationConstraint', ctx.region, { xmlns: S3_XMLNS })) };
}

export async function handleGetBucketVersioning(ctx: S3Context<Ep<'GetBucketVersioning'>>): Promise<S3Reply> {
  await ctx.store.headBucket(ctx.endpoint.bucket);
  // Never-versioned buckets answer with an empty configuration (no Status element).
  return { status: 200, body: s3Document('VersioningConfiguration', []) };
}
