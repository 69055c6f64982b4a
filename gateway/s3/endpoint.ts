/**
 * Request → typed endpoint, named after the AWS operation (S3 API reference, "Actions"). Parsing
 * decides everything about the request's shape (bucket, key, operation, typed parameters) so
 * handlers only deal with valid input; anything outside the supported set is NotImplemented
 * (501 in XML), never a 404.
 */
import { s3Errors } from './errors.js';

export interface CopySourceRef {
  bucket: string;
  key: string;
}

export interface ListV1Params {
  prefix?: string;
  delimiter?: string;
  marker?: string;
  maxKeys: number;
  encodingType?: 'url';
}

export interface ListV2Params {
  prefix?: string;
  delimiter?: string;
  startAfter?: string;
  continuationToken?: string;
  maxKeys: number;
  encodingType?: 'url';
  fetchOwner: boolean;
}

export interface ListUploadsParams {
  prefix?: string;
  delimiter?: string;
  keyMarker?: string;
  uploadIdMarker?: string;
  maxUploads: number;
  encodingType?: 'url';
}

export type S3Endpoint =
  | { op: 'ListBuckets' }
  | { op: 'CreateBucket'; bucket: string }
  | { op: 'HeadBucket'; bucket: string }
  | { op: 'DeleteBucket'; bucket: string }
  | { op: 'GetBucketLocation'; bucket: string }
  | { op: 'GetBucketVersioning'; bucket: string }
  | { op: 'ListObjects'; bucket: string; params: ListV1Params }
  | { op: 'ListObjectsV2'; bucket: string; params: ListV2Params }
  | { op: 'ListMultipartUploads'; bucket: string; params: ListUploadsParams }
  | { op: 'DeleteObjects'; bucket: string }
  | { op: 'PutObject'; bucket: string; key: string }
  | { op: 'CopyObject'; bucket: string; key: string; source: CopySourceRef }
  | { op: 'GetObject'; bucket: string; key: string; partNumber?: number; overrides: Record<string, string> }
  | { op: 'HeadObject'; bucket: string; key: string; partNumber?: number }
  | { op: 'DeleteObject'; bucket: string; key: string }
  | { op: 'CreateMultipartUpload'; bucket: string; key: string }
  | { op: 'UploadPart'; bucket: string; key: string; uploadId: string; partNumber: number }
  | { op: 'UploadPartCopy'; bucket: string; key: string; uploadId: string; partNumber: number; source: CopySourceRef }
  | { op: 'CompleteMultipartUpload'; bucket: string; key: string; uploadId: string }
  | { op: 'AbortMultipartUpload'; bucket: string; key: string; uploadId: string }
  | { op: 'ListParts'; bucket: string; key: string; uploadId: string; partNumberMarker?: number; maxParts: number }
  | { op: 'GetObjectTagging'; bucket: string; key: string }
  | { op: 'PutObjectTagging'; bucket: string; key: string }
  | { op: 'DeleteObjectTagging'; bucket: string; key: string };

export type S3Operation = S3Endpoint['op'];

export interface EndpointInput {
  method: string;
  /** Host header (may include a port) */
  host?: string;
  rawPath: string;
  query: Map<string, string>;
  headers: Record<string, string | string[] | undefined>;
  /** virtual-hosted style base domain (`--domain`) */
  domain?: string;
}

/** Sub-resources S3 has and this gateway does not implement: always 501. */
const UNIMPLEMENTED_SUBRESOURCES = [
  'accelerate', 'acl', 'analytics', 'attributes', 'cors', 'encryption', 'intelligent-tiering', 'inventory',
  'legal-hold', 'lifecycle', 'logging', 'metadataConfiguration', 'metrics', 'notification', 'object-lock',
  'ownershipControls', 'policy', 'policyStatus', 'publicAccessBlock', 'replication', 'requestPayment',
  'restore', 'retention', 'select', 'session', 'torrent', 'versions', 'website', 'renameObject',
];

/** S3 bucket naming rules (general purpose buckets). */
export function isValidBucketName(name: string): boolean {
  if (name.length < 3 || name.length > 63) return false;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name)) return false;
  if (name.includes('..') || name.includes('.-') || name.includes('-.')) return false;
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return false;
  if (name.startsWith('xn--') || name.endsWith('-s3alias') || name.endsWith('--ol-s3')) return false;
  return true;
}

