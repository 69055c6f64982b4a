/**
 * Streams the WRITE requests of a write-only handle straight into one putObject, with no temp
 * file: `sftp put`, rclone and borg segments write a new (or truncated) file front to back. Writes
 * that arrive a little ahead of the stream position (clients with several writers in flight) wait
 * in a bounded reorder buffer. Anything else (a write behind the position, a gap left at close,
 * truncation) cannot be streamed: before the first byte reached the store the session switches
 * the handle to a spool (`takeBuffered()` hands over what was buffered); after that the write
 * fails and the file is not committed.
 *
 * Contract: every upload MUST end with exactly one `finish()` or `abort()`. Nothing is visible
 * before `finish()` resolves; `abort()` (or any failure) leaves the previous content in place,
 * because a putObject whose body throws stores nothing. Memory is bounded by `maxQueued` (bytes
 * the store has not taken yet; `write` resolves only below it, which holds the client's WRITE
 * replies back) plus `maxAhead` (the reorder buffer).
 */
import type { ObjectInfo } from '../../backend/core/object-store.js';
import { FsError, toFsError, type PathView } from '../common/path-view.js';

export interface SequentialUploadInit {
  /** bytes handed over but not yet taken by the store before `write` waits (default 8 MiB) */
  maxQueued?: number;
  /** bytes of out-of-order writes held until the gap before them fills (default 16 MiB: 64
   *  requests in flight of the largest chunk clients use, 255 KiB, stay within it) */
  maxAhead?: number;
}

/** Why a write cannot be streamed; `started` says whether the store already has bytes. */
export class NotSequentialError extends Error {
  readonly started: boolean;
  constructor(message: string, started: boolean) {
    super(message);
    this.name = 'NotSequentialError';
    this.started = started;
  }
}

export class SequentialUpload {
  readonly path: string;
  readonly #view: PathView;
  readonly #maxQueued: number;
  readonly #maxAhead: number;
  /** end of the bytes handed to the body, in order */
  #pos = 0;
  #ahead = new Map<number, Buffer>();
  #aheadBytes = 0;
  #aheadEnd = 0;
  #queue: Buffer[] = [];
  #queued = 0;
  #ended = false;
  #abortReason: Error | undefined;
  #failure: Error | undefined;
  #put: Promise<ObjectInfo> | undefined;
  #settled = false;
  #wakeBody: (() => void) | undefined;
  #drainWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];

  constructor(view: PathView, path: string, init: SequentialUploadInit = {}) {
    this.#view = view;
    this.path = path;
    this.#maxQueued = init.maxQueued ?? 8 << 20;
    this.#maxAhead = init.maxAhead ?? 16 << 20;
  }

  /** Highest byte written so far (what fstat reports). */
  get size(): number {
    return Math.max(this.#pos, this.#aheadEnd);
  }

  /** Whether bytes reached the store: after that, a non-sequential write cannot be recovered. */
  get started(): boolean {
    return this.#put !== undefined;
  }

  /**
   * Accepts `data` at `offset`. Throws NotSequentialError when it cannot be streamed (the
   * handle state is unchanged then), the store's error when the put failed. `data` is kept, not
   * copied: ssh2 hands every SFTP packet its own buffer.
   */
  async write(offset: number, data: Buffer): Promise<void> {
    this.#check();
    if (data.length === 0) return;
    if (offset < this.#pos) throw new NotSequentialError(`write at ${offset} is behind the upload position ${this.#pos}`, this.started);
    if (offset > this.#pos) {
      if (this.#ahead.has(offset) || this.#aheadBytes + data.length > this.#maxAhead) {
        throw new NotSequentialError(`write at ${offset} is too far ahead of the upload position ${this.#pos}`, this.started);
      }
      this.#ahead.set(offset, data);
      this.#aheadBytes += data.length;
      this.#aheadEnd = Math.max(this.#aheadEnd, offset + data.length);
      return;
    }
    this.#push(data);
    for (let next = this.#ahead.get(this.#pos); next; next = this.#ahead.get(this.#pos)) {
      this.#ahead.delete(this.#pos);
      this.#aheadBytes -= next.length;
      this.#push(next);
    }
    if (this.#queued > this.#maxQueued) {
      await new Promise<void>((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
    }
  }

  /**
   * Before anything reached the store: the buffered writes as (offset, data) pairs, for a spool
   * that takes over. Ends this upload.
   */
  takeBuffered(): [number, Buffer][] {
    if (this.started) throw new FsError('EINVAL', 'upload already streaming');
    this.#settled = true;
    const out = [...this.#ahead.entries()];
    this.#ahead.clear();
    return out;
  }

  /** Ends the body and waits for the store to commit it. A gap left open fails (nothing stored). */
  async finish(): Promise<ObjectInfo> {
    this.#check();
    if (this.#ahead.size > 0) {
      const err = new FsError('EIO', `${this.path}: bytes missing before offset ${Math.min(...this.#ahead.keys())}; file not stored`);
      await this.abort(err);
      throw err;
    }
    this.#settled = true;
    if (!this.#put) this.#start();
    this.#ended = true;
    this.#wakeBody?.();
    try {
      return await this.#put!;
    } catch (err) {
      throw toFsError(err);
    }
  }

  /** Drops the upload: the store sees its body fail and keeps nothing; later calls (finish
   *  too) throw `reason`. Idempotent. */
  async abort(reason: Error = new FsError('EIO', 'upload aborted')): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    this.#abortReason = reason;
    this.#failure ??= reason;
    this.#ahead.clear();
    this.#wakeBody?.();
    this.#releaseWaiters(reason);
    await this.#put?.catch(() => undefined);
  }

  #check(): void {
    if (this.#failure) throw this.#failure;
    if (this.#settled) throw new FsError('EINVAL', 'upload already finished');
  }

  #push(data: Buffer): void {
    if (!this.#put) this.#start();
    this.#queue.push(data);
    this.#queued += data.length;
    this.#pos += data.length;
    this.#wakeBody?.();
  }

  #start(): void {
    this.#put = this.#view.write(this.path, this.#body());
    // A put that ends early (missing parent, a store error) must release writers waiting for room.
    this.#put.then(
      () => this.#releaseWaiters(),
      (err: unknown) => {
        this.#failure = toFsError(err);
        this.#releaseWaiters(this.#failure);
      },
    );
  }

  async *#body(): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.#abortReason) throw this.#abortReason;
      const chunk = this.#queue.shift();
      if (chunk) {
        this.#queued -= chunk.length;
        if (this.#queued <= this.#maxQueued) this.#releaseWaiters();
        yield chunk;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => {
        this.#wakeBody = resolve;
      });
      this.#wakeBody = undefined;
    }
  }

  #releaseWaiters(err?: Error): void {
    const waiters = this.#drainWaiters;
    if (waiters.length === 0) return;
    this.#drainWaiters = [];
    for (const w of waiters) {
      if (err) w.reject(err);
      else w.resolve();
    }
  }
}
