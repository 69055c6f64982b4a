/**
 * Worker threads for the per-chunk CPU work (chunk ids, AES-GCM, Reed-Solomon framing, fragment
 * hashes, MD5 of bodies), so the gateway's main thread keeps only what must stay there (parsing,
 * Rabin chunking, I/O). See chunk-codec.ts for why worker threads rather than the libuv pool.
 *
 * Contract:
 * - `run` sends one job to the least busy worker (or to `worker` when a job must follow earlier
 *   ones that left state there, e.g. a hash session) and resolves with the handler's result.
 *   Buffers listed in `transfer` are moved, not copied: the caller MUST NOT touch them afterwards.
 * - Jobs fail with the StoreError the handler threw (same code, same message); a worker that dies
 *   fails its jobs with StoreError('Internal') and is replaced on the next job.
 * - Idle workers are unref'd: an idle pool never keeps a process alive, but a job in flight does.
 * - `close` terminates the workers and fails pending jobs with StoreError('Unavailable'); jobs
 *   run after close fail the same way. Idempotent.
 */
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker, isMainThread, type Transferable } from 'node:worker_threads';
import { BufferPool } from '../core/buffer-pool.js';
import { StoreError, isStoreError, type ErrorCode } from '../core/errors.js';

/** A job handler inside a worker. It returns its result and the buffers to move back. */
export type CpuHandler = (args: never) => CpuResult | Promise<CpuResult>;
export interface CpuResult {
  result: unknown;
  transfer?: Transferable[];
}

export interface CpuRequest {
  id: number;
  op: string;
  args: unknown;
}
export type CpuResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; code: ErrorCode; message: string };

