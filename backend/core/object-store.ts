/**
 * The one seam between protocols and storage. Every front end (S3, WebDAV, SFTP, FTP, web page)
 * talks to an `ObjectStore` and to nothing else behind it.
 *
 * An `ObjectStore` is scoped to ONE tenant (= one access key): it is obtained from
 * `TenantStores.open(user)` after authentication, and can only ever see that tenant's buckets.
 * Isolation between tenants is therefore structural, not a check each front end must remember.
 *
 * Contract for every implementation (enforced by test/conformance/object-store-suite.ts):
 * - Keys and bucket names are compared and ordered as UTF-8 byte strings.
 * - No method holds a whole object in memory; bodies are consumed and produced as streams with
 *   back-pressure, so objects of any size work.
 * - A put becomes visible atomically when its promise resolves, and is durable from then on
 *   (survives kill -9 / power loss). A failed or interrupted put leaves no visible object and
 *   replaces nothing.
 * - Errors are `StoreError`s (backend/core/errors.ts) with the codes documented per method.
 */
import type { Readable } from 'node:stream';

export type Body = AsyncIterable<Uint8Array>;

export interface BucketInfo {
  name: string;
  created: Date;
}

/** The standard HTTP representation headers S3 stores with an object and returns as they were. */
export interface StandardHeaders {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  expires?: string;
}

export type ChecksumAlgorithm = 'CRC32' | 'CRC32C' | 'CRC64NVME' | 'SHA1' | 'SHA256';

/** A checksum computed and verified by the front end; the store keeps it as opaque metadata. */
export interface ChecksumValue {
  algorithm: ChecksumAlgorithm;
  /** base64 of the digest, as S3 sends it */
  value: string;
  type: 'FULL_OBJECT' | 'COMPOSITE';
}

export interface PartSummary {
  partNumber: number;
  size: number;
  /** hex MD5 of the part, no quotes */
  etag: string;
  checksum?: ChecksumValue;
}

export interface ObjectInfo {
  bucket: string;
  key: string;
  size: number;
  /** As S3 computes it, WITHOUT quotes: hex MD5 of the bytes; for multipart, hex MD5 of the
   *  concatenated binary part MD5s followed by `-N`. */
  etag: string;
  lastModified: Date;
  headers: StandardHeaders;
  /** x-amz-meta-* without the prefix, names lower-cased */
  userMetadata: Record<string, string>;
  tags: Record<string, string>;
  checksum?: ChecksumValue;
  /** present when the object was assembled by multipart upload, in part order */
  parts?: PartSummary[];
}

/** What listings return: the cheap part of ObjectInfo. */
export interface ObjectSummary {
  key: string;
  size: number;
  etag: string;
  lastModified: Date;
}

/** HTTP range forms: `bytes=a-b` (end inclusive), `bytes=a-`, `bytes=-n` (last n bytes). */
export type RangeSpec = { start: number; end?: number } | { suffix: number };

/** Resolved, inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/** RFC 9110 §13 preconditions, evaluated by the store against the current version. */
export interface Conditions {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: Date;
  ifUnmodifiedSince?: Date;
}

export interface PutOptions {
  headers?: StandardHeaders;
  userMetadata?: Record<string, string>;
  tags?: Record<string, string>;
  /** May only be known once `body` has been consumed (a trailing checksum the front end verifies
   *  at the end of an aws-chunked body): implementations read it AFTER the body has ended. */
  checksum?: ChecksumValue;
  /** raw 16-byte MD5 the client sent (Content-MD5); mismatch → BadDigest, nothing stored */
  contentMd5?: Buffer;
  /** exact byte count the client announced; a shorter body → IncompleteBody, nothing stored */
  expectedSize?: number;
  /** conditional write: '*' = only if absent; else an ETag the current version must have.
   *  Evaluated atomically with the commit → PreconditionFailed. */
  ifNoneMatch?: '*';
  ifMatch?: string;
}

export interface GetOptions {
  range?: RangeSpec;
  /** S3 partNumber: serve exactly that part of a multipart object (1 for a simple object) */
  partNumber?: number;
  conditions?: Conditions;
}

export interface GetResult {
  info: ObjectInfo;
  /** The selected bytes. The caller MUST consume or destroy it. Errors while streaming (peers
   *  lost mid-way) surface as a stream error carrying a StoreError. An implementation MUST NOT
   *  start reading (and so cannot fail) before the caller first reads or pipes the body: front ends
   *  attach their 'error' listener when they start consuming (ftp-srv does so one event-loop turn
   *  after getObject resolves), and an error emitted before that would crash the process. */
  body: Readable;
  /** present when a range or partNumber selected part of the object */
  range?: ByteRange;
  /** number of bytes body will produce */
  contentLength: number;
}

export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  /** list keys strictly after this one (v2 start-after, v1 marker) */
  startAfter?: string;
  /** opaque token from a previous truncated page; takes precedence over startAfter */
  continuationToken?: string;
  /** 0..1000, default 1000; larger values are clamped to 1000 */
  maxKeys?: number;
}

export interface ListResult {
  objects: ObjectSummary[];
  commonPrefixes: string[];
  isTruncated: boolean;
  /** set when isTruncated: pass back as continuationToken */
  nextContinuationToken?: string;
  /** the last key or common prefix returned (for v1 NextMarker) */
  lastReturned?: string;
}

export interface CopySource {
  bucket: string;
  key: string;
  conditions?: Conditions;
}

export interface CopyOptions {
  /** COPY (default) keeps the source's headers, metadata and tags; REPLACE takes them from here */
  metadataDirective?: 'COPY' | 'REPLACE';
  taggingDirective?: 'COPY' | 'REPLACE';
  headers?: StandardHeaders;
  userMetadata?: Record<string, string>;
  tags?: Record<string, string>;
  ifNoneMatch?: '*';
}

