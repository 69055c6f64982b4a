/**
 * The reference ObjectStore: everything in memory, for tests and as the executable definition of
 * the contract in backend/core/object-store.ts (the conformance suite runs against it first).
 * It keeps whole objects as Buffers, which the contract forbids for real stores, but it still
 * consumes bodies as streams and serves them as Readable streams so front ends exercise the same
 * code paths as with the real store. All S3 rules come from backend/core/s3-rules.ts.
 *
 * Atomicity: every mutation checks its preconditions and commits without an `await` in between,
 * so conditional writes and "bucket still exists" checks are atomic on the event loop.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { StoreError } from '../core/errors.js';
import type {
  Body,
  BucketInfo,
  ByteRange,
  ChecksumValue,
  CompletedPart,
  CopyOptions,
  CopySource,
  GetOptions,
  GetResult,
  ListOptions,
  ListPartsResult,
  ListResult,
  ListUploadsOptions,
  ListUploadsResult,
  MultipartUpload,
  ObjectInfo,
  ObjectStore,
  ObjectSummary,
  PartInfo,
  PartSummary,
  PutOptions,
  TenantStores,
  TenantUser,
} from '../core/object-store.js';
import {
  clampMaxKeys,
  compareKeys,
  etagToMd5,
  evaluateConditions,
  evaluateWriteConditions,
  listObjectsPage,
  MIN_PART_SIZE,
  multipartEtag,
  normalizeEtag,
  resolveRange,
  validateBucketName,
  validateCompletedPartOrder,
  validateKey,
  validatePartNumber,
  validateTags,
  type ScanFrom,
} from '../core/s3-rules.js';

export interface MemoryObjectStoreInit {
  /** minimum size of every part but the last at completion (default 5 MiB, as S3) */
  minPartSize?: number;
  /** largest object a single put or part may carry (EntityTooLarge); default 5 TiB */
  maxObjectSize?: number;
}

interface StoredObject {
  info: ObjectInfo;
  data: Buffer;
}

interface StoredPart {
  summary: PartSummary;
  lastModified: Date;
  data: Buffer;
}

interface Upload {
  key: string;
  uploadId: string;
  initiated: Date;
  options: PutOptions;
  parts: Map<number, StoredPart>;
}

interface Bucket {
  info: BucketInfo;
  objects: Map<string, StoredObject>;
  /** keys of `objects` in UTF-8 byte order */
  sorted: string[];
  uploads: Map<string, Upload>;
}

const STREAM_SLICE = 64 * 1024;

function bodyStream(data: Buffer): Readable {
  function* slices(): Generator<Buffer> {
    for (let i = 0; i < data.length; i += STREAM_SLICE) yield data.subarray(i, Math.min(i + STREAM_SLICE, data.length));
  }
  return Readable.from(slices(), { objectMode: false });
}

/** Reads a body fully, checking Content-MD5 and the announced length. */
async function consume(
  body: Body,
  opts: { contentMd5?: Buffer; expectedSize?: number },
  maxSize: number,
): Promise<{ data: Buffer; md5: Buffer }> {
  const hash = createHash('md5');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxSize) throw new StoreError('EntityTooLarge', `body larger than ${maxSize} bytes`);
    if (opts.expectedSize !== undefined && size > opts.expectedSize) {
      throw new StoreError('InvalidArgument', `body longer than the announced ${opts.expectedSize} bytes`);
    }
    hash.update(chunk);
    chunks.push(Buffer.from(chunk));
  }
  if (opts.expectedSize !== undefined && size < opts.expectedSize) {
    throw new StoreError('IncompleteBody', `body ended after ${size} of ${opts.expectedSize} bytes`);
  }
  const md5 = hash.digest();
  if (opts.contentMd5 !== undefined && !md5.equals(opts.contentMd5)) {
    throw new StoreError('BadDigest', 'the Content-MD5 does not match the body');
  }
  return { data: Buffer.concat(chunks, size), md5 };
}

function lowerKeys(meta: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta ?? {})) out[k.toLowerCase()] = v;
  return out;
}

function cloneInfo(info: ObjectInfo): ObjectInfo {
  return structuredClone(info);
}

function summary(o: StoredObject): ObjectSummary {
  return { key: o.info.key, size: o.info.size, etag: o.info.etag, lastModified: new Date(o.info.lastModified) };
}

