/**
 * S3 errors (S3 API reference, "Error responses"). Domain errors (StoreError codes) map to S3 codes
 * through ONE exhaustive table; protocol-only failures (signatures, malformed requests) are raised
 * directly as S3Error. Internal failures never leak their message: they become a generic
 * InternalError, and storage that cannot answer becomes 503 so clients retry.
 */
import type { ErrorCode } from '../../backend/core/errors.js';
import { isStoreError } from '../../backend/core/errors.js';
import { xmlDocument, xmlElement } from './xml.js';

export interface S3ErrorMapping {
  s3Code: string;
  status: number;
  /** the domain message is safe to show to the client */
  exposeMessage: boolean;
}

export const STORE_ERROR_TO_S3: Record<ErrorCode, S3ErrorMapping> = {
  NoSuchBucket: { s3Code: 'NoSuchBucket', status: 404, exposeMessage: true },
  BucketAlreadyOwnedByYou: { s3Code: 'BucketAlreadyOwnedByYou', status: 409, exposeMessage: true },
  BucketNotEmpty: { s3Code: 'BucketNotEmpty', status: 409, exposeMessage: true },
  InvalidBucketName: { s3Code: 'InvalidBucketName', status: 400, exposeMessage: true },
  NoSuchKey: { s3Code: 'NoSuchKey', status: 404, exposeMessage: true },
  KeyTooLong: { s3Code: 'KeyTooLongError', status: 400, exposeMessage: true },
  InvalidObjectName: { s3Code: 'InvalidArgument', status: 400, exposeMessage: true },
  InvalidRange: { s3Code: 'InvalidRange', status: 416, exposeMessage: true },
  PreconditionFailed: { s3Code: 'PreconditionFailed', status: 412, exposeMessage: true },
  NotModified: { s3Code: 'NotModified', status: 304, exposeMessage: true },
  BadDigest: { s3Code: 'BadDigest', status: 400, exposeMessage: true },
  EntityTooLarge: { s3Code: 'EntityTooLarge', status: 400, exposeMessage: true },
  IncompleteBody: { s3Code: 'IncompleteBody', status: 400, exposeMessage: true },
  NoSuchUpload: { s3Code: 'NoSuchUpload', status: 404, exposeMessage: true },
  InvalidPart: { s3Code: 'InvalidPart', status: 400, exposeMessage: true },
  InvalidPartOrder: { s3Code: 'InvalidPartOrder', status: 400, exposeMessage: true },
  EntityTooSmall: { s3Code: 'EntityTooSmall', status: 400, exposeMessage: true },
  TooManyParts: { s3Code: 'InvalidArgument', status: 400, exposeMessage: true },
  InvalidArgument: { s3Code: 'InvalidArgument', status: 400, exposeMessage: true },
  AccessDenied: { s3Code: 'AccessDenied', status: 403, exposeMessage: true },
  NotImplemented: { s3Code: 'NotImplemented', status: 501, exposeMessage: true },
  // Storage-layer trouble is the server's, not the client's: retryable 503s, opaque messages.
  FragmentNotFound: { s3Code: 'ServiceUnavailable', status: 503, exposeMessage: false },
  Corrupt: { s3Code: 'InternalError', status: 500, exposeMessage: false },
  QuotaExceeded: { s3Code: 'QuotaExceeded', status: 403, exposeMessage: true },
  ReadOnly: { s3Code: 'AccessDenied', status: 403, exposeMessage: true },
  Unavailable: { s3Code: 'SlowDown', status: 503, exposeMessage: false },
  Timeout: { s3Code: 'ServiceUnavailable', status: 503, exposeMessage: false },
  Internal: { s3Code: 'InternalError', status: 500, exposeMessage: false },
};

const GENERIC_MESSAGES: Record<string, string> = {
  InternalError: 'We encountered an internal error. Please try again.',
  SlowDown: 'Please reduce your request rate.',
  ServiceUnavailable: 'Service is unable to handle request.',
};

/** A protocol-level S3 error with its wire code and status. */
export class S3Error extends Error {
  readonly s3Code: string;
  readonly status: number;
  /** extra elements for the XML body (e.g. ArgumentName) */
  readonly extra: Record<string, string>;

