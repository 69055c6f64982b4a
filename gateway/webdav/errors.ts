/**
 * The one table from path-view errors to WebDAV replies (RFC 4918 §9 / RFC 9110 status codes).
 * Method handlers override single entries where RFC 4918 says otherwise for that method (e.g. a
 * missing parent is 409 for PUT, MKCOL, COPY and MOVE), see `fsStatus` in request.ts.
 */
import type { FsErrorCode } from '../common/path-view.js';

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
