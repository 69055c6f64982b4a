/**
 * The S3 semantics every ObjectStore implementation shares, as pure functions. Each one throws a
 * StoreError with the code the S3 API reference (and RFC 9110 for ranges and preconditions)
 * prescribes, so the memory store, the real store and the conformance suite agree by construction.
 * Imports only node: modules and the rest of backend/core.
 */
import { createHash } from 'node:crypto';
import { StoreError } from './errors.js';
import type { ByteRange, Conditions, ListOptions, ListResult, ObjectSummary, RangeSpec } from './object-store.js';

export const MIN_PART_SIZE = 5 * 2 ** 20;
export const MAX_PART_NUMBER = 10_000;
export const MAX_KEY_BYTES = 1024;
export const MAX_LIST_KEYS = 1000;
export const MAX_TAGS = 10;

// ---- names -----------------------------------------------------------------------------------

/**
 * S3 bucket naming rules (general purpose buckets): 3–63 characters of lower-case letters, digits,
 * '.' and '-'; starts and ends with a letter or digit; no '..', '.-' or '-.' (each label must be a
 * valid DNS label for virtual-host addressing); not an IPv4 address; none of the reserved prefixes
 * and suffixes. Front ends reserve the paths /d/ and /ui/, which are invalid anyway (too short).
 */
export function validateBucketName(name: string): void {
  const bad = (why: string): never => {
    throw new StoreError('InvalidBucketName', `invalid bucket name "${name}": ${why}`);
  };
  if (typeof name !== 'string' || name.length < 3 || name.length > 63) bad('must be 3 to 63 characters long');
  if (!/^[a-z0-9.-]+$/.test(name)) bad('only lower-case letters, digits, "." and "-" are allowed');
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) bad('must start and end with a letter or digit');
  if (name.includes('..') || name.includes('.-') || name.includes('-.')) bad('labels between dots must be non-empty and not start or end with "-"');
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) bad('must not look like an IP address');
  if (name.startsWith('xn--') || name.startsWith('sthree-')) bad('reserved prefix');
  if (name.endsWith('-s3alias') || name.endsWith('--ol-s3') || name.endsWith('--x-s3')) bad('reserved suffix');
}

/** Non-empty, at most 1024 UTF-8 bytes (KeyTooLong), no NUL and no lone surrogate (InvalidObjectName). */
export function validateKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) throw new StoreError('InvalidObjectName', 'object key must not be empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new StoreError('KeyTooLong', `object key is longer than ${MAX_KEY_BYTES} bytes in UTF-8`);
  }
  if (key.includes('\0')) throw new StoreError('InvalidObjectName', 'object key must not contain NUL');
  // A lone surrogate has no UTF-8 encoding: it could not round-trip through any protocol.
  if (/\p{Surrogate}/u.test(key)) throw new StoreError('InvalidObjectName', 'object key is not valid Unicode');
}

/**
 * Orders strings as their UTF-8 bytes, without encoding them: UTF-16 code-unit order equals UTF-8
 * byte order except that surrogates (U+D800–DFFF, i.e. code points ≥ U+10000) must sort above
 * U+E000–FFFF. Well-formed strings only (validateKey rejects lone surrogates).
 */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * The smallest byte string greater than every string that starts with `prefix` (for "seek past
 * this prefix" in a byte-ordered index, e.g. `WHERE key >= ?` on a BLOB column). undefined when no
 * such bound exists (the prefix is all 0xFF bytes, impossible for UTF-8 text) or prefix is empty.
 */
export function prefixUpperBound(prefix: string): Buffer | undefined {
  const b = Buffer.from(prefix, 'utf8');
  for (let i = b.length - 1; i >= 0; i--) {
    if (b[i] !== 0xff) {
      const out = Buffer.from(b.subarray(0, i + 1));
      out[i]++;
      return out;
    }
  }
  return undefined;
}

// ---- ranges ----------------------------------------------------------------------------------

/**
 * RFC 9110 §14.1.2: resolves a range against the object size. `bytes=a-b` with a ≥ size, a
 * suffix of 0, an inverted range, or any range on an empty object → InvalidRange (416); the end
 * is clamped to size − 1; a suffix larger than the object selects all of it.
 */
export function resolveRange(spec: RangeSpec, size: number): ByteRange {
  const bad = (why: string): never => {
    throw new StoreError('InvalidRange', `range not satisfiable: ${why} (object size ${size})`);
  };
  if (size === 0) bad('the object is empty');
  if ('suffix' in spec) {
    if (!Number.isSafeInteger(spec.suffix) || spec.suffix < 0) bad('bad suffix length');
    if (spec.suffix === 0) bad('suffix length 0');
    return { start: Math.max(0, size - spec.suffix), end: size - 1 };
  }
  if (!Number.isSafeInteger(spec.start) || spec.start < 0) bad('bad start');
  if (spec.end !== undefined && (!Number.isSafeInteger(spec.end) || spec.end < spec.start)) bad('end before start');
  if (spec.start >= size) bad('start beyond the end');
  return { start: spec.start, end: Math.min(spec.end ?? size - 1, size - 1) };
}

// ---- ETags and preconditions -----------------------------------------------------------------

/** Strips surrounding whitespace, a weak prefix `W/` and quotes: `W/"abc"` → `abc`. */
export function normalizeEtag(s: string): string {
  let t = s.trim();
  if (t.startsWith('W/')) t = t.slice(2);
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) t = t.slice(1, -1);
  return t;
}

