/**
 * The file-system view of one tenant's store, shared by WebDAV, SFTP and FTP (ARCHITECTURE §7).
 *
 *   /                 the tenant's buckets, shown as folders
 *   /bucket           a bucket (mkdir here = createBucket, rmdir = deleteBucket)
 *   /bucket/a/b.txt   object `a/b.txt`
 *   /bucket/a         a folder when some key starts with `a/`; an empty folder is the marker
 *                     object `a/` of size 0
 *
 * Every path a protocol receives goes through `parsePath` here and nowhere else: `..` (outside the
 * navigation helper), percent-encoded dots / slashes / backslashes, backslashes, NUL and other C0
 * control bytes, segments over 255 bytes and keys over 1024 bytes are refused. Symlinks do not
 * exist in this view; protocols refuse symlink requests with `FsError('EPERM')`.
 *
 * Errors: every method throws `FsError` only (a store error is translated through the one
 * exhaustive table `STORE_TO_FS` below), so each protocol maps `FsErrorCode` to its own replies in
 * ONE table and all three report the same condition the same way.
 *
 * Rename and move are metadata operations (`renameObject` / `renamePrefix`): no data is read or
 * rewritten, also for folders and buckets.
 */
import type { Readable } from 'node:stream';
import type { Body, ObjectInfo, ObjectStore, RangeSpec, ByteRange, Conditions, PutOptions } from '../../backend/core/object-store.js';
import { isStoreError, type ErrorCode } from '../../backend/core/errors.js';

/** POSIX-flavoured conditions every protocol knows how to say. */
export type FsErrorCode =
  | 'ENOENT' // no such file, folder or bucket
  | 'EEXIST' // target exists and may not be replaced
  | 'ENOTDIR' // a path component (or the target) is a file where a folder is needed
  | 'EISDIR' // a folder where a file is needed
  | 'ENOTEMPTY' // folder or bucket still holds objects
  | 'EINVAL' // a name the store cannot hold (bucket naming rules, move into itself, bad range)
  | 'ENAMETOOLONG' // segment > 255 bytes or key > 1024 bytes
  | 'EACCES' // refused path (traversal, NUL, encoded separators) or not allowed for this user
  | 'EPERM' // operation this view does not offer (symlinks, files at the root)
  | 'EPRECONDITION' // an ETag / date precondition failed
  | 'ENOTMODIFIED' // conditional read: not modified
  | 'ENOSPC' // quota / capacity
  | 'EROFS' // read-only store or anonymous read-only access
  | 'EAGAIN' // peers unreachable or slow: try again later
  | 'EIO'; // corruption, internal failure, digest mismatch

export class FsError extends Error {
  readonly code: FsErrorCode;

  constructor(code: FsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FsError';
    this.code = code;
  }
}

export function isFsError(err: unknown, code?: FsErrorCode): err is FsError {
  return err instanceof FsError && (code === undefined || err.code === code);
}

/** One exhaustive table: what each store error means to a file client. */
const STORE_TO_FS: Record<ErrorCode, FsErrorCode> = {
  NoSuchBucket: 'ENOENT',
  BucketAlreadyOwnedByYou: 'EEXIST',
  BucketNotEmpty: 'ENOTEMPTY',
  InvalidBucketName: 'EINVAL',
  NoSuchKey: 'ENOENT',
  KeyTooLong: 'ENAMETOOLONG',
  InvalidObjectName: 'EINVAL',
  InvalidRange: 'EINVAL',
  PreconditionFailed: 'EPRECONDITION',
  NotModified: 'ENOTMODIFIED',
  BadDigest: 'EIO',
  EntityTooLarge: 'ENOSPC',
  IncompleteBody: 'EIO',
  NoSuchUpload: 'ENOENT',
  InvalidPart: 'EINVAL',
  InvalidPartOrder: 'EINVAL',
  EntityTooSmall: 'EINVAL',
  TooManyParts: 'EINVAL',
  InvalidArgument: 'EINVAL',
  AccessDenied: 'EACCES',
  NotImplemented: 'EPERM',
  FragmentNotFound: 'EIO',
  Corrupt: 'EIO',
  QuotaExceeded: 'ENOSPC',
  ReadOnly: 'EROFS',
  Unavailable: 'EAGAIN',
  Timeout: 'EAGAIN',
  Internal: 'EIO',
};

