/**
 * The one table from path-view errors to FTP replies (RFC 959 §4.2, RFC 3659). ftp-srv picks the
 * reply code per command (mostly 550, 451 for listings); where we answer ourselves (MLSD/MLST,
 * refused logins) the code here is used, and the text always names the condition.
 */
import type { FsErrorCode } from '../common/path-view.js';
import { FsError, toFsError } from '../common/path-view.js';

export const FTP_REPLY: Record<FsErrorCode, { code: number; text: string }> = {
  ENOENT: { code: 550, text: 'No such file or directory' },
  EEXIST: { code: 550, text: 'File exists' },
  ENOTDIR: { code: 550, text: 'Not a directory' },
  EISDIR: { code: 550, text: 'Is a directory' },
  ENOTEMPTY: { code: 550, text: 'Directory not empty' },
  EINVAL: { code: 553, text: 'File name not allowed' },
  ENAMETOOLONG: { code: 553, text: 'File name too long' },
  EACCES: { code: 550, text: 'Permission denied' },
  EPERM: { code: 550, text: 'Operation not permitted' },
  EPRECONDITION: { code: 550, text: 'Precondition failed' },
  ENOTMODIFIED: { code: 550, text: 'Not modified' },
  ENOSPC: { code: 552, text: 'Storage space exceeded' },
  EROFS: { code: 550, text: 'Read-only' },
  EAGAIN: { code: 450, text: 'Storage temporarily unavailable, try again' },
  EIO: { code: 451, text: 'Local error in processing' },
};

/** An Error whose message is the FTP text for the condition (ftp-srv sends err.message). */
export function ftpError(err: unknown): Error & { code: number } {
  // Already translated (a FileSystem method's error seen again by MLSD/MLST): keep it.
  if (err instanceof Error && err.cause instanceof FsError && typeof (err as { code?: unknown }).code === 'number') return err as Error & { code: number };
  const e = toFsError(err);
  const r = FTP_REPLY[e.code];
  return Object.assign(new Error(`${r.text}: ${e.message}`, { cause: e }), { code: r.code });
}
