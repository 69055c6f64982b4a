/**
 * AWS Signature Version 4 verification for S3 (S3 API reference, "Authenticating Requests (AWS
 * Signature Version 4)"): the Authorization header, presigned URLs (query parameters), and the
 * x-amz-content-sha256 payload modes. Chunk and trailer signatures of aws-chunked bodies are
 * checked in aws-chunked.ts with the context returned here.
 *
 * Every signature comparison is constant-time. Unknown access key, bad signature, expired or
 * skewed requests are errors; a request with no credentials at all returns `undefined` so the
 * caller decides (S3: AccessDenied).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { UserRegistry, User } from '../common/users.js';
import { S3Error, s3Errors } from './errors.js';

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const MAX_PRESIGNED_EXPIRES = 7 * 24 * 3600;
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export type PayloadMode =
  | { kind: 'unsigned' }
  /** hex SHA-256 of the body, to be verified while streaming */
  | { kind: 'sha256'; hash: string }
  /** aws-chunked with a signature per chunk, optionally a signed trailer */
  | { kind: 'streaming-signed'; trailer: boolean }
  /** aws-chunked without chunk signatures, with a trailer (trailing checksum) */
  | { kind: 'streaming-unsigned-trailer' };

/** What chunk/trailer verification needs from the request's own signature. */
export interface ChunkSigningContext {
  signingKey: Buffer;
  amzDate: string;
  scope: string;
  seedSignature: string;
}

export interface AuthResult {
  user: User;
  payload: PayloadMode;
  signing: ChunkSigningContext;
  presigned: boolean;
}

/** The parts of an HTTP request that SigV4 covers. */
export interface SignableRequest {
  method: string;
  /** path as received on the wire, without the query string */
  rawPath: string;
  /** query parameters decoded, in wire order */
  query: [string, string][];
  /** alternating name/value list as Node's IncomingMessage.rawHeaders */
  rawHeaders: string[];
}

export interface SigV4Init {
  /** when set, only this region is accepted in the credential scope */
  region?: string;
  /** clock for expiry/skew checks (tests) */
  now?: () => number;
}

/** RFC 3986 unreserved characters stay; everything else is %XX (upper-case), as SigV4 requires. */
export function awsUriEncode(s: string, keepSlash = false): string {
  const enc = encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? enc.replace(/%2F/g, '/') : enc;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

const signingKeyCache = new Map<string, Buffer>();

export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${secret}\0${date}\0${region}\0${service}`;
  let key = signingKeyCache.get(id);
  if (!key) {
    key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
    // Keys change daily; a small cap keeps a long-running gateway from accumulating them.
    if (signingKeyCache.size > 1000) signingKeyCache.clear();
    signingKeyCache.set(id, key);
  }
  return key;
}

export function safeEqualHex(a: string, b: string): boolean {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  // Length is not secret (always 64 hex chars for a valid signature); compare equal-length buffers.
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

/** Canonical URI candidates: strict re-encoding of the decoded path first, then the path exactly as sent. */
export function canonicalUris(rawPath: string): string[] {
  const out: string[] = [];
  try {
    const strict = rawPath
      .split('/')
      .map((seg) => awsUriEncode(decodeURIComponent(seg)))
      .join('/');
    out.push(strict);
  } catch {
    // undecodable path: only the raw form can have been signed
  }
  if (!out.includes(rawPath)) out.push(rawPath);
  return out;
}

export function canonicalQuery(query: [string, string][], exclude?: string): string {
  return query
    .filter(([k]) => k !== exclude)
    .map(([k, v]) => [awsUriEncode(k), awsUriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** name (lower-case) → values in wire order */
export function headerMap(rawHeaders: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    const list = m.get(name);
    if (list) list.push(rawHeaders[i + 1]);
    else m.set(name, [rawHeaders[i + 1]]);
  }
  return m;
}

function canonicalHeaders(headers: Map<string, string[]>, signed: string[]): string {
  return signed
    .map((name) => {
      const values = headers.get(name) ?? [];
      return `${name}:${values.map((v) => v.trim().replace(/\s+/g, ' ')).join(',')}\n`;
    })
    .join('');
}

export function stringToSign(amzDate: string, scope: string, canonicalRequest: string): string {
  return `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
}

export function signString(key: Buffer, toSign: string): string {
  return createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
}

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

export function parseAmzDate(s: string): number | undefined {
  const m = AMZ_DATE.exec(s);
  if (!m) return undefined;
  const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  return Number.isFinite(t) ? t : undefined;
}

export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

interface Credential {
  accessKey: string;
  date: string;
  region: string;
  service: string;
  scope: string;
}

