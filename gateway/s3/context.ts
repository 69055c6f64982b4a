/**
 * What every S3 operation handler receives (the authenticated, parsed request) and returns (a
 * reply described as data, written by the plugin in one place), plus the header conventions
 * shared by several operation families (S3 API reference, PutObject / GetObject "Request syntax").
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Logger } from '../../backend/core/logger.js';
import type { Conditions, ObjectInfo, ObjectStore, StandardHeaders } from '../../backend/core/object-store.js';
import type { S3Endpoint } from './endpoint.js';
import { S3Error, s3Errors } from './errors.js';
import type { AuthResult } from './sigv4.js';

export interface S3Context<E extends S3Endpoint = S3Endpoint> {
  endpoint: E;
  req: IncomingMessage;
  store: ObjectStore;
  auth: AuthResult;
  requestId: string;
  /** decoded query parameters */
  query: Map<string, string>;
  /** region reported by GetBucketLocation ('' = us-east-1) */
  region: string;
  logger: Logger;
}

export interface S3Reply {
  status: number;
  headers?: Record<string, string | number>;
  /** a Readable is piped and destroyed on error; strings are sent as XML */
  body?: string | Buffer | Readable;
}

export type S3Handler<E extends S3Endpoint> = (ctx: S3Context<E>) => Promise<S3Reply>;

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export const MAX_USER_METADATA = 2048;

/** x-amz-meta-* headers → userMetadata (lower-case names, prefix stripped); S3 caps them at 2 KB. */
export function userMetadataOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  let size = 0;
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const k = name.slice('x-amz-meta-'.length);
    const v = Array.isArray(value) ? value.join(',') : value;
    size += k.length + Buffer.byteLength(v);
    out[k] = v;
  }
  if (size > MAX_USER_METADATA) {
    throw new S3Error('MetadataTooLarge', 400, 'Your metadata headers exceed the maximum allowed metadata size.');
  }
  return out;
}

export function standardHeadersOf(req: IncomingMessage): StandardHeaders {
  const h: StandardHeaders = {};
  const set = (field: keyof StandardHeaders, name: string): void => {
    const v = header(req, name);
    if (v !== undefined) h[field] = v;
  };
  set('contentType', 'content-type');
  set('contentEncoding', 'content-encoding');
  set('contentDisposition', 'content-disposition');
  set('contentLanguage', 'content-language');
  set('cacheControl', 'cache-control');
  set('expires', 'expires');
  // aws-chunked is a transfer detail of this request, not a property of the stored object.
  if (h.contentEncoding !== undefined) {
    const rest = h.contentEncoding
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '' && s.toLowerCase() !== 'aws-chunked');
    if (rest.length === 0) delete h.contentEncoding;
    else h.contentEncoding = rest.join(',');
  }
  return h;
}

/** x-amz-tagging: URL-query-encoded `k=v&k2=v2`. */
export function tagsFromHeader(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  const tags: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(text)) {
    if (k in tags) throw s3Errors.invalidArgument('Cannot provide multiple Tags with the same key', 'x-amz-tagging', text);
    tags[k] = v;
  }
  return tags;
}

function httpDate(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  return Number.isFinite(t) ? new Date(t) : undefined;
}

/** RFC 9110 §13 conditionals, with an optional header-name prefix (x-amz-copy-source-). */
export function conditionsOf(req: IncomingMessage, prefix = ''): Conditions | undefined {
  const c: Conditions = {};
  const im = header(req, `${prefix}if-match`);
  const inm = header(req, `${prefix}if-none-match`);
  const ims = httpDate(header(req, `${prefix}if-modified-since`));
  const ius = httpDate(header(req, `${prefix}if-unmodified-since`));
  if (im !== undefined) c.ifMatch = im;
  if (inm !== undefined) c.ifNoneMatch = inm;
  if (ims) c.ifModifiedSince = ims;
  if (ius) c.ifUnmodifiedSince = ius;
  return Object.keys(c).length > 0 ? c : undefined;
}

export function quoteEtag(etag: string): string {
  return etag.startsWith('"') ? etag : `"${etag}"`;
}

export function isoDate(d: Date): string {
  return d.toISOString();
}

/** The representation headers every GetObject/HeadObject response carries. */
export function objectHeaders(info: ObjectInfo): Record<string, string | number> {
  const h: Record<string, string | number> = {
    ETag: quoteEtag(info.etag),
    'Last-Modified': info.lastModified.toUTCString(),
    'Accept-Ranges': 'bytes',
    'Content-Type': info.headers.contentType ?? 'binary/octet-stream',
  };
  if (info.headers.contentEncoding !== undefined) h['Content-Encoding'] = info.headers.contentEncoding;
  if (info.headers.contentDisposition !== undefined) h['Content-Disposition'] = info.headers.contentDisposition;
  if (info.headers.contentLanguage !== undefined) h['Content-Language'] = info.headers.contentLanguage;
  if (info.headers.cacheControl !== undefined) h['Cache-Control'] = info.headers.cacheControl;
  if (info.headers.expires !== undefined) h.Expires = info.headers.expires;
  for (const [k, v] of Object.entries(info.userMetadata)) h[`x-amz-meta-${k}`] = v;
  const tagCount = Object.keys(info.tags).length;
  if (tagCount > 0) h['x-amz-tagging-count'] = tagCount;
  return h;
}