/** Translates anything thrown by the store into an FsError (FsErrors pass through). */
export function toFsError(err: unknown): FsError {
  if (err instanceof FsError) return err;
  if (isStoreError(err)) return new FsError(STORE_TO_FS[err.code], err.message, { cause: err });
  return new FsError('EIO', 'internal error', { cause: err });
}

async function fs<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw toFsError(err);
  }
}

export const MAX_SEGMENT_BYTES = 255;
export const MAX_KEY_BYTES = 1024;

/** A checked location in the view. `key` never starts with '/' and never ends with '/'. */
export type ParsedPath =
  | { kind: 'root'; path: '/' }
  | { kind: 'bucket'; path: string; bucket: string }
  | { kind: 'key'; path: string; bucket: string; key: string; name: string };

// Percent-encoded '.', '/', '\' and NUL: a client that sends these after the protocol's own
// decoding is trying a double-encoding traversal, never naming a real file.
const ENCODED_TRICK = /%(2e|2f|5c|00)/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function refuse(code: FsErrorCode, why: string): never {
  throw new FsError(code, why);
}

function checkSegment(seg: string): void {
  if (seg === '..') refuse('EACCES', 'path may not contain ".."');
  if (CONTROL.test(seg)) refuse('EACCES', 'path may not contain NUL or control characters');
  if (seg.includes('\\')) refuse('EACCES', 'path may not contain backslashes');
  if (ENCODED_TRICK.test(seg)) refuse('EACCES', 'path may not contain encoded dots or separators');
  if (Buffer.byteLength(seg, 'utf8') > MAX_SEGMENT_BYTES) refuse('ENAMETOOLONG', `name longer than ${MAX_SEGMENT_BYTES} bytes`);
}

/**
 * Checks and splits an absolute view path. Relative paths are resolved against `cwd` (default
 * '/'); `.` and empty segments are dropped; `..` is refused (see `resolveNavigation` for `cd ..`).
 */
export function parsePath(input: string, cwd = '/'): ParsedPath {
  if (typeof input !== 'string') refuse('EINVAL', 'path must be a string');
  const full = input.startsWith('/') ? input : `${cwd.replace(/\/+$/, '')}/${input}`;
  const segs: string[] = [];
  for (const seg of full.split('/')) {
    if (seg === '' || seg === '.') continue;
    checkSegment(seg);
    segs.push(seg);
  }
  if (segs.length === 0) return { kind: 'root', path: '/' };
  const bucket = segs[0];
  if (segs.length === 1) return { kind: 'bucket', path: `/${bucket}`, bucket };
  const key = segs.slice(1).join('/');
  if (Buffer.byteLength(key, 'utf8') + 1 > MAX_KEY_BYTES) refuse('ENAMETOOLONG', `key longer than ${MAX_KEY_BYTES - 1} bytes`);
  return { kind: 'key', path: `/${segs.join('/')}`, bucket, key, name: segs[segs.length - 1] };
}

/**
 * For navigation only (SFTP realpath, FTP CWD/CDUP): resolves `..` lexically and refuses any
 * path that climbs above the root, so `cd ..` works and nothing can leave the view. The result is
 * then checked by parsePath like any other path.
 */
export function resolveNavigation(input: string, cwd = '/'): string {
  const full = input.startsWith('/') ? input : `${cwd.replace(/\/+$/, '')}/${input}`;
  const segs: string[] = [];
  for (const seg of full.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (segs.length === 0) refuse('EACCES', 'path climbs above the root');
      segs.pop();
      continue;
    }
    segs.push(seg);
  }
  return parsePath(`/${segs.join('/')}`).path;
}

export interface FsStat {
  path: string;
  name: string;
  type: 'file' | 'dir';
  size: number;
  mtime: Date;
  /** object ETag without quotes (files only) */
  etag?: string;
  /** the bucket's or the folder marker's, when known */
  kind: 'root' | 'bucket' | 'folder' | 'file';
}

export interface ReadResult {
  stat: FsStat;
  body: Readable;
  range?: ByteRange;
  contentLength: number;
  info: ObjectInfo;
}

const EPOCH = new Date(0);

