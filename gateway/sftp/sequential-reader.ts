/**
 * Serves SFTP READ requests (offset, length) from one ranged store read: clients read a file in
 * order with many requests in flight, so one open body stream per handle answers them all; a read
 * at another offset reopens the stream there. Nothing beyond one chunk is buffered.
 */
import type { Readable } from 'node:stream';
import type { PathView } from '../common/path-view.js';

export class SequentialReader {
  readonly #view: PathView;
  readonly #path: string;
  readonly #size: number;
  #body: Readable | undefined;
  #pos = 0;
  #leftover: Buffer = Buffer.alloc(0);
  #ended = false;

  constructor(view: PathView, path: string, size: number) {
    this.#view = view;
    this.#path = path;
    this.#size = size;
  }

  /** Up to `length` bytes at `offset`; an empty buffer at or past the end. */
  async read(offset: number, length: number): Promise<Buffer> {
    if (offset >= this.#size || length === 0) return Buffer.alloc(0);
    if (!this.#body || offset !== this.#pos) await this.#reopen(offset);
    const want = Math.min(length, this.#size - offset);
    const parts: Buffer[] = [];
    let have = 0;
    while (have < want) {
      if (this.#leftover.length === 0) {
        const chunk = await this.#next();
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
    this.#body = r.body;
    this.#pos = offset;
    this.#leftover = Buffer.alloc(0);
    this.#ended = false;
  }

  #next(): Promise<Buffer | undefined> {
    const body = this.#body;
    if (!body || this.#ended) return Promise.resolve(undefined);
    const chunk = body.read() as Buffer | null;
    if (chunk) return Promise.resolve(chunk);
    return new Promise((resolve, reject) => {
      const cleanup = (): void => {
        body.off('readable', onReadable);
        body.off('end', onEnd);
        body.off('error', onError);
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
      const onError = (err: Error): void => {
        cleanup();
        reject(err);
      };
      body.on('readable', onReadable);
      body.on('end', onEnd);
      body.on('error', onError);
    });
  }

  close(): void {
    this.#body?.destroy();
    this.#body = undefined;
  }
}
