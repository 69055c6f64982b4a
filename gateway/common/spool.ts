/**
 * Random-offset and append writes for file protocols (sshfs, borg, SFTP/FTP resumes). The object
 * store only takes whole objects, so such a file is spooled to a private temporary file and
 * committed with one putObject when the client closes it; until then nobody else sees it (a put is
 * atomic). When the file is opened without truncation, the existing content is copied in first so
 * partial overwrites and appends keep the rest.
 *
 * Contract: every spool MUST end with exactly one `commit()` or `abort()`; both remove the temp
 * file. The spool never holds file content in memory beyond one write's buffer.
 */
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import type { ObjectInfo } from '../../backend/core/object-store.js';
import { FsError, isFsError, toFsError, type PathView } from './path-view.js';

export interface SpoolInit {
  /** where temp files go (default: os.tmpdir()) */
  dir?: string;
  /** discard existing content (O_TRUNC / FTP STOR) instead of copying it in */
  truncate: boolean;
  /** fail with EEXIST if the file exists (O_EXCL) */
  exclusive?: boolean;
}

export class WriteSpool {
  readonly path: string;
  readonly #view: PathView;
  readonly #dir: string;
  readonly #fh: FileHandle;
  #size: number;
  #dirty: boolean;
  #done = false;
  // Contiguous writes are gathered here and written in one go: SFTP clients send 32 KiB pieces,
  // and one positional write per piece made uploads latency-bound.
  #pending: Buffer[] = [];
  #pendingStart = 0;
  #pendingLength = 0;

  private constructor(view: PathView, path: string, dir: string, fh: FileHandle, size: number, dirty: boolean) {
    this.#view = view;
    this.path = path;
    this.#dir = dir;
    this.#fh = fh;
    this.#size = size;
    this.#dirty = dirty;
  }

  /**
   * Opens a spool for `path`: checks it can be written (parent exists, not a folder), and copies
   * the current content in unless `truncate`. A file that does not exist yet is created on commit
   * even if nothing is written (so `touch` / empty STOR work).
   */
  static async open(view: PathView, path: string, init: SpoolInit): Promise<WriteSpool> {
    const p = await view.checkWritable(path);
    let exists = true;
    try {
      const st = await view.stat(p.path);
      if (st.type !== 'file') throw new FsError('EISDIR', `${p.path} is a folder`);
    } catch (err) {
      if (!isFsError(err, 'ENOENT')) throw err;
      exists = false;
    }
    if (exists && init.exclusive) throw new FsError('EEXIST', `${p.path} exists`);
    const dir = await mkdtemp(join(init.dir ?? tmpdir(), 'peerstor-spool-'));
    let fh: FileHandle | undefined;
    try {
      fh = await open(join(dir, 'data'), 'w+', 0o600);
      let size = 0;
      if (exists && !init.truncate) {
        const r = await view.read(p.path);
        const target = fh;
        await pipeline(
          r.body,
          new Writable({
            write(chunk: Buffer, _enc, cb) {
              target.write(chunk, 0, chunk.length, size).then(
                () => {
                  size += chunk.length;
                  cb();
                },
                (err: Error) => cb(err),
              );
            },
          }),
        );
      }
      // A new or truncated file must be written on commit even if the client writes nothing.
      return new WriteSpool(view, p.path, dir, fh, size, !exists || init.truncate);
    } catch (err) {
      await fh?.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      throw toFsError(err);
    }
  }

  get size(): number {
    return this.#size;
  }

  get dirty(): boolean {
    return this.#dirty;
  }

  /** Writes at an offset; a gap past the end reads back as zeros (like a sparse file). */
  async write(offset: number, data: Uint8Array): Promise<void> {
    this.#live();
    const contiguous = this.#pendingLength > 0 && offset === this.#pendingStart + this.#pendingLength;
    if (!contiguous || this.#pendingLength + data.length > GATHER_BYTES) await this.#flush();
    if (data.length >= GATHER_BYTES) {
      await this.#writeAt(offset, data);
    } else {
      if (this.#pendingLength === 0) this.#pendingStart = offset;
      // Copied: the caller may reuse its buffer once we return.
      this.#pending.push(Buffer.from(data));
      this.#pendingLength += data.length;
    }
    this.#size = Math.max(this.#size, offset + data.length);
    this.#dirty = true;
  }

  async #writeAt(offset: number, data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.#fh.write(data, done, data.length - done, offset + done);
      done += bytesWritten;
    }
  }

  async #flush(): Promise<void> {
    if (this.#pendingLength === 0) return;
    const data = this.#pending.length === 1 ? this.#pending[0] : Buffer.concat(this.#pending, this.#pendingLength);
    const start = this.#pendingStart;
    this.#pending = [];
    this.#pendingLength = 0;
    await this.#writeAt(start, data);
  }

  async append(data: Uint8Array): Promise<void> {
    await this.write(this.#size, data);
  }

  /** Reads back what the file holds now (for read/write handles). Returns fewer bytes at the end. */
  async read(offset: number, length: number): Promise<Buffer> {
    this.#live();
    await this.#flush();
    const n = Math.max(0, Math.min(length, this.#size - offset));
    const buf = Buffer.alloc(n);
    let done = 0;
    while (done < n) {
      const { bytesRead } = await this.#fh.read(buf, done, n - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buf.subarray(0, done);
  }

  async truncate(size: number): Promise<void> {
    this.#live();
    await this.#flush();
    await this.#fh.truncate(size);
    this.#size = size;
    this.#dirty = true;
  }

  /** Stores the spooled content as the file (when anything changed) and removes the temp file.
   *  Returns undefined when nothing had to be stored. */
  async commit(): Promise<ObjectInfo | undefined> {
    this.#live();
    await this.#flush().catch(async (err: unknown) => {
      await this.abort();
      throw toFsError(err);
    });
    this.#done = true;
    try {
      if (!this.#dirty) return undefined;
      if (this.#size === 0) return await this.#view.write(this.path, emptyBody(), { expectedSize: 0 });
      // Read back by path (a stream on the FileHandle itself breaks when the handle is closed).
      const body = createReadStream(join(this.#dir, 'data'), { start: 0, end: this.#size - 1, highWaterMark: 1 << 20 });
      try {
        return await this.#view.write(this.path, body, { expectedSize: this.#size });
      } finally {
        body.destroy();
      }
    } finally {
      await this.#cleanup();
    }
  }

  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    await this.#cleanup();
  }

  async #cleanup(): Promise<void> {
    await this.#fh.close().catch(() => undefined);
    await rm(this.#dir, { recursive: true, force: true });
  }

  #live(): void {
    if (this.#done) throw new FsError('EINVAL', 'spool already closed');
  }
}

const GATHER_BYTES = 1 << 20;

async function* emptyBody(): AsyncIterable<Uint8Array> {}
