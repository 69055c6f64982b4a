/**
 * Incremental hashing (MD5 for S3 ETags by default) in a CpuPool worker, so the main thread pays a
 * memcpy per byte instead of the hash. Measured with bench/codec.bench.ts ("md5 …" lines): MD5 on
 * the main thread costs ~1.5–2 CPU ms/MiB there; this costs ~0.1–0.2 main-thread ms/MiB (a copy
 * into a 1 MiB batch that is then moved, not copied, to the worker and handed back for reuse).
 *
 * Contract:
 * - update() copies `buf` (the caller may reuse it at once) and never blocks. It returns false once
 *   more than `highWaterBytes` wait for the worker; a caller that cares awaits drained() then.
 * - digest() resolves with the digest of everything passed to update(), in order; call it once.
 *   After digest() or abort(), update() throws.
 * - Inputs of at most `inlineBelowBytes` in total are hashed on the calling thread: for them a
 *   worker round trip costs more than the hash.
 * - A worker failure rejects digest() with the StoreError the pool reported.
 */
import { createHash, type Hash } from 'node:crypto';
import { StoreError } from '../core/errors.js';
import { BufferPool } from '../core/buffer-pool.js';
import { CpuPool, type CpuHandler } from './cpu-pool.js';

export interface StreamHasherInit {
  /** any node:crypto hash name; default 'md5' */
  algorithm?: string;
  pool?: CpuPool;
  /** bytes gathered before a batch goes to the worker (default 1 MiB) */
  batchBytes?: number;
  /** default 8 MiB */
  highWaterBytes?: number;
  /** default 64 KiB */
  inlineBelowBytes?: number;
}

let nextSession = 1;

/** Batch buffers of every hasher on this thread, recycled: a pool of their own, so a burst of
 *  returned batches never pushes chunk buffers out of the codec's pool. */
const batches = new BufferPool({ granule: 2 ** 20, maxIdleBytes: 12 * 2 ** 20 });

/** Frees the worker-side state of hashers dropped without digest() or abort(). */
const abandoned = new FinalizationRegistry<{ pool: CpuPool; worker: number; hid: number }>(({ pool, worker, hid }) => {
  pool.run('hash/abort', { hid }, [], worker).catch(() => undefined);
});

export class StreamHasher {
  readonly #algorithm: string;
  readonly #pool: CpuPool;
  readonly #batchBytes: number;
  readonly #highWater: number;
  readonly #inlineBelow: number;
  #batch: Buffer | undefined;
  #fill = 0;
  #worker = -1;
  readonly #hid = nextSession++;
  #backlog = 0;
  #error: unknown;
  #done = false;
  #waiters: (() => void)[] = [];