function fileStat(path: string, name: string, size: number, mtime: Date, etag: string): FsStat {
  return { path, name, type: 'file', size, mtime, etag, kind: 'file' };
}

function dirStat(path: string, name: string, mtime: Date, kind: FsStat['kind']): FsStat {
  return { path, name, type: 'dir', size: 0, mtime, kind };
}

async function* emptyBody(): AsyncIterable<Uint8Array> {}

export interface RenameOptions {
  /** replace an existing destination file (posix-rename, FTP RNTO, WebDAV Overwrite: T) */
  overwrite?: boolean;
}

/** The path view over one tenant's store. Cheap to create; holds no state besides the store. */
export class PathView {
  readonly store: ObjectStore;
  readonly #readOnly: boolean;

  constructor(store: ObjectStore, init: { readOnly?: boolean } = {}) {
    this.store = store;
    this.#readOnly = init.readOnly ?? false;
  }

  get readOnly(): boolean {
    return this.#readOnly;
  }

  #writable(): void {
    if (this.#readOnly) refuse('EROFS', 'read-only access');
  }

  /** ENOENT when nothing is there. A file wins over a folder of the same name. */
  async stat(path: string): Promise<FsStat> {
    return this.statParsed(parsePath(path));
  }

  async statParsed(p: ParsedPath): Promise<FsStat> {
    if (p.kind === 'root') return dirStat('/', '/', EPOCH, 'root');
    if (p.kind === 'bucket') {
      const b = await fs(this.store.headBucket(p.bucket));
      return dirStat(p.path, p.bucket, b.created, 'bucket');
    }
    try {
      const info = await this.store.headObject(p.bucket, p.key);
      return fileStat(p.path, p.name, info.size, info.lastModified, info.etag);
    } catch (err) {
      if (!isStoreError(err, 'NoSuchKey')) throw toFsError(err);
    }
    const list = await fs(this.store.listObjects(p.bucket, { prefix: `${p.key}/`, maxKeys: 1 }));
    if (list.objects.length === 0 && list.commonPrefixes.length === 0) refuse('ENOENT', `${p.path}: no such file or folder`);
    const marker = list.objects[0]?.key === `${p.key}/` ? list.objects[0] : undefined;
    return dirStat(p.path, p.name, marker?.lastModified ?? EPOCH, 'folder');
  }

  async exists(path: string): Promise<boolean> {
    try {
      await this.stat(path);
      return true;
    } catch (err) {
      if (isFsError(err, 'ENOENT')) return false;
      throw err;
    }
  }