function headerOf(input: EndpointInput, name: string): string | undefined {
  const v = input.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function intParam(q: Map<string, string>, name: string, def: number, max: number): number {
  const v = q.get(name);
  if (v === undefined || v === '') return def;
  if (!/^-?\d+$/.test(v)) throw s3Errors.invalidArgument(`Provided ${name} not an integer or within integer range`, name, v);
  const n = Number(v);
  if (n < 0) throw s3Errors.invalidArgument(`Argument ${name} must be an integer between 0 and 2147483647`, name, v);
  return Math.min(n, max);
}

function partNumberParam(q: Map<string, string>): number | undefined {
  const v = q.get('partNumber');
  if (v === undefined) return undefined;
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 10000) throw s3Errors.invalidPartNumber();
  return Number(v);
}

function encodingParam(q: Map<string, string>): 'url' | undefined {
  const v = q.get('encoding-type');
  if (v === undefined) return undefined;
  if (v.toLowerCase() !== 'url') throw s3Errors.invalidArgument('Invalid Encoding Method specified in Request', 'encoding-type', v);
  return 'url';
}

function opt(q: Map<string, string>, name: string): string | undefined {
  return q.get(name);
}

/** `x-amz-copy-source`: `[/]bucket/key[?versionId=…]`, URL-encoded. */
export function parseCopySource(text: string): CopySourceRef {
  let s = text;
  const qm = s.indexOf('?');
  if (qm >= 0) {
    const version = new URLSearchParams(s.slice(qm + 1)).get('versionId');
    if (version !== null && version !== 'null') throw s3Errors.notImplemented('Object versioning is not supported.');
    s = s.slice(0, qm);
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(s);
  } catch {
    throw s3Errors.invalidArgument('Invalid copy source encoding', 'x-amz-copy-source', text);
  }
  if (decoded.startsWith('/')) decoded = decoded.slice(1);
  const slash = decoded.indexOf('/');
  if (slash <= 0 || slash === decoded.length - 1) {
    throw s3Errors.invalidArgument('Copy Source must mention the source bucket and key: sourcebucket/sourcekey', 'x-amz-copy-source', text);
  }
  const bucket = decoded.slice(0, slash);
  if (!isValidBucketName(bucket)) throw s3Errors.invalidBucketName(bucket);
  return { bucket, key: decoded.slice(slash + 1) };
}

/** Splits the request target into bucket and key (path-style, or virtual-hosted under `domain`). */
export function locate(input: EndpointInput): { bucket?: string; key?: string } {
  let path: string;
  try {
    path = decodeURIComponent(input.rawPath);
  } catch {
    throw s3Errors.invalidArgument('The request path is not valid URL encoding', 'path', input.rawPath);
  }
  if (input.domain && input.host) {
    const host = input.host.replace(/:\d+$/, '').toLowerCase();
    const suffix = `.${input.domain.toLowerCase()}`;
    if (host.endsWith(suffix) && host.length > suffix.length) {
      const bucket = host.slice(0, -suffix.length);
      const key = path.startsWith('/') ? path.slice(1) : path;
      return { bucket, key: key === '' ? undefined : key };
    }
  }
  const rest = path.startsWith('/') ? path.slice(1) : path;
  if (rest === '') return {};
  const slash = rest.indexOf('/');
  if (slash < 0) return { bucket: rest };
  const key = rest.slice(slash + 1);
  return { bucket: rest.slice(0, slash), key: key === '' ? undefined : key };
}