  constructor(init: StreamHasherInit = {}) {
    this.#algorithm = init.algorithm ?? 'md5';
    createHash(this.#algorithm); // fail here, not in the worker, on an unknown algorithm
    this.#pool = init.pool ?? CpuPool.shared();
    this.#batchBytes = init.batchBytes ?? 2 ** 20;
    this.#highWater = init.highWaterBytes ?? 8 * 2 ** 20;
    this.#inlineBelow = init.inlineBelowBytes ?? 64 * 1024;
  }

  /** bytes handed to the worker and not hashed yet */
  get backlog(): number {
    return this.#backlog;
  }

  update(buf: Uint8Array): boolean {
    if (this.#done) throw new StoreError('Internal', 'StreamHasher.update after digest or abort');
    let off = 0;
    while (off < buf.length) {
      // batches come from (and go back to) recycled buffers: no fresh memory per put
      this.#batch ??= batches.take(this.#batchBytes);
      const n = Math.min(buf.length - off, this.#batch.length - this.#fill);
      this.#batch.set(buf.subarray(off, off + n), this.#fill);
      this.#fill += n;
      off += n;
      if (this.#fill === this.#batch.length) this.#flush();
    }
    return this.#backlog < this.#highWater;
  }

  /** resolves once the backlog is below the high-water mark */
  drained(): Promise<void> {
    if (this.#backlog < this.#highWater || this.#error) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async digest(): Promise<Buffer> {
    if (this.#done) throw new StoreError('Internal', 'StreamHasher.digest called twice');
    this.#done = true;
    if (this.#worker < 0 && this.#fill <= this.#inlineBelow) {
      const h: Hash = createHash(this.#algorithm);
      if (this.#batch) h.update(this.#batch.subarray(0, this.#fill));
      this.#release();
      return h.digest();
    }
    if (this.#fill > 0) this.#flush();
    abandoned.unregister(this);
    this.#release();
    let d: ArrayBuffer;
    try {
      d = await this.#pool.run<ArrayBuffer>('hash/digest', { hid: this.#hid }, [], this.#worker);
    } catch (e) {
      throw this.#error ?? e;
    }
    if (this.#error) throw this.#error;
    return Buffer.from(d);
  }

  /** Drops the state (here and in the worker); for bodies that failed half-way. */
  abort(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#worker >= 0) {
      abandoned.unregister(this);
      this.#pool.run('hash/abort', { hid: this.#hid }, [], this.#worker).catch(() => undefined);
    }
    this.#release();
  }

  #release(): void {
    if (this.#batch) batches.give(this.#batch.buffer as ArrayBuffer);
    this.#batch = undefined;
    this.#fill = 0;
  }

  #flush(): void {
    const batch = this.#batch!;
    const data = batch.buffer as ArrayBuffer;
    const size = this.#fill;
    this.#batch = undefined;
    this.#fill = 0;
    if (this.#worker < 0) {
      this.#worker = this.#pool.pick();
      abandoned.register(this, { pool: this.#pool, worker: this.#worker, hid: this.#hid }, this);
      this.#pool.run('hash/open', { hid: this.#hid, algorithm: this.#algorithm }, [], this.#worker).catch((e: unknown) => this.#fail(e));
    }
    this.#backlog += size;
    this.#pool.run<ArrayBuffer>('hash/update', { hid: this.#hid, data, size }, [data], this.#worker).then(
      (back) => {
        this.#backlog -= size;
        batches.give(back);
        this.#wake();
      },
      (e: unknown) => {
        this.#backlog -= size;
        this.#fail(e);
      },
    );
  }

  #fail(e: unknown): void {
    this.#error ??= e;
    this.#wake();
  }

  #wake(): void {
    if (this.#backlog >= this.#highWater && !this.#error) return;
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }
}

// ---- worker side ------------------------------------------------------------------------------

const sessions = new Map<number, Hash>();

/** Handlers the CpuPool workers run (registered in cpu-worker.ts). */
export const hashHandlers: Record<string, CpuHandler> = {
  'hash/open': (args: { hid: number; algorithm: string }) => {
    sessions.set(args.hid, createHash(args.algorithm));
    return { result: null };
  },
  'hash/update': (args: { hid: number; data: ArrayBuffer; size: number }) => {
    const h = sessions.get(args.hid);
    if (!h) throw new StoreError('Internal', `no hash session ${args.hid}`);
    h.update(new Uint8Array(args.data, 0, args.size));
    // handed back so the caller can refill it instead of allocating (and page-faulting) a new one
    return { result: args.data, transfer: [args.data] };
  },
  'hash/digest': (args: { hid: number }) => {
    const h = sessions.get(args.hid);
    if (!h) throw new StoreError('Internal', `no hash session ${args.hid}`);
    sessions.delete(args.hid);
    const d = h.digest();
    const out = new ArrayBuffer(d.length);
    new Uint8Array(out).set(d);
    return { result: out, transfer: [out] };
  },
  'hash/abort': (args: { hid: number }) => {
    sessions.delete(args.hid);
    return { result: null };
  },
};
