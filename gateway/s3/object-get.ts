/**
 * GetObject and HeadObject (S3 API reference): ranges (RFC 9110 §14: `a-b`, `a-`, `-n`) with
 * 206/416, `partNumber`, `response-*` overrides, conditional requests, and the stored checksum
 * when `x-amz-checksum-mode: ENABLED`. The store is asked first; headers go out only once it has
 * answered, so every failure is still a proper error response.
 */
import type { ChecksumValue, GetOptions, ObjectInfo, RangeSpec } from '../../backend/core/object-store.js';
import { checksumHeaderName } from './checksums.js';
import type { S3Endpoint } from './endpoint.js';
import { conditionsOf, header, objectHeaders, type S3Context, type S3Reply } from './context.js';
import { s3Errors } from './errors.js';

type Ep<O extends S3Endpoint['op']> = Extract<S3Endpoint, { op: O }>;

/** Parses a Range header. Syntactically invalid or multi-range headers are ignored (RFC 9110 §14.2). */
export function parseRange(text: string | undefined): RangeSpec | undefined {
  if (text === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(text);
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw s3Errors.invalidRange();
    return { suffix };
  }
  const start = Number(m[1]);
  if (m[2] === '') return { start };
  const end = Number(m[2]);
  if (end < start) return undefined;
  return { start, end };
}

const OVERRIDES: Record<string, string> = {
  'response-content-type': 'Content-Type',
  'response-content-language': 'Content-Language',
  'response-expires': 'Expires',
  'response-cache-control': 'Cache-Control',
  'response-content-disposition': 'Content-Disposition',
  'response-content-encoding': 'Content-Encoding',
};

function checksumHeaders(ctx: S3Context, info: ObjectInfo, partNumber: number | undefined, ranged: boolean): Record<string, string> {
  if (header(ctx.req, 'x-amz-checksum-mode')?.toUpperCase() !== 'ENABLED' || ranged) return {};
  let c: ChecksumValue | undefined = info.checksum;
  let suffix = '';
  if (partNumber !== undefined && info.parts) c = info.parts[partNumber - 1]?.checksum;
  else if (c?.type === 'COMPOSITE' && info.parts && !c.value.includes('-')) suffix = `-${info.parts.length}`;
  if (!c) return {};
  return { [checksumHeaderName(c.algorithm)]: c.value + suffix, 'x-amz-checksum-type': c.type };
}

function getOptions(ctx: S3Context, partNumber: number | undefined): GetOptions {
  const options: GetOptions = {};
  const conditions = conditionsOf(ctx.req);
  if (conditions) options.conditions = conditions;
  if (partNumber !== undefined) options.partNumber = partNumber;
  return options;
}

export async function handleGetObject(ctx: S3Context<Ep<'GetObject'>>): Promise<S3Reply> {
  const { bucket, key, partNumber, overrides } = ctx.endpoint;
  const options = getOptions(ctx, partNumber);
  const range = parseRange(header(ctx.req, 'range'));
  if (range !== undefined) {
    if (partNumber !== undefined) throw s3Errors.invalidRequest('Cannot specify both Range header and partNumber query parameter');
    options.range = range;
  }
  const result = await ctx.store.getObject(bucket, key, options);
  const { info } = result;
  const headers: Record<string, string | number> = {
    ...objectHeaders(info),
    ...checksumHeaders(ctx, info, partNumber, range !== undefined),
    'Content-Length': result.contentLength,
  };
  for (const [param, value] of Object.entries(overrides)) {
    const h = OVERRIDES[param];
    if (h === undefined) throw s3Errors.invalidArgument(`${param} is not a valid response override`, param, value);
    headers[h] = value;
  }
  if (partNumber !== undefined) headers['x-amz-mp-parts-count'] = info.parts?.length ?? 1;
  if (result.range) {
    headers['Content-Range'] = `bytes ${result.range.start}-${result.range.end}/${info.size}`;
    return { status: 206, headers, body: result.body };
  }
  return { status: 200, headers, body: result.body };
}

export async function handleHeadObject(ctx: S3Context<Ep<'HeadObject'>>): Promise<S3Reply> {
  const { bucket, key, partNumber } = ctx.endpoint;
  const range = parseRange(header(ctx.req, 'range'));
  if (range !== undefined && partNumber === undefined) {
    // HeadObject honours Range too (S3 answers 206 with Content-Range); resolving it needs a get.
    const result = await ctx.store.getObject(bucket, key, { ...getOptions(ctx, undefined), range });
    result.body.destroy();
    const headers: Record<string, string | number> = { ...objectHeaders(result.info), 'Content-Length': result.contentLength };
    if (result.range) headers['Content-Range'] = `bytes ${result.range.start}-${result.range.end}/${result.info.size}`;
    return { status: result.range ? 206 : 200, headers };
  }
  const info = await ctx.store.headObject(bucket, key, getOptions(ctx, partNumber));
  let length = info.size;
  const headers: Record<string, string | number> = { ...objectHeaders(info), ...checksumHeaders(ctx, info, partNumber, false) };
  if (partNumber !== undefined) {
    const parts = info.parts ?? [{ partNumber: 1, size: info.size, etag: info.etag }];
    length = parts[partNumber - 1]?.size ?? 0;
    headers['x-amz-mp-parts-count'] = parts.length;
  }
  headers['Content-Length'] = length;
  return { status: 200, headers };
}