/** true when the comma-separated ETag list (or '*') in an If-Match / If-None-Match names `etag`. */
export function etagListMatches(list: string, etag: string): boolean {
  const want = normalizeEtag(etag);
  return list.split(',').some((item) => {
    const t = item.trim();
    return t === '*' || (t !== '' && normalizeEtag(t) === want);
  });
}

/** hex MD5 of the concatenated binary part MD5s, then `-N` (what S3 returns for multipart objects). */
export function multipartEtag(partMd5s: Buffer[]): string {
  const h = createHash('md5');
  for (const m of partMd5s) h.update(m);
  return `${h.digest('hex')}-${partMd5s.length}`;
}

/** The binary MD5 behind a hex part ETag (with or without quotes); InvalidPart when it is not one. */
export function etagToMd5(etag: string): Buffer {
  const t = normalizeEtag(etag);
  if (!/^[0-9a-fA-F]{32}$/.test(t)) throw new StoreError('InvalidPart', `not a part ETag: "${etag}"`);
  return Buffer.from(t, 'hex');
}

const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);

/**
 * RFC 9110 §13.2.2 evaluation order against the current version:
 * 1. If-Match present and false → PreconditionFailed;
 * 2. else If-Unmodified-Since present and modified since → PreconditionFailed;
 * 3. If-None-Match present and matching → NotModified for reads, PreconditionFailed for writes;
 * 4. else (If-None-Match absent) If-Modified-Since present and not modified since → NotModified
 *    (reads only; a write ignores it, as RFC 9110 §13.1.3 says for methods other than GET/HEAD).
 * ETags compare ignoring quotes and W/ ('*' matches any); dates at one-second granularity, the
 * precision of HTTP dates.
 */
export function evaluateConditions(
  info: { etag: string; lastModified: Date },
  c: Conditions | undefined,
  forWrite = false,
): void {
  if (!c) return;
  if (c.ifMatch !== undefined) {
    if (!etagListMatches(c.ifMatch, info.etag)) throw new StoreError('PreconditionFailed', 'If-Match does not match');
  } else if (c.ifUnmodifiedSince !== undefined) {
    if (seconds(info.lastModified) > seconds(c.ifUnmodifiedSince)) {
      throw new StoreError('PreconditionFailed', 'modified since If-Unmodified-Since');
    }
  }
  if (c.ifNoneMatch !== undefined) {
    if (etagListMatches(c.ifNoneMatch, info.etag)) {
      throw new StoreError(forWrite ? 'PreconditionFailed' : 'NotModified', 'If-None-Match matches');
    }
  } else if (c.ifModifiedSince !== undefined && !forWrite) {
    if (seconds(info.lastModified) <= seconds(c.ifModifiedSince)) {
      throw new StoreError('NotModified', 'not modified since If-Modified-Since');
    }
  }
}

/**
 * Conditional writes (PutObject / CompleteMultipartUpload / CopyObject destination): `ifNoneMatch:
 * '*'` fails when an object exists; `ifMatch` fails when none exists or its ETag differs. Both →
 * PreconditionFailed. Call it atomically with the commit.
 */
export function evaluateWriteConditions(
  current: { etag: string } | undefined,
  opts: { ifNoneMatch?: string; ifMatch?: string } | undefined,
): void {
  if (!opts) return;
  if (opts.ifNoneMatch !== undefined && current && etagListMatches(opts.ifNoneMatch, current.etag)) {
    throw new StoreError('PreconditionFailed', 'the object already exists (If-None-Match)');
  }
  if (opts.ifMatch !== undefined && (!current || !etagListMatches(opts.ifMatch, current.etag))) {
    throw new StoreError('PreconditionFailed', 'If-Match does not match the current object');
  }
}

// ---- tags and parts --------------------------------------------------------------------------

/** S3 object tags: at most 10; key 1–128 characters, value 0–256 → else InvalidArgument. */
export function validateTags(tags: Record<string, string>): void {
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS) throw new StoreError('InvalidArgument', `at most ${MAX_TAGS} tags per object`);
  for (const [k, v] of entries) {
    if (k.length < 1 || k.length > 128) throw new StoreError('InvalidArgument', 'tag keys must be 1 to 128 characters');
    if (typeof v !== 'string' || v.length > 256) throw new StoreError('InvalidArgument', 'tag values must be at most 256 characters');
  }
}

/** 1..10000, integer → else InvalidArgument. */
export function validatePartNumber(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_PART_NUMBER) {
    throw new StoreError('InvalidArgument', `part number must be an integer from 1 to ${MAX_PART_NUMBER}`);
  }
}