/** Under tsx (tests, benches) this module is a .ts file, and so is its worker. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './cpu-worker.ts' : './cpu-worker.js', import.meta.url);

function startWorker(): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER_URL);
  // Node 20 does not apply the parent's `--import tsx` hooks to a worker's entry module, so the
  // worker registers tsx itself before importing the TypeScript source (development only).
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new Worker(boot, { eval: true });
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

class PoolWorker {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  dead = false;

  constructor(onGone: (w: PoolWorker) => void) {
    this.worker = startWorker();
    this.worker.unref();
    this.worker.on('message', (msg: CpuResponse) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) this.worker.unref();
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new StoreError(msg.code, msg.message));
    });
    const fail = (err: unknown) => {
      if (this.dead) return;
      this.dead = true;
      onGone(this);
      const e = isStoreError(err) ? err : new StoreError('Internal', 'CPU worker thread died', { cause: err });
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new StoreError('Internal', `CPU worker thread exited with code ${code}`)));
  }

  post(req: CpuRequest, transfer: readonly Transferable[], pending: Pending): void {
    if (this.pending.size === 0) this.worker.ref();
    this.pending.set(req.id, pending);
    this.worker.postMessage(req, transfer);
  }
}

export class CpuPool {
  readonly threads: number;
  readonly #workers: (PoolWorker | undefined)[];
  #nextId = 1;
  #closed = false;
  static #shared: CpuPool | undefined;

  /** `threads` defaults to the number of cores: the main thread mostly waits while workers run. */
  constructor(threads = availableParallelism()) {
    if (!Number.isInteger(threads) || threads < 1) throw new StoreError('InvalidArgument', `threads must be a positive integer, got ${threads}`);
    this.threads = threads;
    this.#workers = new Array<PoolWorker | undefined>(threads).fill(undefined);
  }

  /** One pool per process for components not given one. Never needs closing (idle workers are unref'd). */
  static shared(): CpuPool {
    CpuPool.#shared ??= new CpuPool();
    return CpuPool.#shared;
  }

  /** The index of the worker with the fewest jobs in flight (for pinning a session to it). */
  pick(): number {
    let best = 0;
    let load = Infinity;
    for (let i = 0; i < this.threads; i++) {
      const n = this.#workers[i]?.pending.size ?? 0;
      if (n < load) {
        best = i;
        load = n;
      }
    }
    return best;
  }

  run<T>(op: string, args: unknown, transfer: readonly Transferable[] = [], worker?: number): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError('Unavailable', 'CPU pool is closed'));
    const index = worker ?? this.pick();
    let w = this.#workers[index];
    if (!w || w.dead) {
      w = new PoolWorker((gone) => {
        if (this.#workers[index] === gone) this.#workers[index] = undefined;
      });
      this.#workers[index] = w;
    }
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      w.post({ id, op, args }, transfer, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (CpuPool.#shared === this) CpuPool.#shared = undefined;
    const workers = this.#workers.filter((w): w is PoolWorker => w !== undefined);
    this.#workers.fill(undefined);
    await Promise.all(
      workers.map(async (w) => {
        const err = new StoreError('Unavailable', 'CPU pool closed while a job was running');
        for (const p of w.pending.values()) p.reject(err);
        w.pending.clear();
        w.dead = true;
        await w.worker.terminate();
      }),
    );
  }
}

/**
 * Chunk buffer capacity one put may hold in flight (the weight of its TaskWindow: see
 * tenant-store.ts), besides its count limit. Four chunks of the default 4 MiB average are ~32 MiB
 * of frames (8 MiB class each); four 16 MiB ones would be 128. Bounding bytes instead of only
 * chunks keeps a run of big chunks from holding the pool's worth at once, and the pool small.
 */
export const CHUNK_BYTES_IN_FLIGHT = 64 * 2 ** 20;

/**
 * This thread's pool for chunk-sized buffers that move to a worker and come back (cut chunks, laid
 * out in place as their fragments: see ChunkCodec.frameCapacity). 1 MiB granules. Idle buffers up
 * to 64 MiB: with CHUNK_BYTES_IN_FLIGHT that keeps the pool's memory near 64 + 64 + the chunk being
 * cut, where 160 MiB idle (the old limit, sized for 4 chunks in flight of any size) held ~110 MiB
 * idle at a 4 GiB put's RSS peak. A smaller pool drops (and later allocates) more buffers; that
 * used to cost RSS, not just page faults, because a freed buffer under 32 MiB raised glibc's mmap
 * threshold and later buffers came from its heaps, where freed ones leave resident holes (a
 * 64 MiB idle limit alone: 330-353 MiB peak, 130-170 MiB of glibc heap). So buffers of 12 MiB or
 * more (chunks over ~7 MiB; the ones the small limit drops, biggest first) carry 32 MiB of
 * untouched headroom: each is its own mmap, its pages go back to the kernel when it is
 * collected, and freeing it never moves the threshold. Smaller ones are rarely dropped. Headroom
 * on every class cost ~3× the full collections (V8 counts the headroom as external memory).
 * Everything idle is dropped after 30 s without a take, so an idle gateway gives the memory back.
 */
export const chunkBuffers = new BufferPool({
  granule: 2 ** 20,
  maxIdleBytes: 64 * 2 ** 20,
  idleTimeoutMs: 30_000,
  headroom: 32 * 2 ** 20,
  headroomFrom: 12 * 2 ** 20,
});

/** bytes of short-lived buffers left for V8 to collect since the last collection (this thread) */
let garbageBytes = 0;
let minorGc: ((options: { type: 'minor' }) => void) | undefined | null;
/** what a worker lets pile up before it collects */
const GARBAGE_LIMIT = 8 * 2 ** 20;

/**
 * `bytes` of short-lived buffers are garbage now. A worker allocates almost no JS objects, so V8
 * would collect buffers node:crypto allocated (cipher output pieces) only after ~64 MiB of
 * external memory per thread, each of those megabytes a freed hole in a glibc arena (RSS). A young
 * generation collection every GARBAGE_LIMIT bytes costs well under a millisecond. On the main
 * thread (`mainThreadToo`) the same holds for a body's input pieces once copied into chunks: its
 * JS allocations are far too few per megabyte of body to start collections often.
 */
export function noteGarbage(bytes: number, mainThreadToo = false): void {
  if (isMainThread && !mainThreadToo) return;
  garbageBytes += bytes;
  if (garbageBytes < GARBAGE_LIMIT) return;
  garbageBytes = 0;
  if (minorGc === undefined) {
    try {
      // the documented way to reach gc() in a thread started without --expose-gc
      setFlagsFromString('--expose-gc');
      minorGc = runInNewContext('gc') as (options: { type: 'minor' }) => void;
    } catch {
      minorGc = null;
    }
  }
  minorGc?.({ type: 'minor' });
}

/** The ArrayBuffer behind `buf` when it spans all of it (so it can be moved), else a copy.
 *  Only for buffers the caller owns outright: moving detaches every other view of them. */
export function transferable(buf: Uint8Array): ArrayBuffer {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && buf.buffer instanceof ArrayBuffer) return buf.buffer;
  return copyForTransfer(buf);
}

/** A private copy that can be moved to a worker without detaching the caller's memory. */
export function copyForTransfer(...parts: Uint8Array[]): ArrayBuffer {
  let size = 0;
  for (const p of parts) size += p.byteLength;
  // allocUnsafeSlow: an ArrayBuffer of its own, not zero-filled (every byte is overwritten below)
  const out = Buffer.allocUnsafeSlow(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out.buffer as ArrayBuffer;
}

/** Serialisable form of an error thrown by a handler. */
export function errorResponse(id: number, err: unknown): CpuResponse {
  if (isStoreError(err)) return { id, ok: false, code: err.code, message: err.message };
  return { id, ok: false, code: 'Internal', message: err instanceof Error ? err.message : String(err) };
}
