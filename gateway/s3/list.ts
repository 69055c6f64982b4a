/**
 * ListObjects (v1, marker paging) and ListObjectsV2 (continuation tokens, start-after,
 * fetch-owner), both with prefix, delimiter, max-keys and `encoding-type=url` (S3 API reference).
 */
import type { ListOptions, ObjectSummary } from '../../backend/core/object-store.js';
import type { S3Endpoint } from './endpoint.js';
import { isoDate, quoteEtag, type S3Context, type S3Reply } from './context.js';
import { ownerXml } from './bucket.js';
import { awsUriEncode } from './sigv4.js';
import { s3Document, xmlElement, xmlOpt } from './xml.js';

type Ep<O extends S3Endpoint['op']> = Extract<S3Endpoint, { op: O }>;

/** With encoding-type=url, names are percent-encoded (keeping '/') so any byte survives XML. */
export function encoder(encodingType: 'url' | undefined): (s: string) => string {
  return encodingType === 'url' ? (s) => awsUriEncode(s, true) : (s) => s;
}

function contentsXml(o: ObjectSummary, enc: (s: string) => string, owner: string | undefined): string {
  const children = [
    xmlElement('Key', enc(o.key)),
    xmlElement('LastModified', isoDate(o.lastModified)),
    xmlElement('ETag', quoteEtag(o.etag)),
    xmlElement('Size', o.size),
    xmlElement('StorageClass', 'STANDARD'),
  ];
  if (owner !== undefined) children.push(ownerXml(owner));
  return xmlElement('Contents', children);
}

function prefixesXml(prefixes: string[], enc: (s: string) => string): string[] {
  return prefixes.map((p) => xmlElement('CommonPrefixes', [xmlElement('Prefix', enc(p))]));
}

export async function handleListObjects(ctx: S3Context<Ep<'ListObjects'>>): Promise<S3Reply> {
  const { bucket, params } = ctx.endpoint;
  const options: ListOptions = { maxKeys: params.maxKeys };
  if (params.prefix) options.prefix = params.prefix;
  if (params.delimiter) options.delimiter = params.delimiter;
  if (params.marker) options.startAfter = params.marker;
  const r = await ctx.store.listObjects(bucket, options);
  const enc = encoder(params.encodingType);
  const children = [
    xmlElement('Name', bucket),
    xmlElement('Prefix', enc(params.prefix ?? '')),
    xmlElement('Marker', enc(params.marker ?? '')),
    xmlElement('MaxKeys', params.maxKeys),
    xmlOpt('Delimiter', params.delimiter === undefined ? undefined : enc(params.delimiter)),
    xmlElement('IsTruncated', r.isTruncated),
    xmlOpt('NextMarker', r.isTruncated && r.lastReturned !== undefined ? enc(r.lastReturned) : undefined),
    xmlOpt('EncodingType', params.encodingType),
    ...r.objects.map((o) => contentsXml(o, enc, ctx.auth.user.accessKey)),
    ...prefixesXml(r.commonPrefixes, enc),
  ];
  return { status: 200, body: s3Document('ListBucketResult', children) };
}

export async function handleListObjectsV2(ctx: S3Context<Ep<'ListObjectsV2'>>): Promise<S3Reply> {
  const { bucket, params } = ctx.endpoint;
  const options: ListOptions = { maxKeys: params.maxKeys };
  if (params.prefix) options.prefix = params.prefix;
  if (params.delimiter) options.delimiter = params.delimiter;
  if (params.startAfter) options.startAfter = params.startAfter;
  if (params.continuationToken) options.continuationToken = params.continuationToken;
  const r = await ctx.store.listObjects(bucket, options);
  const enc = encoder(params.encodingType);
  const owner = params.fetchOwner ? ctx.auth.user.accessKey : undefined;
  const children = [
    xmlElement('Name', bucket),
    xmlElement('Prefix', enc(params.prefix ?? '')),
    xmlElement('MaxKeys', params.maxKeys),
    xmlElement('KeyCount', r.objects.length + r.commonPrefixes.length),
    xmlOpt('Delimiter', params.delimiter === undefined ? undefined : enc(params.delimiter)),
    xmlElement('IsTruncated', r.isTruncated),
    xmlOpt('ContinuationToken', params.continuationToken),
    xmlOpt('NextContinuationToken', r.isTruncated ? r.nextContinuationToken : undefined),
    xmlOpt('StartAfter', params.startAfter === undefined ? undefined : enc(params.startAfter)),
    xmlOpt('EncodingType', params.encodingType),
    ...r.objects.map((o) => contentsXml(o, enc, owner)),
    ...prefixesXml(r.commonPrefixes, enc),
  ];
  return { status: 200, body: s3Document('ListBucketResult', children) };
}