  constructor(s3Code: string, status: number, message: string, extra: Record<string, string> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'S3Error';
    this.s3Code = s3Code;
    this.status = status;
    this.extra = extra;
  }
}

export const s3Errors = {
  accessDenied: (msg = 'Access Denied') => new S3Error('AccessDenied', 403, msg),
  invalidAccessKeyId: () =>
    new S3Error('InvalidAccessKeyId', 403, 'The AWS Access Key Id you provided does not exist in our records.'),
  signatureDoesNotMatch: () =>
    new S3Error(
      'SignatureDoesNotMatch',
      403,
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    ),
  authHeaderMalformed: (msg: string) => new S3Error('AuthorizationHeaderMalformed', 400, msg),
  authQueryError: (msg: string) => new S3Error('AuthorizationQueryParametersError', 400, msg),
  skewed: () =>
    new S3Error('RequestTimeTooSkewed', 403, 'The difference between the request time and the current time is too large.'),
  expired: () => new S3Error('AccessDenied', 403, 'Request has expired'),
  contentSha256Mismatch: () =>
    new S3Error('XAmzContentSHA256Mismatch', 400, 'The provided \'x-amz-content-sha256\' header does not match what was computed.'),
  badDigest: (msg = 'The Content-MD5 or checksum you specified did not match what we received.') => new S3Error('BadDigest', 400, msg),
  invalidDigest: () => new S3Error('InvalidDigest', 400, 'The Content-MD5 you specified is not valid.'),
  invalidRequest: (msg: string) => new S3Error('InvalidRequest', 400, msg),
  invalidArgument: (msg: string, name?: string, value?: string) =>
    new S3Error('InvalidArgument', 400, msg, name ? { ArgumentName: name, ArgumentValue: value ?? '' } : {}),
  malformedXml: () =>
    new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema.'),
  notImplemented: (what = 'A header or query you provided implies functionality that is not implemented.') =>
    new S3Error('NotImplemented', 501, what),
  methodNotAllowed: () => new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.'),
  invalidBucketName: (name: string) =>
    new S3Error('InvalidBucketName', 400, 'The specified bucket is not valid.', { BucketName: name }),
  incompleteBody: () => new S3Error('IncompleteBody', 400, 'You did not provide the number of bytes specified by the Content-Length HTTP header.'),
  missingContentLength: () => new S3Error('MissingContentLength', 411, 'You must provide the Content-Length HTTP header.'),
  entityTooLarge: () => new S3Error('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed size.'),
  invalidRange: () => new S3Error('InvalidRange', 416, 'The requested range is not satisfiable'),
  invalidPartNumber: () => new S3Error('InvalidArgument', 400, 'Part number must be an integer between 1 and 10000, inclusive', { ArgumentName: 'partNumber' }),
  headersTooLarge: () =>
    new S3Error('RequestHeaderSectionTooLarge', 400, 'Your request header section exceeds the maximum allowed size.'),
};

export interface ErrorResponse {
  status: number;
  s3Code: string;
  message: string;
  extra: Record<string, string>;
  /** true when the failure was ours (logged at error level) */
  internal: boolean;
}

/** Turns anything thrown by a handler into what goes on the wire. */
export function toErrorResponse(err: unknown): ErrorResponse {
  if (err instanceof S3Error) return { status: err.status, s3Code: err.s3Code, message: err.message, extra: err.extra, internal: false };
  if (isStoreError(err)) {
    const m = STORE_ERROR_TO_S3[err.code];
    const message = m.exposeMessage ? err.message : (GENERIC_MESSAGES[m.s3Code] ?? 'Error');
    return { status: m.status, s3Code: m.s3Code, message, extra: {}, internal: !m.exposeMessage };
  }
  return { status: 500, s3Code: 'InternalError', message: GENERIC_MESSAGES.InternalError, extra: {}, internal: true };
}

export function errorXml(e: ErrorResponse, resource: string, requestId: string): string {
  const fields: [string, string][] = [
    ['Code', e.s3Code],
    ['Message', e.message],
    ...Object.entries(e.extra),
    ['Resource', resource],
    ['RequestId', requestId],
  ];
  return xmlDocument(xmlElement('Error', fields.map(([k, v]) => xmlElement(k, v))));
}