/** index of the first element ≥ key (byte order) */
function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(sorted[mid], key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

let uploadCounter = 0;

export class MemoryObjectStore implements ObjectStore {
  readonly #buckets = new Map<string, Bucket>();
  readonly #minPartSize: number;
  readonly #maxObjectSize: number;

  constructor(init: MemoryObjectStoreInit = {}) {
    this.#minPartSize = init.minPartSize ?? MIN_PART_SIZE;
    this.#maxObjectSize = init.maxObjectSize ?? 5 * 2 ** 40;
  }

  // ---- buckets -------------------------------------------------------------------------------

  async createBucket(bucket: string): Promise<void> {
    validateBucketName(bucket);
    if (this.#buckets.has(bucket)) throw new StoreError('BucketAlreadyOwnedByYou', `bucket "${bucket}" already exists`);
    this.#buckets.set(bucket, { info: { name: bucket, created: new Date() }, objects: new Map(), sorted: [], uploads: new Map() });
  }

  async headBucket(bucket: string): Promise<BucketInfo> {
    const b = this.#bucket(bucket);
    return { name: b.info.name, created: new Date(b.info.created) };
  }

  async listBuckets(): Promise<BucketInfo[]> {
    return [...this.#buckets.values()]
      .map((b) => ({ name: b.info.name, created: new Date(b.info.created) }))
      .sort((a, b) => compareKeys(a.name, b.name));
  }

  async deleteBucket(bucket: string): Promise<void> {
    const b = this.#bucket(bucket);
    if (b.objects.size > 0 || b.uploads.size > 0) {
      throw new StoreError('BucketNotEmpty', `bucket "${bucket}" holds objects or multipart uploads in progress`);
    }
    this.#buckets.delete(bucket);
  }

  // ---- objects -------------------------------------------------------------------------------

  async putObject(bucket: string, key: string, body: Body, options: PutOptions = {}): Promise<ObjectInfo> {
    this.#bucket(bucket);
    validateKey(key);
    if (options.tags) validateTags(options.tags);
    const { data, md5 } = await consume(body, options, this.#maxObjectSize);
    const b = this.#bucket(bucket);
    evaluateWriteConditions(b.objects.get(key)?.info, options);
    const info: ObjectInfo = {
      bucket,
      key,
      size: data.length,
      etag: md5.toString('hex'),
      lastModified: new Date(),
      headers: { ...options.headers },
      userMetadata: lowerKeys(options.userMetadata),
      tags: { ...options.tags },
    };
    if (options.checksum) info.checksum = { ...options.checksum };
    this.#store(b, { info, data });
    return cloneInfo(info);
  }

  async getObject(bucket: string, key: string, options: GetOptions = {}): Promise<GetResult> {
    const o = this.#object(bucket, key);
    const { info, data } = o;
    evaluateConditions(info, options.conditions);
    if (options.range !== undefined && options.partNumber !== undefined) {
      throw new StoreError('InvalidArgument', 'a range and a part number cannot be combined');
    }
    let range: ByteRange | undefined;
    if (options.partNumber !== undefined) range = this.#partRange(o, options.partNumber);
    else if (options.range !== undefined) range = resolveRange(options.range, info.size);
    const bytes = range ? data.subarray(range.start, range.end + 1) : data;
    const result: GetResult = { info: cloneInfo(info), body: bodyStream(bytes), contentLength: bytes.length };
    if (range) result.range = range;
    return result;
  }

  async headObject(bucket: string, key: string, options: Omit<GetOptions, 'range'> = {}): Promise<ObjectInfo> {
    const o = this.#object(bucket, key);
    evaluateConditions(o.info, options.conditions);
    if (options.partNumber !== undefined) this.#partRange(o, options.partNumber);
    return cloneInfo(o.info);
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    const b = this.#bucket(bucket);
    this.#remove(b, key);
  }

  async copyObject(source: CopySource, bucket: string, key: string, options: CopyOptions = {}): Promise<ObjectInfo> {
    const src = this.#object(source.bucket, source.key);
    this.#sourceConditions(src.info, source.conditions);
    const b = this.#bucket(bucket);
    validateKey(key);
    const replaceMeta = options.metadataDirective === 'REPLACE';
    const replaceTags = options.taggingDirective === 'REPLACE';
    if (replaceTags && options.tags) validateTags(options.tags);
    evaluateWriteConditions(b.objects.get(key)?.info, { ifNoneMatch: options.ifNoneMatch });
    const s = src.info;
    const info: ObjectInfo = {
      bucket,
      key,
      size: s.size,
      etag: s.etag,
      lastModified: new Date(),
      headers: replaceMeta ? { ...options.headers } : { ...s.headers },
      userMetadata: replaceMeta ? lowerKeys(options.userMetadata) : { ...s.userMetadata },
      tags: replaceTags ? { ...options.tags } : { ...s.tags },
    };
    if (s.checksum) info.checksum = { ...s.checksum };
    if (s.parts) info.parts = s.parts.map((p) => ({ ...p }));
    this.#store(b, { info, data: src.data });
    return cloneInfo(info);
  }

  async renameObject(fromBucket: string, fromKey: string, toBucket: string, toKey: string): Promise<void> {
    const src = this.#object(fromBucket, fromKey);
    const to = this.#bucket(toBucket);
    validateKey(toKey);
    if (fromBucket === toBucket && fromKey === toKey) return;
    this.#remove(this.#bucket(fromBucket), fromKey);
    this.#store(to, { info: { ...src.info, bucket: toBucket, key: toKey }, data: src.data });
  }

  async renamePrefix(fromBucket: string, fromPrefix: string, toBucket: string, toPrefix: string): Promise<number> {
    const from = this.#bucket(fromBucket);
    const to = this.#bucket(toBucket);
    if (fromBucket === toBucket && fromPrefix === toPrefix) return 0;
    const keys = from.sorted.slice(lowerBound(from.sorted, fromPrefix)).filter((k) => k.startsWith(fromPrefix));
    const moves = keys.map((k) => ({ from: k, to: toPrefix + k.slice(fromPrefix.length) }));
    // Validate every target before moving anything: the move is all or nothing.
    for (const m of moves) validateKey(m.to);
    const objects = moves.map((m) => from.objects.get(m.from)!);
    for (const m of moves) this.#remove(from, m.from);
    moves.forEach((m, i) => this.#store(to, { info: { ...objects[i].info, bucket: toBucket, key: m.to }, data: objects[i].data }));
    return moves.length;
  }

  async listObjects(bucket: string, options: ListOptions = {}): Promise<ListResult> {
    const b = this.#bucket(bucket);
    const scan = function* (from: ScanFrom): Generator<ObjectSummary> {
      let i: number;
      if (from.pastPrefix !== undefined) {
        i = lowerBound(b.sorted, from.pastPrefix);
        while (i < b.sorted.length && b.sorted[i].startsWith(from.pastPrefix)) i++;
      } else {
        i = lowerBound(b.sorted, from.prefix);
        if (from.after !== undefined) {
          const j = lowerBound(b.sorted, from.after);
          i = Math.max(i, b.sorted[j] === from.after ? j + 1 : j);
        }
      }
      for (; i < b.sorted.length; i++) {
        const key = b.sorted[i];
        if (!key.startsWith(from.prefix)) return;
        yield summary(b.objects.get(key)!);
      }
    };
    return listObjectsPage(scan, options);
  }

  async putObjectTagging(bucket: string, key: string, tags: Record<string, string>): Promise<void> {
    const o = this.#object(bucket, key);
    validateTags(tags);
    o.info.tags = { ...tags };
  }

  // ---- multipart -----------------------------------------------------------------------------

  async createMultipartUpload(bucket: string, key: string, options: PutOptions = {}): Promise<MultipartUpload> {
    const b = this.#bucket(bucket);
    validateKey(key);
    if (options.tags) validateTags(options.tags);
    // Upload ids sort in creation order, so listing by (key, uploadId) is listing by (key, initiated).
    const uploadId = `${(++uploadCounter).toString(36).padStart(8, '0')}${randomBytes(12).toString('hex')}`;
    const upload: Upload = {
      key,
      uploadId,
      initiated: new Date(),
      options: { headers: { ...options.headers }, userMetadata: lowerKeys(options.userMetadata), tags: { ...options.tags }, checksum: options.checksum },
      parts: new Map(),
    };
    b.uploads.set(uploadId, upload);
    return { key, uploadId, initiated: new Date(upload.initiated) };
  }

  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Body,
    options: Pick<PutOptions, 'contentMd5' | 'expectedSize' | 'checksum'> = {},
  ): Promise<PartSummary> {
    this.#upload(bucket, key, uploadId);
    validatePartNumber(partNumber);
    const { data, md5 } = await consume(body, options, this.#maxObjectSize);
    const upload = this.#upload(bucket, key, uploadId);
    const part: StoredPart = { summary: { partNumber, size: data.length, etag: md5.toString('hex') }, lastModified: new Date(), data };
    if (options.checksum) part.summary.checksum = { ...options.checksum };
    upload.parts.set(partNumber, part);
    return { ...part.summary };
  }

  async uploadPartCopy(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    source: CopySource & { range?: ByteRange },
  ): Promise<PartInfo> {
    this.#upload(bucket, key, uploadId);
    validatePartNumber(partNumber);
    const src = this.#object(source.bucket, source.key);
    this.#sourceConditions(src.info, source.conditions);
    let data = src.data;
    if (source.range) {
      const { start, end } = source.range;
      // x-amz-copy-source-range must lie inside the source (S3 answers InvalidRange otherwise).
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= src.info.size) {
        throw new StoreError('InvalidRange', 'copy source range outside the source object');
      }
      data = src.data.subarray(start, end + 1);
    }
    const upload = this.#upload(bucket, key, uploadId);
    const etag = createHash('md5').update(data).digest('hex');
    const part: StoredPart = { summary: { partNumber, size: data.length, etag }, lastModified: new Date(), data };
    upload.parts.set(partNumber, part);
    return { ...part.summary, lastModified: new Date(part.lastModified) };
  }

  async listParts(
    bucket: string,
    key: string,
    uploadId: string,
    options: { partNumberMarker?: number; maxParts?: number } = {},
  ): Promise<ListPartsResult> {
    const upload = this.#upload(bucket, key, uploadId);
    const max = clampMaxKeys(options.maxParts);
    const marker = options.partNumberMarker ?? 0;
    const all = [...upload.parts.values()].filter((p) => p.summary.partNumber > marker).sort((a, b) => a.summary.partNumber - b.summary.partNumber);
    const page = all.slice(0, max);
    const result: ListPartsResult = {
      parts: page.map((p) => ({ ...p.summary, lastModified: new Date(p.lastModified) })),
      isTruncated: all.length > page.length,
    };
    if (result.isTruncated && page.length > 0) result.nextPartNumberMarker = page[page.length - 1].summary.partNumber;
    return result;
  }

  async completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: CompletedPart[],
    options: Pick<PutOptions, 'ifNoneMatch' | 'ifMatch' | 'checksum'> = {},
  ): Promise<ObjectInfo> {
    const b = this.#bucket(bucket);
    const upload = this.#upload(bucket, key, uploadId);
    validateCompletedPartOrder(parts);
    const chosen: StoredPart[] = [];
    for (const p of parts) {
      const stored = upload.parts.get(p.partNumber);
      if (!stored || normalizeEtag(p.etag) !== stored.summary.etag) {
        throw new StoreError('InvalidPart', `part ${p.partNumber} was not uploaded or its ETag does not match`);
      }
      chosen.push(stored);
    }
    chosen.forEach((p, i) => {
      if (i < chosen.length - 1 && p.data.length < this.#minPartSize) {
        throw new StoreError('EntityTooSmall', `part ${p.summary.partNumber} is smaller than the minimum part size ${this.#minPartSize}`);
      }
    });
    evaluateWriteConditions(b.objects.get(key)?.info, options);
    const data = Buffer.concat(chosen.map((p) => p.data));
    if (data.length > this.#maxObjectSize) throw new StoreError('EntityTooLarge', `object larger than ${this.#maxObjectSize} bytes`);
    const info: ObjectInfo = {
      bucket,
      key,
      size: data.length,
      etag: multipartEtag(chosen.map((p) => etagToMd5(p.summary.etag))),
      lastModified: new Date(),
      headers: { ...upload.options.headers },
      userMetadata: { ...upload.options.userMetadata },
      tags: { ...upload.options.tags },
      parts: chosen.map((p) => ({ ...p.summary })),
    };
    const checksum: ChecksumValue | undefined = options.checksum ?? upload.options.checksum;
    if (checksum) info.checksum = { ...checksum };
    b.uploads.delete(uploadId);
    this.#store(b, { info, data });
    return cloneInfo(info);
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    this.#upload(bucket, key, uploadId);
    this.#bucket(bucket).uploads.delete(uploadId);
  }

  async listMultipartUploads(bucket: string, options: ListUploadsOptions = {}): Promise<ListUploadsResult> {
    const b = this.#bucket(bucket);
    const prefix = options.prefix ?? '';
    const delimiter = options.delimiter || undefined;
    const max = clampMaxKeys(options.maxUploads);
    const keyMarker = options.keyMarker || undefined;
    const idMarker = keyMarker !== undefined ? options.uploadIdMarker || undefined : undefined;
    const all = [...b.uploads.values()]
      .filter((u) => u.key.startsWith(prefix))
      .filter((u) => {
        if (keyMarker === undefined) return true;
        const c = compareKeys(u.key, keyMarker);
        // S3: with an upload-id-marker, uploads of the marker key itself whose id sorts after it follow.
        return c > 0 || (c === 0 && idMarker !== undefined && u.uploadId > idMarker);
      })
      .sort((x, y) => compareKeys(x.key, y.key) || (x.uploadId < y.uploadId ? -1 : x.uploadId > y.uploadId ? 1 : 0));
    const uploads: MultipartUpload[] = [];
    const commonPrefixes: string[] = [];
    let isTruncated = false;
    let last: { key: string; uploadId?: string } | undefined;
    for (const u of all) {
      let cp: string | undefined;
      if (delimiter !== undefined) {
        const i = u.key.indexOf(delimiter, prefix.length);
        if (i >= 0) cp = u.key.slice(0, i + delimiter.length);
      }
      if (cp !== undefined && (commonPrefixes[commonPrefixes.length - 1] === cp || (keyMarker !== undefined && compareKeys(cp, keyMarker) <= 0))) continue;
      if (uploads.length + commonPrefixes.length >= max) {
        isTruncated = max > 0;
        break;
      }
      if (cp !== undefined) {
        commonPrefixes.push(cp);
        last = { key: cp };
      } else {
        uploads.push({ key: u.key, uploadId: u.uploadId, initiated: new Date(u.initiated) });
        last = { key: u.key, uploadId: u.uploadId };
      }
    }
    const result: ListUploadsResult = { uploads, commonPrefixes, isTruncated };
    if (isTruncated && last) {
      result.nextKeyMarker = last.key;
      if (last.uploadId !== undefined) result.nextUploadIdMarker = last.uploadId;
    }
    return result;
  }

  // ---- internals -----------------------------------------------------------------------------

  #bucket(name: string): Bucket {
    const b = this.#buckets.get(name);
    if (!b) throw new StoreError('NoSuchBucket', `no bucket "${name}"`);
    return b;
  }

  #object(bucket: string, key: string): StoredObject {
    const o = this.#bucket(bucket).objects.get(key);
    if (!o) throw new StoreError('NoSuchKey', `no object "${key}" in "${bucket}"`);
    return o;
  }

  #upload(bucket: string, key: string, uploadId: string): Upload {
    const u = this.#bucket(bucket).uploads.get(uploadId);
    if (!u || u.key !== key) throw new StoreError('NoSuchUpload', `no multipart upload "${uploadId}" for "${key}"`);
    return u;
  }

  /** x-amz-copy-source-if-*: every failure is 412 for a copy, including the "not modified" ones. */
  #sourceConditions(info: ObjectInfo, conditions: CopySource['conditions']): void {
    evaluateConditions(info, conditions, true);
    if (conditions?.ifModifiedSince !== undefined && conditions.ifNoneMatch === undefined) {
      if (Math.floor(info.lastModified.getTime() / 1000) <= Math.floor(conditions.ifModifiedSince.getTime() / 1000)) {
        throw new StoreError('PreconditionFailed', 'copy source not modified since x-amz-copy-source-if-modified-since');
      }
    }
  }

  #partRange(o: StoredObject, partNumber: number): ByteRange {
    validatePartNumber(partNumber);
    const parts = o.info.parts ?? [{ partNumber: 1, size: o.info.size, etag: o.info.etag }];
    if (partNumber > parts.length) throw new StoreError('InvalidRange', `the object has ${parts.length} part(s)`);
    let start = 0;
    for (let i = 0; i < partNumber - 1; i++) start += parts[i].size;
    const size = parts[partNumber - 1].size;
    if (size === 0) throw new StoreError('InvalidRange', 'the part is empty');
    return { start, end: start + size - 1 };
  }

  #store(b: Bucket, o: StoredObject): void {
    if (!b.objects.has(o.info.key)) b.sorted.splice(lowerBound(b.sorted, o.info.key), 0, o.info.key);
    b.objects.set(o.info.key, o);
  }

  #remove(b: Bucket, key: string): void {
    if (!b.objects.delete(key)) return;
    const i = lowerBound(b.sorted, key);
    if (b.sorted[i] === key) b.sorted.splice(i, 1);
  }
}

export class MemoryTenantStores implements TenantStores {
  readonly #stores = new Map<string, MemoryObjectStore>();
  readonly #init: MemoryObjectStoreInit;

  constructor(init: MemoryObjectStoreInit = {}) {
    this.#init = init;
  }

  async open(user: TenantUser): Promise<MemoryObjectStore> {
    let store = this.#stores.get(user.accessKey);
    if (!store) {
      store = new MemoryObjectStore(this.#init);
      this.#stores.set(user.accessKey, store);
    }
    return store;
  }

  async capacity(): Promise<{ total: number; free: number }> {
    return { total: 2 ** 50, free: 2 ** 50 };
  }
}
