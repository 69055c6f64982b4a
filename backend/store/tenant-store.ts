/**
 * The ObjectStore of one tenant over the metadata index and the chunk pipeline. Obtained from
 * PeerStore.open(user); holds the tenant's derived keys (in memory only).
 *
 * Atomicity: every mutation ends in ONE index transaction that re-checks its preconditions
 * (bucket still there, conditional-write ETags) before committing, so a put becomes visible
 * atomically and a failed one leaves nothing visible. Chunk data is written (and fsync'd by the
 * fragment stores) before that transaction; a crash in between leaves only orphan fragments,
 * which collectGarbage removes.
 */
import { randomBytes } from 'node:crypto';
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
  StandardHeaders,
} from '../core/object-store.js';
import {
  clampMaxKeys,
  compareKeys,
  etagToMd5,
  evaluateConditions,
  evaluateWriteConditions,
  listObjectsPage,
  multipartEtag,
  normalizeEtag,
  prefixUpperBound,
  resolveRange,
  validateBucketName,
  validateCompletedPartOrder,
  validateKey,
  validatePartNumber,
  validateTags,
  type ScanFrom,
} from '../core/s3-rules.js';
import { openBlob, sealBlob } from '../crypto/seal.js';
import type { TenantKeys } from '../crypto/keys.js';
import type { BucketRow, ChunkEntry, MetaIndex, UploadRow, VersionRow } from '../index/meta-index.js';
import { ChunkIo, type ChunkHandle, type TenantChunks } from './chunk-io.js';
import { cutChunks, TaskWindow, type ChunkerFactory } from './chunking.js';
import { assembleParts, ingestPart, removeSpool, type SeamInfo } from './multipart.js';
import type { Pins } from './pins.js';
import { CHUNK_BYTES_IN_FLIGHT, chunkBuffers, type CpuPool } from './cpu-pool.js';
import { StreamHasher } from './stream-hasher.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../metrics/metrics.js';

/** What every tenant store of one PeerStore shares. */
export interface StoreContext {
  index: MetaIndex;
  io: ChunkIo;
  pins: Pins;
  logger: Logger;
  spoolDir: string;
  newChunker: ChunkerFactory;
  /** worker pool for MD5 (and the codecs); undefined = the process-wide shared pool */
  pool: CpuPool | undefined;
  avgChunkSize: number;
  inlineThreshold: number;
  minPartSize: number;
  maxConcurrentChunks: number;
  readAhead: number;
  maxObjectSize: number;
  /** chunks held back at the start of each multipart part (multipart.ts) */
  headChunks: number;
  /** optional recording: the `index` stage (each commit transaction), inline objects' dedup bytes */
  metrics?: Metrics;
}

export interface TenantContext {
  id: number;
  keys: TenantKeys;
  chunks: TenantChunks;
}

/** What the index keeps as a version's `meta` JSON. */
interface StoredMeta {
  h?: StandardHeaders;
  m?: Record<string, string>;
  t?: Record<string, string>;
  c?: ChecksumValue;
  p?: PartSummary[];
}

const INLINE_AAD = Buffer.from('peerstor/inline-object/v1', 'utf8');
const PAGE = 64;
/** bytes waiting for the MD5 worker before the put stops pulling from the body */
export const HASH_BACKLOG = 8 * 2 ** 20;

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');

function lowerKeys(meta: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(meta ?? {})) out[k.toLowerCase()] = v;
  return out;
}

function toBuffer(piece: Uint8Array): Buffer {
  return Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
}

interface Ingested {
  size: number;
  md5: Buffer;
  inline?: Buffer;
  chunks: { offset: number; handle: ChunkHandle }[];
}

export class TenantObjectStore implements ObjectStore {
  readonly #ctx: StoreContext;
  readonly #t: TenantContext;

  constructor(ctx: StoreContext, tenant: TenantContext) {
    this.#ctx = ctx;
    this.#t = tenant;
  }

  // ---- buckets -------------------------------------------------------------------------------

  async createBucket(bucket: string): Promise<void> {
    validateBucketName(bucket);
    if (!this.#ctx.index.createBucket(this.#t.id, bucket, Date.now())) {
      throw new StoreError('BucketAlreadyOwnedByYou', `bucket "${bucket}" already exists`);
    }
  }

  async headBucket(bucket: string): Promise<BucketInfo> {
    const b = this.#bucket(bucket);
    return { name: b.name, created: new Date(b.created) };
  }