export function parseEndpoint(input: EndpointInput): S3Endpoint {
  const q = input.query;
  const method = input.method.toUpperCase();
  const { bucket, key } = locate(input);

  for (const sub of UNIMPLEMENTED_SUBRESOURCES) {
    if (q.has(sub)) throw s3Errors.notImplemented(`The ${sub} sub-resource is not implemented.`);
  }
  const versionId = q.get('versionId');
  if (versionId !== undefined && versionId !== 'null') throw s3Errors.notImplemented('Object versioning is not supported.');

  if (bucket === undefined) {
    if (method === 'GET') return { op: 'ListBuckets' };
    throw s3Errors.notImplemented(`${method} on the service endpoint is not implemented.`);
  }
  if (!isValidBucketName(bucket)) throw s3Errors.invalidBucketName(bucket);

  if (key === undefined) {
    switch (method) {
      case 'PUT':
        if (q.has('versioning') || q.has('tagging')) throw s3Errors.notImplemented();
        return { op: 'CreateBucket', bucket };
      case 'HEAD':
        return { op: 'HeadBucket', bucket };
      case 'DELETE':
        if (q.has('tagging')) throw s3Errors.notImplemented();
        return { op: 'DeleteBucket', bucket };
      case 'POST':
        if (q.has('delete')) return { op: 'DeleteObjects', bucket };
        throw s3Errors.notImplemented();
      case 'GET': {
        if (q.has('location')) return { op: 'GetBucketLocation', bucket };
        if (q.has('versioning')) return { op: 'GetBucketVersioning', bucket };
        if (q.has('tagging')) throw s3Errors.notImplemented('Bucket tagging is not implemented.');
        if (q.has('uploads')) {
          return {
            op: 'ListMultipartUploads',
            bucket,
            params: {
              prefix: opt(q, 'prefix'),
              delimiter: opt(q, 'delimiter') || undefined,
              keyMarker: opt(q, 'key-marker') || undefined,
              uploadIdMarker: opt(q, 'upload-id-marker') || undefined,
              maxUploads: intParam(q, 'max-uploads', 1000, 1000),
              encodingType: encodingParam(q),
            },
          };
        }
        const listType = q.get('list-type');
        if (listType === '2') {
          return {
            op: 'ListObjectsV2',
            bucket,
            params: {
              prefix: opt(q, 'prefix'),
              delimiter: opt(q, 'delimiter') || undefined,
              startAfter: opt(q, 'start-after') || undefined,
              continuationToken: opt(q, 'continuation-token'),
              maxKeys: intParam(q, 'max-keys', 1000, 1000),
              encodingType: encodingParam(q),
              fetchOwner: q.get('fetch-owner') === 'true',
            },
          };
        }
        if (listType !== undefined && listType !== '1') throw s3Errors.invalidArgument('Invalid list-type', 'list-type', listType);
        return {
          op: 'ListObjects',
          bucket,
          params: {
            prefix: opt(q, 'prefix'),
            delimiter: opt(q, 'delimiter') || undefined,
            marker: opt(q, 'marker') || undefined,
            maxKeys: intParam(q, 'max-keys', 1000, 1000),
            encodingType: encodingParam(q),
          },
        };
      }
      default:
        throw s3Errors.methodNotAllowed();
    }
  }

  const uploadId = q.get('uploadId');
  const copySource = headerOf(input, 'x-amz-copy-source');
  switch (method) {
    case 'PUT': {
      if (q.has('tagging')) return { op: 'PutObjectTagging', bucket, key };
      if (uploadId !== undefined || q.has('partNumber')) {
        if (uploadId === undefined) throw s3Errors.invalidRequest('partNumber requires uploadId');
        const partNumber = partNumberParam(q);
        if (partNumber === undefined) throw s3Errors.invalidPartNumber();
        if (copySource !== undefined) return { op: 'UploadPartCopy', bucket, key, uploadId, partNumber, source: parseCopySource(copySource) };
        return { op: 'UploadPart', bucket, key, uploadId, partNumber };
      }
      if (copySource !== undefined) return { op: 'CopyObject', bucket, key, source: parseCopySource(copySource) };
      return { op: 'PutObject', bucket, key };
    }
    case 'GET': {
      if (q.has('tagging')) return { op: 'GetObjectTagging', bucket, key };
      if (uploadId !== undefined) {
        const marker = q.get('part-number-marker');
        return {
          op: 'ListParts',
          bucket,
          key,
          uploadId,
          partNumberMarker: marker ? intParam(q, 'part-number-marker', 0, 10000) : undefined,
          maxParts: intParam(q, 'max-parts', 1000, 1000),
        };
      }
      const overrides: Record<string, string> = {};
      for (const [k, v] of q) if (k.startsWith('response-')) overrides[k] = v;
      return { op: 'GetObject', bucket, key, partNumber: partNumberParam(q), overrides };
    }
    case 'HEAD':
      return { op: 'HeadObject', bucket, key, partNumber: partNumberParam(q) };
    case 'DELETE':
      if (q.has('tagging')) return { op: 'DeleteObjectTagging', bucket, key };
      if (uploadId !== undefined) return { op: 'AbortMultipartUpload', bucket, key, uploadId };
      return { op: 'DeleteObject', bucket, key };
    case 'POST':
      if (q.has('uploads')) return { op: 'CreateMultipartUpload', bucket, key };
      if (uploadId !== undefined) return { op: 'CompleteMultipartUpload', bucket, key, uploadId };
      throw s3Errors.notImplemented();
    default:
      throw s3Errors.methodNotAllowed();
  }
}
