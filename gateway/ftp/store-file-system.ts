/**
 * ftp-srv FileSystem over the shared path view. ftp-srv hands over raw command arguments; every
 * one is resolved against the session's cwd and checked by parsePath (CWD/CDUP may use `..`
 * through resolveNavigation, which never leaves the root). STOR streams straight into putObject;
 * APPE and REST+STOR go through the write spool.
 */
import { PassThrough, Writable, type Readable } from 'node:stream';
import { FileSystem, type FtpConnection } from 'ftp-srv';
import { FsError, parsePath, resolveNavigation, type FsStat, type PathView } from '../common/path-view.js';
import { WriteSpool } from '../common/spool.js';
import { ftpError } from './errors.js';

/** What ftp-srv's LIST formatter and SIZE/MDTM read from a stat. */
export interface FtpStat {
  name: string;
  size: number;
  mtime: Date;
  mode: number;
  uid: number;
  gid: number;
  isDirectory(): boolean;
}

function ftpStat(st: FsStat): FtpStat {
  const dir = st.type === 'dir';
  return { name: st.name, size: st.size, mtime: st.mtime, mode: dir ? 0o755 : 0o644, uid: 1, gid: 1, isDirectory: () => dir };
}

async function wrap<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw ftpError(err);
  }
}

export class StoreFtpFileSystem extends FileSystem {
  readonly #view: PathView;
  readonly #spoolDir?: string;
  #cwd = '/';
  /** payload bytes of transfers since the last takeTransferred() (request metrics) */
  #bytesIn = 0;
  #bytesOut = 0;

  constructor(connection: FtpConnection, view: PathView, spoolDir?: string) {
    super(connection, { root: '/', cwd: '/' });
    this.#view = view;
    this.#spoolDir = spoolDir;
  }

  /** Bytes received (STOR, APPE) and sent (RETR, whole downloads only) since the last call. */
  takeTransferred(): { bytesIn: number; bytesOut: number } {
    const r = { bytesIn: this.#bytesIn, bytesOut: this.#bytesOut };
    this.#bytesIn = 0;
    this.#bytesOut = 0;
    return r;
  }

  #countIn = (n: number): void => {
    this.#bytesIn += n;
  };

  #abs(path: string | undefined): string {
    return parsePath(path ?? '.', this.#cwd).path;
  }

  override currentDirectory(): string {
    return this.#cwd;
  }

  override get(fileName: string): Promise<FtpStat> {
    return wrap(async () => ftpStat(await this.#view.stat(this.#abs(fileName))));
  }

  override list(path = '.'): Promise<FtpStat[]> {
    return wrap(async () => (await this.#view.list(this.#abs(path))).map(ftpStat));
  }

  /** Full path view entries, for MLSD. */
  entries(path = '.'): Promise<FsStat[]> {
    return wrap(async () => this.#view.list(this.#abs(path)));
  }

  stat(path = '.'): Promise<FsStat> {
    return wrap(async () => this.#view.stat(this.#abs(path)));
  }

  override chdir(path = '.'): Promise<string> {
    return wrap(async () => {
      const target = resolveNavigation(path, this.#cwd);
      const st = await this.#view.stat(target);
      if (st.type !== 'dir') throw new FsError('ENOTDIR', `${target} is a file`);
      this.#cwd = target;
      return target;
    });
  }

  override write(fileName: string, { append = false, start = undefined }: { append?: boolean; start?: number } = {}): Promise<{ stream: Writable; clientPath: string }> {
    return wrap(async () => {
      const path = this.#abs(fileName);
      if (!append && !start) return { stream: this.#direct(path), clientPath: path };
      const spool = await WriteSpool.open(this.#view, path, { truncate: false, dir: this.#spoolDir });
      if (!append) await spool.truncate(Math.min(start ?? 0, spool.size));
      let offset = append ? spool.size : (start ?? 0);
      const count = this.#countIn;
      const stream = new Writable({
        highWaterMark: 1 << 20,
        write(chunk: Buffer, _enc, cb) {
          count(chunk.length);
          spool.write(offset, chunk).then(() => {
            offset += chunk.length;
            cb();
          }, cb);
        },
        final(cb) {
          spool.commit().then(() => cb(), (err: unknown) => cb(ftpError(err)));
        },
        destroy(err, cb) {
          spool.abort().then(() => cb(err), () => cb(err));
        },
      });
      return { stream, clientPath: path };
    });
  }

  /** Plain STOR: the data connection streams straight into one putObject. */
  #direct(path: string): Writable {
    const pass = new PassThrough({ highWaterMark: 1 << 20 });
    const put = this.#view.write(path, pass);
    put.catch(() => undefined);
    const count = this.#countIn;
    return new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _enc, cb) {
        count(chunk.length);
        if (pass.write(chunk)) cb();
        else pass.once('drain', () => cb());
      },
      final(cb) {
        pass.end();
        put.then(() => cb(), (err: unknown) => cb(ftpError(err)));
      },
      destroy(err, cb) {
        // A transfer cut short must not store a truncated file: fail the put.
        if (!pass.writableFinished) pass.destroy(err ?? new Error('transfer aborted'));
        cb(err);
      },
    });
  }

  override read(fileName: string, { start = undefined }: { start?: number } = {}): Promise<{ stream: Readable; clientPath: string }> {
    return wrap(async () => {
      const path = this.#abs(fileName);
      const r = await this.#view.read(path, start ? { range: { start } } : {});
      // counted once, when the whole body was read (no per-chunk work)
      r.body.once('end', () => {
        this.#bytesOut += r.contentLength;
      });
      return { stream: r.body, clientPath: path };
    });
  }

  override delete(path: string): Promise<void> {
    return wrap(async () => {
      const abs = this.#abs(path);
      const st = await this.#view.stat(abs);
      if (st.type === 'dir') await this.#view.rmdir(abs);
      else await this.#view.unlink(abs);
    });
  }

  override mkdir(path: string): Promise<string> {
    return wrap(async () => {
      const abs = this.#abs(path);
      await this.#view.mkdir(abs);
      return abs;
    });
  }

  override rename(from: string, to: string): Promise<void> {
    return wrap(async () => this.#view.rename(this.#abs(from), this.#abs(to), { overwrite: true }));
  }

  override chmod(): Promise<void> {
    // Objects have no permission bits; accepted so clients that chmod after upload do not fail.
    return Promise.resolve();
  }

  override getUniqueName(fileName: string): string {
    return `${fileName.replace(/[^A-Za-z0-9._-]/g, '_')}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  }
}
