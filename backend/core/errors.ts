/**
 * Domain errors. Every error that crosses the ObjectStore or FragmentStore seam is a StoreError
 * with a stable `code`; front ends map codes to protocol errors in ONE exhaustive table each
 * (a `Record<ErrorCode, …>`, so adding a code here fails the build until every table says what it
 * means). Never match on messages.
 */
export type ErrorCode =
  // buckets
  | 'NoSuchBucket'
  | 'BucketAlreadyOwnedByYou'
  | 'BucketNotEmpty'
  | 'InvalidBucketName'
  // objects
  | 'NoSuchKey'
  | 'KeyTooLong'
  | 'InvalidObjectName'
  | 'InvalidRange'
  | 'PreconditionFailed'
  | 'NotModified'
  | 'BadDigest'
  | 'EntityTooLarge'
  | 'IncompleteBody'
  // multipart
  | 'NoSuchUpload'
  | 'InvalidPart'
  | 'InvalidPartOrder'
  | 'EntityTooSmall'
  | 'TooManyParts'
  // generic request problems
  | 'InvalidArgument'
  | 'AccessDenied'
  | 'NotImplemented'
  // storage layer
  | 'FragmentNotFound'
  | 'Corrupt'
  | 'QuotaExceeded'
  | 'ReadOnly'
  | 'Unavailable'
  | 'Timeout'
  | 'Internal';

export class StoreError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
    this.code = code;
  }
}

export function isStoreError(err: unknown, code?: ErrorCode): err is StoreError {
  return err instanceof StoreError && (code === undefined || err.code === code);
}