export interface MultipartUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

export interface ListUploadsOptions {
  prefix?: string;
  delimiter?: string;
  keyMarker?: string;
  uploadIdMarker?: string;
  maxUploads?: number;
}

export interface ListUploadsResult {
  uploads: MultipartUpload[];
  commonPrefixes: string[];
  isTruncated: boolean;
  nextKeyMarker?: string;
  nextUploadIdMarker?: string;
}

export interface PartInfo extends PartSummary {
  lastModified: Date;
}

export interface ListPartsResult {
  parts: PartInfo[];
  isTruncated: boolean;
  nextPartNumberMarker?: number;
}

export interface CompletedPart {
  partNumber: number;
  /** with or without quotes */
  etag: string;
}

export interface ObjectStore {
  // ---- buckets -------------------------------------------------------------------------------
  /** InvalidBucketName (S3 naming rules: 3–63 chars, lower-case letters, digits, '.', '-'),
   *  BucketAlreadyOwnedByYou. */
  createBucket(bucket: string): Promise<void>;
  /** NoSuchBucket */
  headBucket(bucket: string): Promise<BucketInfo>;
  /** sorted by name */
  listBuckets(): Promise<BucketInfo[]>;
  /** NoSuchBucket; BucketNotEmpty when it holds objects or multipart uploads in progress */
  deleteBucket(bucket: string): Promise<void>;

  // ---- objects -------------------------------------------------------------------------------
  /** Consumes `body` fully. NoSuchBucket, KeyTooLong (> 1024 bytes UTF-8), BadDigest,
   *  IncompleteBody, PreconditionFailed, EntityTooLarge. Returns the stored version's info. */
  putObject(bucket: string, key: string, body: Body, options?: PutOptions): Promise<ObjectInfo>;
  /** NoSuchBucket, NoSuchKey, InvalidRange (start ≥ size, or partNumber > parts),
   *  PreconditionFailed, NotModified. Unavailable / Timeout when the first bytes cannot be read
   *  (decided before it resolves, so a front end can still answer 503); a later failure errors
   *  the body stream. */
  getObject(bucket: string, key: string, options?: GetOptions): Promise<GetResult>;
  /** as getObject, without a body */
  headObject(bucket: string, key: string, options?: Omit<GetOptions, 'range'>): Promise<ObjectInfo>;
  /** Idempotent: deleting a missing key succeeds. NoSuchBucket. */
  deleteObject(bucket: string, key: string): Promise<void>;
  /** Shares the source's chunks: no data is read or rewritten. NoSuchBucket, NoSuchKey,
   *  PreconditionFailed (source conditions or ifNoneMatch on the destination). */
  copyObject(source: CopySource, bucket: string, key: string, options?: CopyOptions): Promise<ObjectInfo>;
  /** Metadata-only move of one object (also across buckets of the tenant); replaces the
   *  destination if it exists. NoSuchBucket, NoSuchKey. */
  renameObject(fromBucket: string, fromKey: string, toBucket: string, toKey: string): Promise<void>;
  /** Metadata-only move of every key under a prefix (folder rename), in one transaction.
   *  Returns the number of objects moved. */
  renamePrefix(fromBucket: string, fromPrefix: string, toBucket: string, toPrefix: string): Promise<number>;
  /** UTF-8 byte order. NoSuchBucket. */
  listObjects(bucket: string, options?: ListOptions): Promise<ListResult>;
  /** Replaces the tag set. NoSuchBucket, NoSuchKey, InvalidArgument (> 10 tags, bad lengths). */
  putObjectTagging(bucket: string, key: string, tags: Record<string, string>): Promise<void>;

  // ---- multipart -----------------------------------------------------------------------------
  createMultipartUpload(bucket: string, key: string, options?: PutOptions): Promise<MultipartUpload>;
  /** partNumber 1..10000 (else InvalidArgument). Re-uploading a part number replaces it.
   *  NoSuchUpload, BadDigest, IncompleteBody. */
  uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Body,
    options?: Pick<PutOptions, 'contentMd5' | 'expectedSize' | 'checksum'>,
  ): Promise<PartSummary>;
  /** A part made of (a range of) an existing object, sharing its chunks where they align. */
  uploadPartCopy(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    source: CopySource & { range?: ByteRange },
  ): Promise<PartInfo>;
  listParts(
    bucket: string,
    key: string,
    uploadId: string,
    options?: { partNumberMarker?: number; maxParts?: number },
  ): Promise<ListPartsResult>;
  /** Parts must be in ascending order (InvalidPartOrder), exist with matching ETags (InvalidPart),
   *  and all but the last be ≥ the minimum part size (EntityTooSmall, 5 MiB by default).
   *  ifNoneMatch / ifMatch as for putObject. */
  completeMultipartUpload(
    bucket: string,
    key: string,
    uploadId: string,
    parts: CompletedPart[],
    options?: Pick<PutOptions, 'ifNoneMatch' | 'ifMatch' | 'checksum'>,
  ): Promise<ObjectInfo>;
  /** NoSuchUpload */
  abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void>;
  listMultipartUploads(bucket: string, options?: ListUploadsOptions): Promise<ListUploadsResult>;
}

/** The authenticated identity a front end resolved. */
export interface TenantUser {
  accessKey: string;
  secretKey: string;
}

/** Opens the tenant-scoped store of an authenticated user (deriving its keys on first use). */
export interface TenantStores {
  open(user: TenantUser): Promise<ObjectStore>;
  /** Capacity of the storage behind the gateway (statvfs, quota). */
  capacity(): Promise<{ total: number; free: number }>;
}