  async listBuckets(): Promise<BucketInfo[]> {
    return this.#ctx.index.buckets(this.#t.id).map((b) => ({ name: b.name, created: new Date(b.created) }));
  }

  async deleteBucket(bucket: string): Promise<void> {
    const b = this.#bucket(bucket);
    this.#ctx.index.deleteBucket(b.id);
  }

  // ---- objects -------------------------------------------------------------------------------

  async putObject(bucket: string, key: string, body: Body, options: PutOptions = {}): Promise<ObjectInfo> {
    const b = this.#bucket(bucket);
    validateKey(key);
    if (options.tags) validateTags(options.tags);
    const keyBuf = utf8(key);
    // Fail early when the condition already fails; it is checked again atomically at commit.
    evaluateWriteConditions(this.#ctx.index.live(b.id, keyBuf), options);
    const meta: StoredMeta = { h: { ...options.headers }, m: lowerKeys(options.userMetadata), t: { ...options.tags } };
    const { index } = this.#ctx;
    let versionId: number | undefined;
    const dropUploading = (): void => {
      if (versionId !== undefined && index.version(versionId)?.state === 0) index.dropVersion(versionId, Date.now());
    };
    let got: Ingested;
    try {
      got = await this.#ingest(body, options, () => (versionId = index.beginVersion(b.id, keyBuf, Date.now())));
    } catch (err) {
      dropUploading();
      throw err;
    }
    // a trailing checksum is only known once the body has ended (PutOptions.checksum contract)
    if (options.checksum) meta.c = { ...options.checksum };
    try {
      const now = Date.now();
      const t0 = this.#ctx.metrics ? process.hrtime.bigint() : 0n;
      index.tx(() => {
        this.#checkBucket(b);
        evaluateWriteConditions(index.live(b.id, keyBuf), options);
        index.commitVersion({
          id: versionId,
          bucket: b.id,
          key: keyBuf,
          size: got.size,
          etag: got.md5.toString('hex'),
          meta: JSON.stringify(meta),
          inlineData: got.inline ? sealBlob(this.#t.keys.metadataKey, got.inline, INLINE_AAD) : null,
          chunks: got.chunks.map((c) => ({ offset: c.offset, chunk: this.#rowOf(c.handle) })),
          now,
        });
      });
      this.#observeCommit(t0, got.size);
      // inline objects never reach the chunk writer (which counts dedup): all their bytes are new
      if (got.inline) this.#ctx.metrics?.addDedup(got.size, got.size);
      return this.#info(bucket, key, index.live(b.id, keyBuf)!);
    } catch (err) {
      dropUploading();
      throw err;
    } finally {
      for (const c of got.chunks) c.handle.release();
    }
  }

  async getObject(bucket: string, key: string, options: GetOptions = {}): Promise<GetResult> {
    const b = this.#bucket(bucket);
    const v = this.#live(b, key);
    const info = this.#info(bucket, key, v);
    evaluateConditions(info, options.conditions);
    if (options.range !== undefined && options.partNumber !== undefined) {
      throw new StoreError('InvalidArgument', 'a range and a part number cannot be combined');
    }
    let range: ByteRange | undefined;
    if (options.partNumber !== undefined) range = partRange(info, options.partNumber);
    else if (options.range !== undefined) range = resolveRange(options.range, info.size);
    const start = range?.start ?? 0;
    const end = range?.end ?? info.size - 1;
    const length = Math.max(0, end - start + 1);
    let body: Readable;
    if (v.inlineData) {
      const data = openBlob(this.#t.keys.metadataKey, v.inlineData, INLINE_AAD);
      body = Readable.from(length > 0 ? [data.subarray(start, end + 1)] : [], { objectMode: false });
    } else {
      // A get that must fail fails here, before any header goes out (S3 503), instead of breaking a
      // 200 response after its first bytes: the range's chunks (its first 1024, see ChunkIo) are
      // checked against the peers believed live (index and memory only), then the first chunk is
      // read, which also catches holders believed live that are not. A holder lost after this point
      // still ends the body with an error (#stream throws), never with wrong or missing bytes.
      if (length > 0) this.#ctx.io.checkReadable(this.#t.chunks, v.id, start, end);
      const rest = this.#stream(v.id, start, end);
      const first = length > 0 ? await rest.next() : undefined;
      body = Readable.from(prepend(first, rest), { objectMode: false });
    }
    const result: GetResult = { info, body, contentLength: length };
    if (range) result.range = range;
    return result;
  }

  async headObject(bucket: string, key: string, options: Omit<GetOptions, 'range'> = {}): Promise<ObjectInfo> {
    const b = this.#bucket(bucket);
    const info = this.#info(bucket, key, this.#live(b, key));
    evaluateConditions(info, options.conditions);
    if (options.partNumber !== undefined) partRange(info, options.partNumber);
    return info;
  }

  async deleteObject(bucket: string, key: string): Promise<void> {
    const b = this.#bucket(bucket);
    const { index } = this.#ctx;
    index.tx(() => {
      const v = index.live(b.id, utf8(key));
      if (v) index.dropVersion(v.id, Date.now());
    });
  }

  async copyObject(source: CopySource, bucket: string, key: string, options: CopyOptions = {}): Promise<ObjectInfo> {
    const { index } = this.#ctx;
    const sb = this.#bucket(source.bucket);
    const src = this.#live(sb, source.key);
    const srcInfo = this.#info(source.bucket, source.key, src);
    sourceConditions(srcInfo, source.conditions);
    const b = this.#bucket(bucket);
    validateKey(key);
    const replaceMeta = options.metadataDirective === 'REPLACE';
    const replaceTags = options.taggingDirective === 'REPLACE';
    if (replaceTags && options.tags) validateTags(options.tags);
    const keyBuf = utf8(key);
    index.tx(() => {
      this.#checkBucket(b);
      const now = Date.now();
      const cur = index.live(sb.id, utf8(source.key));
      if (!cur || cur.id !== src.id) throw new StoreError('NoSuchKey', `object "${source.key}" changed during the copy`);
      evaluateWriteConditions(index.live(b.id, keyBuf), { ifNoneMatch: options.ifNoneMatch });
      const m = JSON.parse(src.meta) as StoredMeta;
      const meta: StoredMeta = {
        h: replaceMeta ? { ...options.headers } : m.h,
        m: replaceMeta ? lowerKeys(options.userMetadata) : m.m,
        t: replaceTags ? { ...options.tags } : m.t,
      };
      if (m.c) meta.c = m.c;
      if (m.p) meta.p = m.p;
      const chunks = index.versionChunks(src.id, 0, Number.MAX_SAFE_INTEGER).map((c) => ({ offset: c.offset, chunk: c.id }));
      index.commitVersion({
        bucket: b.id,
        key: keyBuf,
        size: src.size,
        etag: src.etag,
        meta: JSON.stringify(meta),
        inlineData: src.inlineData,
        chunks,
        now,
      });
    });
    return this.#info(bucket, key, index.live(b.id, keyBuf)!);
  }

  async renameObject(fromBucket: string, fromKey: string, toBucket: string, toKey: string): Promise<void> {
    const { index } = this.#ctx;
    const fb = this.#bucket(fromBucket);
    const src = this.#live(fb, fromKey);
    const tb = this.#bucket(toBucket);
    validateKey(toKey);
    if (fromBucket === toBucket && fromKey === toKey) return;
    index.tx(() => {
      this.#checkBucket(tb);
      const cur = index.live(fb.id, utf8(fromKey));
      if (!cur || cur.id !== src.id) throw new StoreError('NoSuchKey', `no object "${fromKey}" in "${fromBucket}"`);
      index.moveVersion(src.id, tb.id, utf8(toKey), Date.now());
    });
  }

  async renamePrefix(fromBucket: string, fromPrefix: string, toBucket: string, toPrefix: string): Promise<number> {
    const { index } = this.#ctx;
    const fb = this.#bucket(fromBucket);
    const tb = this.#bucket(toBucket);
    if (fromBucket === toBucket && fromPrefix === toPrefix) return 0;
    return index.tx(() => {
      const rows = index.liveUnder(fb.id, utf8(fromPrefix), prefixUpperBound(fromPrefix));
      const moves = rows.map((r) => ({ id: r.id, to: toPrefix + r.key.toString('utf8').slice(fromPrefix.length) }));
      // Validate every target before moving anything: the move is all or nothing.
      for (const m of moves) validateKey(m.to);
      index.moveMany(moves.map((m) => ({ id: m.id, bucket: tb.id, key: utf8(m.to) })), Date.now());
      return moves.length;
    });
  }

  async listObjects(bucket: string, options: ListOptions = {}): Promise<ListResult> {
    const b = this.#bucket(bucket);
    const { index } = this.#ctx;
    const scan = function* (from: ScanFrom): Generator<ObjectSummary> {
      let bound: Buffer;
      let after = false;
      if (from.pastPrefix !== undefined) {
        const ub = prefixUpperBound(from.pastPrefix);
        if (!ub) return;
        bound = ub;
      } else if (from.after !== undefined && compareKeys(from.after, from.prefix) >= 0) {
        bound = utf8(from.after);
        after = true;
      } else {
        bound = utf8(from.prefix);
      }
      while (true) {
        const rows = index.scanLive(b.id, bound, after, PAGE);
        for (const r of rows) {
          const key = r.key.toString('utf8');
          if (!key.startsWith(from.prefix)) return;
          yield { key, size: r.size, etag: r.etag, lastModified: new Date(r.modified) };
        }
        if (rows.length < PAGE) return;
        bound = rows[rows.length - 1].key;
        after = true;
      }
    };
    return listObjectsPage(scan, options);
  }

  async putObjectTagging(bucket: string, key: string, tags: Record<string, string>): Promise<void> {
    const b = this.#bucket(bucket);
    validateTags(tags);
    const { index } = this.#ctx;
    index.tx(() => {
      const v = this.#live(b, key);
      const m = JSON.parse(v.meta) as StoredMeta;
      m.t = { ...tags };
      index.setMeta(v.id, JSON.stringify(m));
    });
  }

  // ---- multipart -----------------------------------------------------------------------------

  async createMultipartUpload(bucket: string, key: string, options: PutOptions = {}): Promise<MultipartUpload> {
    const b = this.#bucket(bucket);
    validateKey(key);
    if (options.tags) validateTags(options.tags);
    const now = Date.now();
    // Upload ids sort in creation order, so listing by (key, uploadId) is listing by (key, initiated).
    const uploadId = `${now.toString(36).padStart(9, '0')}${randomBytes(12).toString('hex')}`;
    const meta: StoredMeta = { h: { ...options.headers }, m: lowerKeys(options.userMetadata), t: { ...options.tags } };
    if (options.checksum) meta.c = { ...options.checksum };
    this.#ctx.index.createUpload(uploadId, b.id, utf8(key), now, JSON.stringify(meta));
    return { key, uploadId, initiated: new Date(now) };
  }

  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Body,
    options: Pick<PutOptions, 'contentMd5' | 'expectedSize' | 'checksum'> = {},
  ): Promise<PartSummary> {
    const u = this.#upload(bucket, key, uploadId);
    validatePartNumber(partNumber);
    const { index } = this.#ctx;
    const part = await ingestPart(this.#ctx, this.#t, body, options);
    try {
      const now = Date.now();
      index.tx(() => {
        if (!index.upload(uploadId)) throw new StoreError('NoSuchUpload', `multipart upload "${uploadId}" was completed or aborted`);
        const old = index.part(u.id, partNumber);
        index.putPart(
          u.id,
          {
            partNumber,
            size: part.size,
            etag: part.md5.toString('hex'),
            modified: now,
            checksum: options.checksum ? JSON.stringify(options.checksum) : null,
            seam: JSON.stringify(part.seam),
          },
          part.interior.map((c) => ({ offset: c.offset, chunk: this.#rowOf(c.handle) })),
          now,
        );
        if (old) void removeSpool(this.#ctx, JSON.parse(old.seam) as SeamInfo);
      });
    } catch (err) {
      void removeSpool(this.#ctx, part.seam);
      throw err;
    } finally {
      for (const c of part.interior) c.handle.release();
    }
    const summary: PartSummary = { partNumber, size: part.size, etag: part.md5.toString('hex') };
    if (options.checksum) summary.checksum = { ...options.checksum };
    return summary;
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
    const sb = this.#bucket(source.bucket);
    const src = this.#live(sb, source.key);
    sourceConditions(this.#info(source.bucket, source.key, src), source.conditions);
    let range: GetOptions['range'];
    if (source.range) {
      const { start, end } = source.range;
      // x-amz-copy-source-range must lie inside the source (S3 answers InvalidRange otherwise).
      if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end >= src.size) {
        throw new StoreError('InvalidRange', 'copy source range outside the source object');
      }
      range = { start, end };
    }
    // Re-chunking the source bytes cuts at the same content-defined boundaries, so the interior
    // chunks are found in the index and shared (no fragments written for them).
    const got = await this.getObject(source.bucket, source.key, range ? { range } : {});
    const summary = await this.uploadPart(bucket, key, uploadId, partNumber, got.body);
    return { ...summary, lastModified: new Date() };
  }

  async listParts(
    bucket: string,
    key: string,
    uploadId: string,
    options: { partNumberMarker?: number; maxParts?: number } = {},
  ): Promise<ListPartsResult> {
    const u = this.#upload(bucket, key, uploadId);
    const max = clampMaxKeys(options.maxParts);
    const rows = this.#ctx.index.parts(u.id, options.partNumberMarker ?? 0, max + 1);
    const page = rows.slice(0, max);
    const result: ListPartsResult = {
      parts: page.map((p) => {
        const info: PartInfo = { partNumber: p.partNumber, size: p.size, etag: p.etag, lastModified: new Date(p.modified) };
        if (p.checksum) info.checksum = JSON.parse(p.checksum) as ChecksumValue;
        return info;
      }),
      isTruncated: rows.length > page.length,
    };
    if (result.isTruncated && page.length > 0) result.nextPartNumberMarker = page[page.length - 1].partNumber;
    return result;
  }

  async completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: CompletedPart[],
    options: Pick<PutOptions, 'ifNoneMatch' | 'ifMatch' | 'checksum'> = {},
  ): Promise<ObjectInfo> {
    const { index } = this.#ctx;
    const b = this.#bucket(bucket);
    const u = this.#upload(bucket, key, uploadId);
    validateCompletedPartOrder(parts);
    const chosen = parts.map((p) => {
      const stored = index.part(u.id, p.partNumber);
      if (!stored || normalizeEtag(p.etag) !== stored.etag) {
        throw new StoreError('InvalidPart', `part ${p.partNumber} was not uploaded or its ETag does not match`);
      }
      return stored;
    });
    chosen.forEach((p, i) => {
      if (i < chosen.length - 1 && p.size < this.#ctx.minPartSize) {
        throw new StoreError('EntityTooSmall', `part ${p.partNumber} is smaller than the minimum part size ${this.#ctx.minPartSize}`);
      }
    });
    const keyBuf = utf8(key);
    evaluateWriteConditions(index.live(b.id, keyBuf), options);
    const size = chosen.reduce((s, p) => s + p.size, 0);
    if (size > this.#ctx.maxObjectSize) throw new StoreError('EntityTooLarge', `object larger than ${this.#ctx.maxObjectSize} bytes`);
    const um = JSON.parse(u.meta) as StoredMeta;
    const meta: StoredMeta = {
      h: um.h,
      m: um.m,
      t: um.t,
      p: chosen.map((p) => {
        const s: PartSummary = { partNumber: p.partNumber, size: p.size, etag: p.etag };
        if (p.checksum) s.checksum = JSON.parse(p.checksum) as ChecksumValue;
        return s;
      }),
    };
    const checksum = options.checksum ?? um.c;
    if (checksum) meta.c = { ...checksum };
    const etag = multipartEtag(chosen.map((p) => etagToMd5(p.etag)));
    const assembled = await assembleParts(
      this.#ctx,
      this.#t,
      chosen.map((p) => ({ size: p.size, seam: JSON.parse(p.seam) as SeamInfo, interior: index.partChunks(u.id, p.partNumber) })),
    );
    try {
      const t0 = this.#ctx.metrics ? process.hrtime.bigint() : 0n;
      index.tx(() => {
        this.#checkBucket(b);
        if (!index.upload(uploadId)) throw new StoreError('NoSuchUpload', `multipart upload "${uploadId}" was completed or aborted`);
        evaluateWriteConditions(index.live(b.id, keyBuf), options);
        const now = Date.now();
        index.commitVersion({
          bucket: b.id,
          key: keyBuf,
          size,
          etag,
          meta: JSON.stringify(meta),
          inlineData: null,
          chunks: assembled.chunks.map((c) => ({ offset: c.offset, chunk: c.row ?? this.#rowOf(c.handle!) })),
          now,
        });
        index.dropUpload(u.id, now);
      });
      this.#observeCommit(t0, size);
    } finally {
      for (const c of assembled.chunks) c.handle?.release();
    }
    for (const p of chosen) void removeSpool(this.#ctx, JSON.parse(p.seam) as SeamInfo);
    return this.#info(bucket, key, index.live(b.id, keyBuf)!);
  }

  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    const u = this.#upload(bucket, key, uploadId);
    const { index } = this.#ctx;
    const seams = index.parts(u.id).map((p) => JSON.parse(p.seam) as SeamInfo);
    index.dropUpload(u.id, Date.now());
    await Promise.all(seams.map((s) => removeSpool(this.#ctx, s)));
  }

  async listMultipartUploads(bucket: string, options: ListUploadsOptions = {}): Promise<ListUploadsResult> {
    const b = this.#bucket(bucket);
    const prefix = options.prefix ?? '';
    const delimiter = options.delimiter || undefined;
    const max = clampMaxKeys(options.maxUploads);
    const keyMarker = options.keyMarker || undefined;
    const idMarker = keyMarker !== undefined ? options.uploadIdMarker || undefined : undefined;
    const uploads: MultipartUpload[] = [];
    const commonPrefixes: string[] = [];
    let isTruncated = false;
    let last: { key: string; uploadId?: string } | undefined;
    // Start at the marker (or the prefix) and walk (key, uploadId) order in pages.
    let cursorKey: Buffer | undefined = keyMarker !== undefined ? utf8(keyMarker) : prefix ? utf8(prefix) : undefined;
    let cursorId: string | undefined = keyMarker !== undefined ? (idMarker ?? '\u{10FFFF}') : undefined;
    let inclusive = keyMarker === undefined;
    outer: while (true) {
      const rows: UploadRow[] = inclusive
        ? this.#ctx.index.uploadsFrom(b.id, cursorKey ?? Buffer.alloc(0), PAGE)
        : this.#ctx.index.uploads(b.id, cursorKey!, cursorId, PAGE);
      for (const r of rows) {
        const k = r.key.toString('utf8');
        if (!k.startsWith(prefix)) {
          if (compareKeys(k, prefix) > 0) break outer;
          continue;
        }
        let cp: string | undefined;
        if (delimiter !== undefined) {
          const i = k.indexOf(delimiter, prefix.length);
          if (i >= 0) cp = k.slice(0, i + delimiter.length);
        }
        if (cp !== undefined && (commonPrefixes[commonPrefixes.length - 1] === cp || (keyMarker !== undefined && compareKeys(cp, keyMarker) <= 0))) continue;
        if (uploads.length + commonPrefixes.length >= max) {
          isTruncated = max > 0;
          break outer;
        }
        if (cp !== undefined) {
          commonPrefixes.push(cp);
          last = { key: cp };
        } else {
          uploads.push({ key: k, uploadId: r.uploadId, initiated: new Date(r.created) });
          last = { key: k, uploadId: r.uploadId };
        }
      }
      if (rows.length < PAGE) break;
      cursorKey = rows[rows.length - 1].key;
      cursorId = rows[rows.length - 1].uploadId;
      inclusive = false;
    }
    const result: ListUploadsResult = { uploads, commonPrefixes, isTruncated };
    if (isTruncated && last) {
      result.nextKeyMarker = last.key;
      if (last.uploadId !== undefined) result.nextUploadIdMarker = last.uploadId;
    }
    return result;
  }

  // ---- internals -----------------------------------------------------------------------------

  /** The `index` stage: one commit transaction (a version and its chunk list), `bytes` = object size. */
  #observeCommit(t0: bigint, bytes: number): void {
    this.#ctx.metrics?.observeStage('index', Number(process.hrtime.bigint() - t0) / 1e9, bytes);
  }

  #bucket(name: string): BucketRow {
    const b = this.#ctx.index.bucket(this.#t.id, name);
    if (!b) throw new StoreError('NoSuchBucket', `no bucket "${name}"`);
    return b;
  }

  #checkBucket(b: BucketRow): void {
    if (this.#ctx.index.bucket(this.#t.id, b.name)?.id !== b.id) throw new StoreError('NoSuchBucket', `bucket "${b.name}" was deleted`);
  }

  #live(b: BucketRow, key: string): VersionRow {
    const v = this.#ctx.index.live(b.id, utf8(key));
    if (!v) throw new StoreError('NoSuchKey', `no object "${key}" in "${b.name}"`);
    return v;
  }

  #upload(bucket: string, key: string, uploadId: string): UploadRow {
    const b = this.#bucket(bucket);
    const u = this.#ctx.index.upload(uploadId);
    if (!u || u.bucket !== b.id || u.key.toString('utf8') !== key) {
      throw new StoreError('NoSuchUpload', `no multipart upload "${uploadId}" for "${key}"`);
    }
    return u;
  }

  #info(bucket: string, key: string, v: VersionRow): ObjectInfo {
    const m = JSON.parse(v.meta) as StoredMeta;
    const info: ObjectInfo = {
      bucket,
      key,
      size: v.size,
      etag: v.etag,
      lastModified: new Date(v.modified),
      headers: { ...m.h },
      userMetadata: { ...m.m },
      tags: { ...m.t },
    };
    if (m.c) info.checksum = m.c;
    if (m.p) info.parts = m.p;
    return info;
  }

  /** The index row of a written chunk (inside the commit transaction). */
  #rowOf(h: ChunkHandle): number {
    const { index } = this.#ctx;
    if (h.fresh) return index.ensureChunk(this.#t.id, h.fresh);
    const row = index.chunk(this.#t.id, h.chunkId);
    if (!row) throw new StoreError('Internal', 'a pinned chunk vanished from the index');
    return row.id;
  }

  /**
   * Consumes a body: small ones (≤ inlineThreshold) are returned whole for inline storage; larger
   * ones are chunked and written with at most maxConcurrentChunks chunks, and CHUNK_BYTES_IN_FLIGHT
   * of their buffers' capacity, in flight. `onChunked`
   * runs once the body is known to need chunks (before the first one is written).
   */
  async #ingest(body: Body, options: Pick<PutOptions, 'contentMd5' | 'expectedSize'>, onChunked: () => void): Promise<Ingested> {
    const ctx = this.#ctx;
    // MD5 (the ETag) runs on a worker thread: on the main thread it would cost as much as chunking
    const md5 = new StreamHasher({ pool: ctx.pool });
    let size = 0;
    const tap = (b: Buffer): void => {
      size += b.length;
      if (size > ctx.maxObjectSize) throw new StoreError('EntityTooLarge', `body larger than ${ctx.maxObjectSize} bytes`);
      if (options.expectedSize !== undefined && size > options.expectedSize) {
        throw new StoreError('InvalidArgument', `body longer than the announced ${options.expectedSize} bytes`);
      }
      md5.update(b);
    };
    const finish = async (): Promise<Buffer> => {
      if (options.expectedSize !== undefined && size < options.expectedSize) {
        throw new StoreError('IncompleteBody', `body ended after ${size} of ${options.expectedSize} bytes`);
      }
      const digest = await md5.digest();
      if (options.contentMd5 !== undefined && !digest.equals(options.contentMd5)) {
        throw new StoreError('BadDigest', 'the Content-MD5 does not match the body');
      }
      return digest;
    };

    const it = body[Symbol.asyncIterator]();
    const head: Buffer[] = [];
    let headLen = 0;
    let ended = false;
    const chunks: { offset: number; handle: ChunkHandle }[] = [];
    // weighed by buffer capacity: the memory a chunk holds until its fragments are stored
    const window = new TaskWindow(ctx.maxConcurrentChunks, CHUNK_BYTES_IN_FLIGHT);
    /** while chunks come out new, encode before the dedup lookup (see ChunkWriteOptions) */
    let encodeFirst = false;
    try {
      while (headLen <= ctx.inlineThreshold) {
        const r = await it.next();
        if (r.done) {
          ended = true;
          break;
        }
        const b = toBuffer(r.value);
        head.push(b);
        headLen += b.length;
      }
      if (ended) {
        for (const b of head) tap(b);
        const data = Buffer.concat(head, headLen);
        return { size, md5: await finish(), inline: data, chunks: [] };
      }
      onChunked();
      const rest = async function* (): AsyncGenerator<Buffer> {
        yield* head;
        head.length = 0;
        while (true) {
          const r = await it.next();
          if (r.done) return;
          yield toBuffer(r.value);
        }
      };
      // each chunk's buffer has room for its fragments: the codec encodes it in place
      const codec = this.#t.chunks.codec;
      for await (const cut of cutChunks(rest(), ctx.newChunker(this.#t.keys.chunkerSeed, ctx.avgChunkSize), tap, (n) => codec.frameCapacity(n), ctx.avgChunkSize)) {
        if (window.failed) break;
        await window.run(async () => {
          // cut.data is a buffer of its own that nothing reads after this write: hand it over
          const handle = await ctx.io.write(this.#t.chunks, cut.data, { encodeFirst, take: true });
          encodeFirst = !handle.existed;
          chunks.push({ offset: cut.offset, handle });
        }, chunkBuffers.capacityOf(cut.data.buffer));
        if (md5.backlog > HASH_BACKLOG) await md5.drained();
      }
      await window.drain();
      const digest = await finish();
      chunks.sort((a, b) => a.offset - b.offset);
      return { size, md5: digest, chunks };
    } catch (err) {
      md5.abort();
      await window.drain().catch(() => undefined);
      for (const c of chunks) c.handle.release();
      if (typeof it.return === 'function') await Promise.resolve(it.return()).catch(() => undefined);
      throw err;
    }
  }

  /** The plaintext bytes [start, end] of a chunked version, with read-ahead. */
  async *#stream(version: number, start: number, end: number): AsyncGenerator<Buffer> {
    const { index, io, readAhead } = this.#ctx;
    const t = this.#t.chunks;
    let page: ChunkEntry[] = index.versionChunks(version, start, PAGE);
    let at = 0;
    const next = (): ChunkEntry | undefined => {
      if (at >= page.length) {
        if (page.length < PAGE) return undefined;
        const last = page[page.length - 1];
        const from = last.offset + last.plainSize;
        // versionChunks starts at the chunk CONTAINING `from`: once past the object's end that is
        // the last chunk again, which was served twice (wrong bytes when a read spans 64·n chunks)
        if (from > end) return undefined;
        page = index.versionChunks(version, from, PAGE);
        at = 0;
        if (page.length === 0) return undefined;
      }
      const e = page[at++];
      return e.offset <= end ? e : undefined;
    };
    const queue: { entry: ChunkEntry; data: Promise<Buffer> }[] = [];
    let exhausted = false;
    const fill = (): void => {
      while (!exhausted && queue.length <= readAhead) {
        const e = next();
        if (!e) {
          exhausted = true;
          break;
        }
        const data = io.read(t, e);
        data.catch(() => undefined); // read-ahead failures surface when (if) that chunk is awaited
        queue.push({ entry: e, data });
      }
    };
    fill();
    while (queue.length > 0) {
      const { entry, data } = queue.shift()!;
      const plain = await data;
      if (plain.length !== entry.plainSize) throw new StoreError('Corrupt', 'a chunk decoded to the wrong size');
      fill();
      const from = Math.max(start, entry.offset) - entry.offset;
      const to = Math.min(end + 1, entry.offset + entry.plainSize) - entry.offset;
      if (to > from) yield from === 0 && to === plain.length ? plain : plain.subarray(from, to);
    }
  }
}

function partRange(info: ObjectInfo, partNumber: number): ByteRange {
  validatePartNumber(partNumber);
  const parts = info.parts ?? [{ partNumber: 1, size: info.size, etag: info.etag }];
  if (partNumber > parts.length) throw new StoreError('InvalidRange', `the object has ${parts.length} part(s)`);
  let start = 0;
  for (let i = 0; i < partNumber - 1; i++) start += parts[i].size;
  const size = parts[partNumber - 1].size;
  if (size === 0) throw new StoreError('InvalidRange', 'the part is empty');
  return { start, end: start + size - 1 };
}

/** x-amz-copy-source-if-*: every failure is 412 for a copy, including the "not modified" ones. */
function sourceConditions(info: ObjectInfo, conditions: CopySource['conditions']): void {
  evaluateConditions(info, conditions, true);
  if (conditions?.ifModifiedSince !== undefined && conditions.ifNoneMatch === undefined) {
    if (Math.floor(info.lastModified.getTime() / 1000) <= Math.floor(conditions.ifModifiedSince.getTime() / 1000)) {
      throw new StoreError('PreconditionFailed', 'copy source not modified since x-amz-copy-source-if-modified-since');
    }
  }
}

export { ChunkIo };

/** `first` (already pulled from `rest`) followed by the rest; closing early closes `rest` too. */
async function* prepend(first: IteratorResult<Buffer> | undefined, rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  try {
    if (first && !first.done) yield first.value;
    if (!first?.done) yield* rest;
  } finally {
    await rest.return(undefined);
  }
}