  /** The entries of a folder, bucket or the root, sorted by name (UTF-8 byte order). ENOTDIR on a file. */
  async list(path: string): Promise<FsStat[]> {
    const p = parsePath(path);
    const self = await this.statParsed(p);
    if (self.type !== 'dir') refuse('ENOTDIR', `${p.path} is a file`);
    if (p.kind === 'root') {
      const buckets = await fs(this.store.listBuckets());
      return buckets.map((b) => dirStat(`/${b.name}`, b.name, b.created, 'bucket'));
    }
    const prefix = p.kind === 'key' ? `${p.key}/` : '';
    const base = p.path === '/' ? '' : p.path;
    const byName = new Map<string, FsStat>();
    let token: string | undefined;
    do {
      const page = await fs(this.store.listObjects(p.bucket, { prefix, delimiter: '/', continuationToken: token }));
      for (const cp of page.commonPrefixes) {
        const name = cp.slice(prefix.length, -1);
        if (name === '' || !this.#listable(name)) continue;
        if (!byName.has(name)) byName.set(name, dirStat(`${base}/${name}`, name, self.mtime, 'folder'));
      }
      for (const o of page.objects) {
        const name = o.key.slice(prefix.length);
        // The folder's own marker, and keys no file client could address, stay hidden.
        if (name === '' || !this.#listable(name)) continue;
        byName.set(name, fileStat(`${base}/${name}`, name, o.size, o.lastModified, o.etag));
      }
      token = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (token);
    return [...byName.values()].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  }

  #listable(name: string): boolean {
    try {
      checkSegment(name);
      return name !== '.';
    } catch {
      return false;
    }
  }

  /** Reads a file (optionally a byte range). EISDIR on a folder. The caller consumes or destroys body. */
  async read(path: string, options: { range?: RangeSpec; conditions?: Conditions } = {}): Promise<ReadResult> {
    const p = parsePath(path);
    if (p.kind !== 'key') refuse('EISDIR', `${p.path} is a folder`);
    try {
      const r = await this.store.getObject(p.bucket, p.key, { range: options.range, conditions: options.conditions });
      return {
        stat: fileStat(p.path, p.name, r.info.size, r.info.lastModified, r.info.etag),
        body: r.body,
        range: r.range,
        contentLength: r.contentLength,
        info: r.info,
      };
    } catch (err) {
      if (isStoreError(err, 'NoSuchKey') && (await this.#isFolder(p))) refuse('EISDIR', `${p.path} is a folder`);
      throw toFsError(err);
    }
  }

  async #isFolder(p: ParsedPath & { kind: 'key' }): Promise<boolean> {
    const list = await fs(this.store.listObjects(p.bucket, { prefix: `${p.key}/`, maxKeys: 1 }));
    return list.objects.length > 0 || list.commonPrefixes.length > 0;
  }

  /** The parent folder must exist (ENOENT) and be a folder (ENOTDIR). */
  async #checkParent(p: ParsedPath & { kind: 'key' }): Promise<void> {
    const slash = p.key.lastIndexOf('/');
    if (slash < 0) {
      await fs(this.store.headBucket(p.bucket));
      return;
    }
    const parent = await this.statParsed(parsePath(`/${p.bucket}/${p.key.slice(0, slash)}`)).catch((err: unknown) => {
      if (isFsError(err, 'ENOENT')) refuse('ENOENT', `${p.path}: parent folder does not exist`);
      throw err;
    });
    if (parent.type !== 'dir') refuse('ENOTDIR', `${p.path}: parent is a file`);
  }

  /**
   * Stores a whole file from `body` (consumed fully). The parent folder must exist; EISDIR when
   * a folder has that name; EPERM at the root (files live in buckets).
   */
  async write(path: string, body: Body, options: PutOptions = {}): Promise<ObjectInfo> {
    this.#writable();
    const p = parsePath(path);
    if (p.kind !== 'key') refuse(p.kind === 'root' ? 'EISDIR' : 'EPERM', `${p.path}: files live inside buckets`);
    await this.#checkParent(p);
    if (await this.#isFolder(p)) refuse('EISDIR', `${p.path} is a folder`);
    return fs(this.store.putObject(p.bucket, p.key, body, options));
  }

  /** Checks a write could succeed (same checks as write) without storing anything. */
  async checkWritable(path: string): Promise<ParsedPath & { kind: 'key' }> {
    this.#writable();
    const p = parsePath(path);
    if (p.kind !== 'key') refuse(p.kind === 'root' ? 'EISDIR' : 'EPERM', `${p.path}: files live inside buckets`);
    await this.#checkParent(p);
    if (await this.#isFolder(p)) refuse('EISDIR', `${p.path} is a folder`);
    return p;
  }

  /** Deletes one file. ENOENT when absent, EISDIR on a folder. Keeps the parent folder visible. */
  async unlink(path: string): Promise<void> {
    this.#writable();
    const p = parsePath(path);
    const st = await this.statParsed(p);
    if (st.type !== 'file' || p.kind !== 'key') refuse('EISDIR', `${p.path} is a folder`);
    await fs(this.store.deleteObject(p.bucket, p.key));
    await this.#keepFolder(p.bucket, p.key);
  }

  /** After a key left its folder: if the folder is now empty and had no marker, write one, so the
   *  folder a client created or saw does not vanish under it. */
  async #keepFolder(bucket: string, key: string): Promise<void> {
    const slash = key.lastIndexOf('/');
    if (slash < 0) return;
    const folder = key.slice(0, slash + 1);
    const list = await fs(this.store.listObjects(bucket, { prefix: folder, maxKeys: 1 }));
    if (list.objects.length === 0 && list.commonPrefixes.length === 0) {
      await fs(this.store.putObject(bucket, folder, emptyBody(), { expectedSize: 0 }));
    }
  }

  /** Creates a folder (marker object) or, at the top level, a bucket. EEXIST, ENOENT (no parent). */
  async mkdir(path: string): Promise<void> {
    this.#writable();
    const p = parsePath(path);
    if (p.kind === 'root') refuse('EEXIST', '/ exists');
    if (p.kind === 'bucket') {
      await fs(this.store.createBucket(p.bucket));
      return;
    }
    await this.#checkParent(p);
    if (await this.exists(p.path)) refuse('EEXIST', `${p.path} exists`);
    await fs(this.store.putObject(p.bucket, `${p.key}/`, emptyBody(), { expectedSize: 0 }));
  }

  /** Removes an empty folder or bucket. ENOTEMPTY, ENOTDIR, ENOENT. */
  async rmdir(path: string): Promise<void> {
    this.#writable();
    const p = parsePath(path);
    if (p.kind === 'root') refuse('EACCES', 'cannot remove /');
    if (p.kind === 'bucket') {
      await fs(this.store.deleteBucket(p.bucket));
      return;
    }
    const st = await this.statParsed(p);
    if (st.type !== 'dir') refuse('ENOTDIR', `${p.path} is a file`);
    const list = await fs(this.store.listObjects(p.bucket, { prefix: `${p.key}/`, maxKeys: 2 }));
    if (list.commonPrefixes.length > 0 || list.objects.some((o) => o.key !== `${p.key}/`)) refuse('ENOTEMPTY', `${p.path} is not empty`);
    await fs(this.store.deleteObject(p.bucket, `${p.key}/`));
    await this.#keepFolder(p.bucket, p.key);
  }

  /** Deletes a file, or a folder / bucket with everything in it (WebDAV DELETE). ENOENT. */
  async removeTree(path: string): Promise<void> {
    this.#writable();
    const p = parsePath(path);
    if (p.kind === 'root') refuse('EACCES', 'cannot remove /');
    const st = await this.statParsed(p);
    if (st.type === 'file' && p.kind === 'key') {
      await fs(this.store.deleteObject(p.bucket, p.key));
      await this.#keepFolder(p.bucket, p.key);
      return;
    }
    const prefix = p.kind === 'key' ? `${p.key}/` : '';
    for (;;) {
      const page = await fs(this.store.listObjects(p.bucket, { prefix }));
      for (const o of page.objects) await fs(this.store.deleteObject(p.bucket, o.key));
      if (!page.isTruncated) break;
    }
    if (p.kind === 'bucket') await fs(this.store.deleteBucket(p.bucket));
    else await this.#keepFolder(p.bucket, p.key);
  }

  /**
   * Moves a file, folder or bucket: metadata only. The destination's parent must exist (ENOENT).
   * An existing destination file is replaced only with `overwrite` (else EEXIST); an existing
   * destination folder must be empty (ENOTEMPTY) and is replaced. Moving a folder into itself is
   * EINVAL.
   */
  async rename(from: string, to: string, options: RenameOptions = {}): Promise<void> {
    this.#writable();
    const a = parsePath(from);
    const b = parsePath(to);
    if (a.kind === 'root' || b.kind === 'root') refuse('EACCES', 'cannot move /');
    if (a.path === b.path) return;
    const src = await this.statParsed(a);
    if (src.type === 'dir' && (b.path + '/').startsWith(a.path + '/')) refuse('EINVAL', 'cannot move a folder into itself');
    if (src.type === 'file' && b.kind !== 'key') refuse('EPERM', `${b.path}: files live inside buckets`);
    if (b.kind === 'key') await this.#checkParent(b);
    const dst = await this.statParsed(b).catch((err: unknown) => {
      if (isFsError(err, 'ENOENT')) return undefined;
      throw err;
    });
    if (dst) {
      if (dst.type === 'file' && src.type === 'dir') refuse('ENOTDIR', `${b.path} is a file`);
      if (dst.type === 'dir' && src.type === 'file') refuse('EISDIR', `${b.path} is a folder`);
      if (dst.type === 'file' && !options.overwrite) refuse('EEXIST', `${b.path} exists`);
      if (dst.type === 'dir') {
        const prefix = b.kind === 'key' ? `${b.key}/` : '';
        const list = await fs(this.store.listObjects(b.bucket, { prefix, maxKeys: 2 }));
        if (list.commonPrefixes.length > 0 || list.objects.some((o) => o.key !== prefix)) refuse('ENOTEMPTY', `${b.path} is not empty`);
        if (!options.overwrite && b.kind === 'bucket') refuse('EEXIST', `${b.path} exists`);
        if (b.kind === 'key') await fs(this.store.deleteObject(b.bucket, prefix));
      }
    }
    if (src.type === 'file' && a.kind === 'key' && b.kind === 'key') {
      await fs(this.store.renameObject(a.bucket, a.key, b.bucket, b.key));
      await this.#keepFolder(a.bucket, a.key);
      return;
    }
    const fromPrefix = a.kind === 'key' ? `${a.key}/` : '';
    const toPrefix = b.kind === 'key' ? `${b.key}/` : '';
    if (b.kind === 'bucket' && !dst) await fs(this.store.createBucket(b.bucket));
    if (a.kind === 'key' && b.kind === 'key' && !(await this.#hasKey(a.bucket, fromPrefix))) {
      // An implied folder (no marker) keeps existing at its new place only through its contents;
      // give it a marker there first so an implied-then-emptied folder does not vanish.
      await fs(this.store.putObject(b.bucket, toPrefix, emptyBody(), { expectedSize: 0 }));
    }
    await fs(this.store.renamePrefix(a.bucket, fromPrefix, b.bucket, toPrefix));
    if (a.kind === 'bucket') await fs(this.store.deleteBucket(a.bucket));
    else await this.#keepFolder(a.bucket, a.key);
  }

  async #hasKey(bucket: string, key: string): Promise<boolean> {
    try {
      await this.store.headObject(bucket, key);
      return true;
    } catch (err) {
      if (isStoreError(err, 'NoSuchKey')) return false;
      throw toFsError(err);
    }
  }

  /**
   * Copies a file, or a folder with everything in it (chunks are shared, nothing is re-uploaded).
   * Same destination rules as rename; an existing destination is replaced only with `overwrite`.
   */
  async copy(from: string, to: string, options: RenameOptions = {}): Promise<void> {
    this.#writable();
    const a = parsePath(from);
    const b = parsePath(to);
    if (a.kind === 'root' || b.kind === 'root') refuse('EACCES', 'cannot copy /');
    if (a.path === b.path) refuse('EINVAL', 'source and destination are the same');
    const src = await this.statParsed(a);
    if (src.type === 'dir' && (b.path + '/').startsWith(a.path + '/')) refuse('EINVAL', 'cannot copy a folder into itself');
    if (src.type === 'file' && b.kind !== 'key') refuse('EPERM', `${b.path}: files live inside buckets`);
    if (b.kind === 'key') await this.#checkParent(b);
    const dst = await this.statParsed(b).catch((err: unknown) => {
      if (isFsError(err, 'ENOENT')) return undefined;
      throw err;
    });
    if (dst && !options.overwrite) refuse('EEXIST', `${b.path} exists`);
    if (dst && dst.type === 'dir' && b.kind === 'key') await this.removeTree(b.path);
    if (dst && dst.type === 'file' && src.type === 'dir' && b.kind === 'key') await fs(this.store.deleteObject(b.bucket, b.key));
    if (src.type === 'file' && a.kind === 'key' && b.kind === 'key') {
      if (dst?.type === 'dir') await this.removeTree(b.path);
      await fs(this.store.copyObject({ bucket: a.bucket, key: a.key }, b.bucket, b.key));
      return;
    }
    const fromPrefix = a.kind === 'key' ? `${a.key}/` : '';
    const toPrefix = b.kind === 'key' ? `${b.key}/` : '';
    if (b.kind === 'bucket' && !dst) await fs(this.store.createBucket(b.bucket));
    if (b.kind === 'key') await fs(this.store.putObject(b.bucket, toPrefix, emptyBody(), { expectedSize: 0 }));
    let token: string | undefined;
    do {
      const page = await fs(this.store.listObjects(a.bucket, { prefix: fromPrefix, continuationToken: token }));
      for (const o of page.objects) {
        const rest = o.key.slice(fromPrefix.length);
        if (rest === '') continue;
        await fs(this.store.copyObject({ bucket: a.bucket, key: o.key }, b.bucket, toPrefix + rest));
      }
      token = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (token);
  }
}