function parseCredential(text: string, fail: (msg: string) => S3Error): Credential {
  const parts = text.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1])) {
    throw fail(`The credential "${text}" is malformed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  }
  const [accessKey, date, region, service] = parts;
  return { accessKey, date, region, service, scope: `${date}/${region}/${service}/aws4_request` };
}

function payloadModeOf(value: string | undefined, presigned: boolean): PayloadMode {
  if (value === undefined) {
    if (presigned) return { kind: 'unsigned' };
    throw s3Errors.invalidRequest('Missing required header for this request: x-amz-content-sha256');
  }
  switch (value) {
    case 'UNSIGNED-PAYLOAD':
      return { kind: 'unsigned' };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD':
      return { kind: 'streaming-signed', trailer: false };
    case 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER':
      return { kind: 'streaming-signed', trailer: true };
    case 'STREAMING-UNSIGNED-PAYLOAD-TRAILER':
      return { kind: 'streaming-unsigned-trailer' };
    default:
      if (/^[0-9a-f]{64}$/i.test(value)) return { kind: 'sha256', hash: value.toLowerCase() };
      throw s3Errors.invalidArgument('x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-… or a valid sha256 value.', 'x-amz-content-sha256', value);
  }
}

/**
 * Verifies the request's SigV4 signature (header or presigned). Returns undefined for an anonymous
 * request; throws S3Error for everything that is wrong with a signed one.
 */
export function authenticate(req: SignableRequest, users: UserRegistry, init: SigV4Init = {}): AuthResult | undefined {
  const now = (init.now ?? Date.now)();
  const headers = headerMap(req.rawHeaders);
  const authz = headers.get('authorization')?.[0];
  const queryMap = new Map(req.query);

  if (authz !== undefined) {
    if (authz.startsWith('AWS ')) throw s3Errors.invalidRequest('Signature Version 2 is not supported; use AWS4-HMAC-SHA256.');
    if (!authz.startsWith('AWS4-HMAC-SHA256 ')) throw s3Errors.authHeaderMalformed('Unsupported Authorization Type');
    const fields = new Map<string, string>();
    for (const part of authz.slice('AWS4-HMAC-SHA256 '.length).split(',')) {
      const eq = part.indexOf('=');
      if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
    }
    const credText = fields.get('Credential');
    const signedText = fields.get('SignedHeaders');
    const signature = fields.get('Signature');
    if (!credText || !signedText || !signature) {
      throw s3Errors.authHeaderMalformed('The authorization header is malformed; it must contain Credential, SignedHeaders and Signature.');
    }
    const cred = parseCredential(credText, s3Errors.authHeaderMalformed);
    const amzDate = headers.get('x-amz-date')?.[0] ?? formatHttpDate(headers.get('date')?.[0]);
    const t = amzDate === undefined ? undefined : parseAmzDate(amzDate);
    if (amzDate === undefined || t === undefined) throw s3Errors.accessDenied('AWS authentication requires a valid Date or x-amz-date header');
    if (Math.abs(now - t) > MAX_CLOCK_SKEW_MS) throw s3Errors.skewed();
    const payload = payloadModeOf(headers.get('x-amz-content-sha256')?.[0], false);
    const signed = signedText.split(';').map((h) => h.trim().toLowerCase());
    if (!signed.includes('host')) throw s3Errors.authHeaderMalformed('SignedHeaders must include host.');
    const payloadHash = headers.get('x-amz-content-sha256')![0];
    return verify(req, users, init, cred, amzDate, signed, signature, headers, payloadHash, payload, false, undefined);
  }

  if (queryMap.has('X-Amz-Signature') || queryMap.has('X-Amz-Credential') || queryMap.has('X-Amz-Algorithm')) {
    const fail = s3Errors.authQueryError;
    if (queryMap.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') throw fail('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
    const credText = queryMap.get('X-Amz-Credential');
    const amzDate = queryMap.get('X-Amz-Date');
    const expiresText = queryMap.get('X-Amz-Expires');
    const signedText = queryMap.get('X-Amz-SignedHeaders');
    const signature = queryMap.get('X-Amz-Signature');
    if (!credText || !amzDate || !expiresText || !signedText || !signature) {
      throw fail('Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.');
    }
    const cred = parseCredential(credText, fail);
    const t = parseAmzDate(amzDate);
    if (t === undefined) throw fail('X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd\'T\'HHmmss\'Z\'"');
    if (!/^\d+$/.test(expiresText)) throw fail('X-Amz-Expires should be a number');
    const expires = Number(expiresText);
    if (expires > MAX_PRESIGNED_EXPIRES) throw fail('X-Amz-Expires must be less than a week (in seconds) that is 604800');
    if (t - now > MAX_CLOCK_SKEW_MS) throw s3Errors.accessDenied('Request is not valid yet');
    if (now > t + expires * 1000) throw s3Errors.expired();
    const payloadHash = queryMap.get('X-Amz-Content-Sha256') ?? headers.get('x-amz-content-sha256')?.[0] ?? 'UNSIGNED-PAYLOAD';
    const payload = payloadModeOf(payloadHash, true);
    const signed = signedText.split(';').map((h) => h.trim().toLowerCase());
    return verify(req, users, init, cred, amzDate, signed, signature, headers, payloadHash, payload, true, 'X-Amz-Signature');
  }

  return undefined;
}

function verify(
  req: SignableRequest,
  users: UserRegistry,
  init: SigV4Init,
  cred: Credential,
  amzDate: string,
  signed: string[],
  signature: string,
  headers: Map<string, string[]>,
  payloadHash: string,
  payload: PayloadMode,
  presigned: boolean,
  excludeParam: string | undefined,
): AuthResult {
  if (init.region !== undefined && cred.region !== init.region) {
    throw new S3Error('AuthorizationHeaderMalformed', 400, `The authorization header is malformed; the region '${cred.region}' is wrong; expecting '${init.region}'`, {
      Region: init.region,
    });
  }
  if (amzDate.slice(0, 8) !== cred.date) {
    throw s3Errors.authHeaderMalformed(`The authorization header is malformed; Invalid credential date "${cred.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
  }
  const user = users.get(cred.accessKey);
  if (!user) throw s3Errors.invalidAccessKeyId();
  const key = signingKey(user.secretKey, cred.date, cred.region, cred.service);
  const query = canonicalQuery(req.query, excludeParam);
  const hdrs = canonicalHeaders(headers, signed);
  const signedList = signed.join(';');
  let ok = false;
  for (const uri of canonicalUris(req.rawPath)) {
    const canonical = `${req.method}\n${uri}\n${query}\n${hdrs}\n${signedList}\n${payloadHash}`;
    const expected = signString(key, stringToSign(amzDate, cred.scope, canonical));
    if (safeEqualHex(expected, signature.toLowerCase())) ok = true;
  }
  if (!ok) throw s3Errors.signatureDoesNotMatch();
  return { user, payload, presigned, signing: { signingKey: key, amzDate, scope: cred.scope, seedSignature: signature.toLowerCase() } };
}

