/**
 * Serves SFTP READ requests (offset, length) from one ranged store read: clients read a file in
 * order with many requests in flight, so one open body stream per handle answers them all; a read
 * at another offset reopens the stream there. Nothing beyond one chunk is buffered.
 *
 * The body keeps reading ahead between two READ requests, so it can fail while no request waits
 * for it (peers lost mid-file, a corrupt chunk). Its 'error' listener is therefore attached for
 * the body's whole life, from the moment it is opened: an 'error' with no listener would throw out
 * of the event loop and end the gateway process. A failure is kept and answers the READ pending
 * at that moment, or else the next one that needs bytes the body had not delivered; every later
 * READ on the handle fails the same way, also at other offsets (a client with 64 reads in flight
 * must not turn one lost peer into 64 store reads; it reopens the file to try again). `close()`
 * stays safe after a failure.
 */
import type { Readable } from 'node:stream';
import { FsError, toFsError, type PathView } from '../common/path-view.js';

export class SequentialReader {
  readonly #view: PathView;
  readonly #path: string;
  readonly #size: number;
  #body: Readable | undefined;
  #pos = 0;
  #leftover: Buffer = Buffer.alloc(0);
  #ended = false;
  /** the body's failure, kept for the rest of the handle's life */
  #failure: FsError | undefined;
  /** rejects the read waiting in #next(), if one is */
  #onFailure: ((err: FsError) => void) | undefined;

  constructor(view: PathView, path: string, size: number) {
    this.#view = view;
    this.#path = path;
    this.#size = size;
  }

  /** Whether the store stream failed (from then on a read that needs more bytes throws that failure). */
  get failed(): boolean {
    return this.#failure !== undefined;
  }

  /**
   * Up to `length` bytes at `offset`; an empty buffer at or past the end. Throws FsError when the
   * store stream failed: bytes it delivered before failing are still served (a short read, which
   * SFTP allows, when the failure cuts a request), the failure when a read needs more.
   */
  async read(offset: number, length: number): Promise<Buffer> {
    if (offset >= this.#size || length === 0) return Buffer.alloc(0);
    if (!this.#body || offset !== this.#pos) {
      if (this.#failure) throw this.#failure;
      await this.#reopen(offset);
    }
    const want = Math.min(length, this.#size - offset);
    const parts: Buffer[] = [];
    let have = 0;
    while (have < want) {
      if (this.#leftover.length === 0) {
        let chunk: Buffer | undefined;
        try {
          chunk = await this.#next();
        } catch (err) {
          if (have === 0) throw err;
          break;
        }
        if (!chunk) break;
        this.#leftover = chunk;
      }
      const take = this.#leftover.subarray(0, want - have);
      this.#leftover = this.#leftover.subarray(take.length);
      parts.push(take);
      have += take.length;
    }
    this.#pos = offset + have;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, have);
  }

  async #reopen(offset: number): Promise<void> {
    this.close();
    const r = await this.#view.read(this.#path, { range: { start: offset } });
    const body = r.body;
    body.on('error', (err: Error) => this.#failed(body, err));
    this.#body = body;
    this.#pos = offset;
    this.#leftover = Buffer.alloc(0);
    this.#ended = false;
  }

  /** The lasting 'error' listener of `body` (also of bodies already replaced or closed, which
   *  may still report; those failures concern nobody any more). */
  #failed(body: Readable, err: Error): void {
    if (body !== this.#body || this.#failure) return;
    const e = toFsError(err);
    this.#failure = new FsError(e.code, `${this.#path}: reading failed after byte ${this.#pos}: ${e.message}`, { cause: err });
    this.#onFailure?.(this.#failure);
  }

  #next(): Promise<Buffer | undefined> {
    const body = this.#body;
    if (this.#failure) return Promise.reject(this.#failure);
    if (!body || this.#ended) return Promise.resolve(undefined);
    const chunk = body.read() as Buffer | null;
    if (chunk) return Promise.resolve(chunk);
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        body.off('readable', onReadable);
        body.off('end', onEnd);
        this.#onFailure = undefined;
      };
      const onReadable = (): void => {
        const c = body.read() as Buffer | null;
        if (!c) return;
        cleanup();
        resolve(c);
      };
      const onEnd = (): void => {
        cleanup();
        this.#ended = true;
        resolve(undefined);
      };
      this.#onFailure = (err) => {
        cleanup();
        reject(err);
      };
      body.on('readable', onReadable);
      body.on('end', onEnd);
    });
  }

  /** Releases the body. Idempotent, also after a failure; its 'error' listener stays on it. */
  close(): void {
    this.#body?.destroy();
    this.#body = undefined;
  }
}
