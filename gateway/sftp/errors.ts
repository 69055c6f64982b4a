/** The one table from path-view errors to SFTP status codes (draft-ietf-secsh-filexfer-02 §7). */
import ssh2 from 'ssh2';
import { toFsError, type FsErrorCode } from '../common/path-view.js';

const { STATUS_CODE } = ssh2.utils.sftp;

export const SFTP_STATUS: Record<FsErrorCode, number> = {
  ENOENT: STATUS_CODE.NO_SUCH_FILE,
  EEXIST: STATUS_CODE.FAILURE,
  ENOTDIR: STATUS_CODE.FAILURE,
  EISDIR: STATUS_CODE.FAILURE,
  ENOTEMPTY: STATUS_CODE.FAILURE,
  EINVAL: STATUS_CODE.FAILURE,
  ENAMETOOLONG: STATUS_CODE.FAILURE,
  EACCES: STATUS_CODE.PERMISSION_DENIED,
  EPERM: STATUS_CODE.PERMISSION_DENIED,
  EPRECONDITION: STATUS_CODE.FAILURE,
  ENOTMODIFIED: STATUS_CODE.FAILURE,
  ENOSPC: STATUS_CODE.FAILURE,
  EROFS: STATUS_CODE.PERMISSION_DENIED,
  EAGAIN: STATUS_CODE.FAILURE,
  EIO: STATUS_CODE.FAILURE,
};

export function sftpStatus(err: unknown): { code: number; message: string } {
  const e = toFsError(err);
  // v3 has few codes; the message carries the precise condition (OpenSSH prints it).
  return { code: SFTP_STATUS[e.code], message: `${e.code}: ${e.message}` };
}