function formatHttpDate(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const t = Date.parse(text);
  return Number.isFinite(t) ? formatAmzDate(t) : undefined;
}

/** Signature of one aws-chunked chunk (S3 API reference, "Transferring Payload in Multiple Chunks"). */
export function chunkSignature(ctx: ChunkSigningContext, previous: string, chunkSha256Hex: string): string {
  const toSign = `AWS4-HMAC-SHA256-PAYLOAD\n${ctx.amzDate}\n${ctx.scope}\n${previous}\n${EMPTY_SHA256}\n${chunkSha256Hex}`;
  return signString(ctx.signingKey, toSign);
}

/** Signature of the trailing headers chunk ("Signature calculations for trailing headers"). */
export function trailerSignature(ctx: ChunkSigningContext, previous: string, canonicalTrailer: string): string {
  const toSign = `AWS4-HMAC-SHA256-TRAILER\n${ctx.amzDate}\n${ctx.scope}\n${previous}\n${sha256Hex(canonicalTrailer)}`;
  return signString(ctx.signingKey, toSign);
}

/**
 * Signs a request the way a SigV4 client does. Used by tests and the bench to produce requests the
 * real clients cannot (malformed bodies, skewed clocks); verification above never calls it.
 */
export function signRequest(
  req: SignableRequest & { payloadHash: string },
  cred: { accessKey: string; secretKey: string; region: string; amzDate: string; service?: string },
): { authorization: string; signature: string; scope: string; signingKey: Buffer } {
  const service = cred.service ?? 's3';
  const date = cred.amzDate.slice(0, 8);
  const scope = `${date}/${cred.region}/${service}/aws4_request`;
  const headers = headerMap(req.rawHeaders);
  const signed = [...headers.keys()].sort();
  const canonical = `${req.method}\n${canonicalUris(req.rawPath)[0]}\n${canonicalQuery(req.query)}\n${canonicalHeaders(headers, signed)}\n${signed.join(';')}\n${req.payloadHash}`;
  const key = signingKey(cred.secretKey, date, cred.region, service);
  const signature = signString(key, stringToSign(cred.amzDate, scope, canonical));
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=${cred.accessKey}/${scope}, SignedHeaders=${signed.join(';')}, Signature=${signature}`,
    signature,
    scope,
    signingKey: key,
  };
}