/**
 * CompleteMultipartUpload checks that need no stored data: a non-empty list, strictly ascending
 * part numbers (InvalidPartOrder), valid numbers (InvalidArgument).
 */
export function validateCompletedPartOrder(parts: { partNumber: number }[]): void {
  if (parts.length === 0) throw new StoreError('InvalidPart', 'a multipart upload needs at least one part');
  let prev = 0;
  for (const p of parts) {
    validatePartNumber(p.partNumber);
    if (p.partNumber <= prev) throw new StoreError('InvalidPartOrder', 'parts must be listed in ascending order without duplicates');
    prev = p.partNumber;
  }
}

// ---- listing ---------------------------------------------------------------------------------

/** Opaque continuation token: base64url of a version tag and the last key or prefix returned. */
export function encodeContinuationToken(lastKey: string): string {
  return Buffer.from(`1\n${lastKey}`, 'utf8').toString('base64url');
}

export function decodeContinuationToken(token: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new StoreError('InvalidArgument', 'invalid continuation token');
  const text = Buffer.from(token, 'base64url').toString('utf8');
  if (!text.startsWith('1\n') || text.length < 3 || Buffer.from(text, 'utf8').toString('base64url') !== token) {
    throw new StoreError('InvalidArgument', 'invalid continuation token');
  }
  return text.slice(2);
}

/** maxKeys: undefined → 1000; negative or not an integer → InvalidArgument; > 1000 → 1000. */
export function clampMaxKeys(maxKeys: number | undefined): number {
  if (maxKeys === undefined) return MAX_LIST_KEYS;
  if (!Number.isInteger(maxKeys) || maxKeys < 0) throw new StoreError('InvalidArgument', 'max-keys must be a non-negative integer');
  return Math.min(maxKeys, MAX_LIST_KEYS);
}

/**
 * Where a KeyScan starts: at the first key that is ≥ `prefix` and strictly > `after`, or (when
 * `pastPrefix` is set) greater than every key starting with `pastPrefix` (seek to
 * prefixUpperBound). Only keys starting with `prefix` are wanted: the scan may stop at the first
 * key that does not. Yielding extra keys is harmless (listObjectsPage filters), skipping is not.
 */
export interface ScanFrom {
  prefix: string;
  after?: string;
  pastPrefix?: string;
}

/** Yields the summaries of a bucket's keys in UTF-8 byte order, from the given point on. */
export type KeyScan = (from: ScanFrom) => AsyncIterable<ObjectSummary> | Iterable<ObjectSummary>;

/**
 * One page of ListObjects(V2) over any byte-ordered key source. Semantics shared by both stores:
 * - keys start with `prefix`; with a delimiter, keys whose remainder after the prefix contains it
 *   roll up into one common prefix (prefix + remainder up to and including the delimiter), and the
 *   scan seeks past the rest of that prefix instead of walking it;
 * - the page starts after the continuation token's key (else after `startAfter`): keys > it, and a
 *   common prefix only when it sorts > it, so resuming after a returned prefix never repeats it;
 * - objects and common prefixes together count against maxKeys; isTruncated is true only when
 *   another entry actually follows; the token encodes the last entry returned.
 */
export async function listObjectsPage(scan: KeyScan, options: ListOptions = {}): Promise<ListResult> {
  const prefix = options.prefix ?? '';
  const delimiter = options.delimiter || undefined;
  const maxKeys = clampMaxKeys(options.maxKeys);
  const after = options.continuationToken !== undefined ? decodeContinuationToken(options.continuationToken) : options.startAfter || undefined;

  const objects: ObjectSummary[] = [];
  const commonPrefixes: string[] = [];
  let lastReturned: string | undefined;
  let isTruncated = false;
  let from: ScanFrom = { prefix, after };

  restart: while (true) {
    for await (const obj of scan(from)) {
      if (!obj.key.startsWith(prefix)) {
        if (compareKeys(obj.key, prefix) > 0) break restart;
        continue;
      }
      if (after !== undefined && compareKeys(obj.key, after) <= 0) continue;
      let entry: string = obj.key;
      let isPrefix = false;
      if (delimiter !== undefined) {
        const i = obj.key.indexOf(delimiter, prefix.length);
        if (i >= 0) {
          entry = obj.key.slice(0, i + delimiter.length);
          isPrefix = true;
        }
      }
      if (isPrefix && after !== undefined && compareKeys(entry, after) <= 0) {
        from = { prefix, pastPrefix: entry };
        continue restart;
      }
      if (objects.length + commonPrefixes.length >= maxKeys) {
        isTruncated = maxKeys > 0;
        break restart;
      }
      lastReturned = entry;
      if (isPrefix) {
        commonPrefixes.push(entry);
        from = { prefix, pastPrefix: entry };
        continue restart;
      }
      objects.push(obj);
    }
    break;
  }
  const result: ListResult = { objects, commonPrefixes, isTruncated };
  if (lastReturned !== undefined) result.lastReturned = lastReturned;
  if (isTruncated && lastReturned !== undefined) result.nextContinuationToken = encodeContinuationToken(lastReturned);
  return result;
}
