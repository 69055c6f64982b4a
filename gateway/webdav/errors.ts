/**
 * The one table from path-view errors to WebDAV replies (RFC 4918 §9 / RFC 9110 status codes).
 * webdav-server turns a callback error into a status by object identity, so each FsErrorCode gets
 * either one of webdav-server's own error objects (where its command logic depends on which one,
 * e.g. ResourceNotFound makes PUT create, IntermediateResourceMissing makes MKCOL answer 409) or a
 * sentinel of ours registered with its status once at load.
 */
import { v2 } from 'webdav-server';
import type { FsErrorCode } from '../common/path-view.js';
import { toFsError } from '../common/path-view.js';

function sentinel(name: string, status: number): Error {
  const e = new Error(name);
  (v2.HTTPRequestContext as unknown as { defaultErrorStatusCodes: { error: Error; code: number }[] }).defaultErrorStatusCodes.push({
    error: e,
    code: status,
  });
  return e;
}

const NotADirectory = sentinel('peerstor: parent or target is a file', 409);
const IsADirectory = sentinel('peerstor: target is a collection', 405);
const NotEmpty = sentinel('peerstor: collection not empty', 409);
const BadName = sentinel('peerstor: name refused', 400);
const NameTooLong = sentinel('peerstor: name too long', 414);
const Refused = sentinel('peerstor: refused', 403);
const PreconditionFailed = sentinel('peerstor: precondition failed', 412);
const NotModified = sentinel('peerstor: not modified', 304);
const ReadOnly = sentinel('peerstor: read-only', 403);
const TryLater = sentinel('peerstor: storage unavailable', 503);
const Failed = sentinel('peerstor: storage error', 500);

export const WEBDAV_ERRORS: Record<FsErrorCode, Error> = {
  ENOENT: v2.Errors.ResourceNotFound,
  EEXIST: v2.Errors.ResourceAlreadyExists,
  ENOTDIR: NotADirectory,
  EISDIR: IsADirectory,
  ENOTEMPTY: NotEmpty,
  EINVAL: BadName,
  ENAMETOOLONG: NameTooLong,
  EACCES: Refused,
  EPERM: Refused,
  EPRECONDITION: PreconditionFailed,
  ENOTMODIFIED: NotModified,
  ENOSPC: v2.Errors.InsufficientStorage,
  EROFS: ReadOnly,
  EAGAIN: TryLater,
  EIO: Failed,
};

/** The same table as plain statuses, for the requests served without webdav-server (GET/HEAD). */
export const WEBDAV_STATUS: Record<FsErrorCode, number> = {
  ENOENT: 404,
  EEXIST: 409,
  ENOTDIR: 409,
  EISDIR: 405,
  ENOTEMPTY: 409,
  EINVAL: 400,
  ENAMETOOLONG: 414,
  EACCES: 403,
  EPERM: 403,
  EPRECONDITION: 412,
  ENOTMODIFIED: 304,
  ENOSPC: 507,
  EROFS: 403,
  EAGAIN: 503,
  EIO: 500,
};

export function webdavError(err: unknown): Error {
  return WEBDAV_ERRORS[toFsError(err).code];
}
