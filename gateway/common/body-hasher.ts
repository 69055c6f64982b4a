/**
 * Digests of an upload body computed on a helper thread, so the main thread (which also parses
 * HTTP, cuts chunks and drives the data plane) does not spend ~1 CPU ms per MiB on them: SigV4's
 * payload SHA-256 (~0.75 ms/MiB) and the client's x-amz-checksum-crc32 (~0.25) were ~10 % of the
 * gateway's main thread in a PUT through 16 peers. Pieces are copied into 1 MiB batches (a warm
 * copy costs ~0.05 ms/MiB), and each full batch is moved (transferred) to the thread and comes
 * back for reuse. A body that ends before its first batch is full is hashed here at once: a
 * message round trip would cost more than the hashing.
 *
 * Contract: update() takes a piece in stream order and copies it (the caller keeps it); when it
 * returns a promise the caller MUST await it before the next update (too many batches in flight).
 * digest() ends the job and resolves with one digest per requested algorithm; after it, or after
 * abort(), the hasher MUST NOT be used again. abort() drops the job (a body that failed mid-way).
 * A failure of the helper thread rejects update()/digest() with StoreError('Internal'): the body
 * then fails, so nothing is stored unverified.
 *
 * May import: backend/core (errors, buffer-pool), node built-ins.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import zlib from 'node:zlib';
import { BufferPool } from '../../backend/core/buffer-pool.js';
import { StoreError } from '../../backend/core/errors.js';

/** node:crypto names, and 'crc32' (zlib's, the one S3's CRC32 checksum uses) */
export type BodyHashAlgorithm = 'sha256' | 'sha1' | 'md5' | 'crc32';

/** bytes per batch moved to the helper thread */
export const BATCH_BYTES = 1 << 20;
/** batches of one body in flight before update() makes the caller wait */
const MAX_IN_FLIGHT = 4;
/** idle batch buffers kept for reuse, process-wide: 8 of them, dropped after 30 s without use */
const batches = new BufferPool({ granule: BATCH_BYTES, maxIdleBytes: 8 * BATCH_BYTES, idleTimeoutMs: 30_000 });

// The helper runs as eval'd CommonJS so it works the same from sources (tsx) and from a build.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const zlib = require('node:zlib');
const jobs = new Map();
parentPort.on('message', (m) => {
  if (m.kind === 'start') {
    jobs.set(m.job, m.algorithms.map((a) => (a === 'crc32' ? { a, crc: 0 } : { a, h: createHash(a) })));
  } else if (m.kind === 'data') {
    const state = jobs.get(m.job);
    const view = new Uint8Array(m.buf, 0, m.len);
    if (state) for (const s of state) { if (s.h) s.h.update(view); else s.crc = zlib.crc32(view, s.crc); }
    parentPort.postMessage({ job: m.job, kind: 'ack', buf: m.buf }, [m.buf]);
  } else if (m.kind === 'end') {
    const state = jobs.get(m.job) ?? [];
    jobs.delete(m.job);
    const digests = {};
    for (const s of state) {
      if (s.h) digests[s.a] = s.h.digest();
      else { const b = Buffer.alloc(4); b.writeUInt32BE(s.crc >>> 0); digests[s.a] = b; }
    }
    parentPort.postMessage({ job: m.job, kind: 'done', digests });
  } else if (m.kind === 'drop') {
    jobs.delete(m.job);
  }
});
`;

interface JobHandlers {
  ack(buf: ArrayBuffer): void;
  done(digests: Record<string, Uint8Array>): void;
  fail(err: Error): void;
}

type Reply = { job: number; kind: 'ack'; buf: ArrayBuffer } | { job: number; kind: 'done'; digests: Record<string, Uint8Array> };

/** The one helper thread of this process, started on first use; referenced only while a job runs. */
class HashThread {
  #worker: Worker | undefined;
  #jobs = new Map<number, JobHandlers>();
  #nextJob = 1;

  take(): ArrayBuffer {
    return batches.take(BATCH_BYTES).buffer as ArrayBuffer;
  }

  give(buf: ArrayBuffer): void {
    batches.give(buf);
  }

  open(algorithms: BodyHashAlgorithm[], handlers: JobHandlers): number {
    const w = this.#ensure();
    const job = this.#nextJob++;
    if (this.#jobs.size === 0) w.ref();
    this.#jobs.set(job, handlers);
    w.postMessage({ job, kind: 'start', algorithms });
    return job;
  }

  send(job: number, buf: ArrayBuffer, len: number): void {
    this.#worker!.postMessage({ job, kind: 'data', buf, len }, [buf]);
  }

  end(job: number): void {
    this.#worker!.postMessage({ job, kind: 'end' });
  }

  drop(job: number): void {
    if (!this.#jobs.delete(job)) return;
    this.#worker?.postMessage({ job, kind: 'drop' });
    this.#settled();
  }

  #settled(): void {
    // an idle helper must not keep the process alive
    if (this.#jobs.size === 0) this.#worker?.unref();
  }

  #ensure(): Worker {
    if (this.#worker) return this.#worker;
    const w = new Worker(WORKER_SOURCE, { eval: true, name: 'peerstor-body-hasher' });
    w.unref();
    w.on('message', (m: Reply) => {
      const h = this.#jobs.get(m.job);
      if (m.kind === 'ack') {
        if (h) h.ack(m.buf);
        else this.give(m.buf);
        return;
      }
      this.#jobs.delete(m.job);
      this.#settled();
      h?.done(m.digests);
    });
    const fail = (err: Error): void => {
      if (this.#worker !== w) return;
      this.#worker = undefined;
      const jobs = [...this.#jobs.values()];
      this.#jobs.clear();
      const e = new StoreError('Internal', `body hashing thread failed: ${err.message}`);
      for (const h of jobs) h.fail(e);
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    this.#worker = w;
    return w;
  }
}

const thread = new HashThread();

export interface BodyHasher {
  update(piece: Uint8Array): Promise<void> | undefined;
  digest(): Promise<Record<BodyHashAlgorithm, Buffer>>;
  abort(): void;
}

class OffloadedBodyHasher implements BodyHasher {
  readonly #algorithms: BodyHashAlgorithm[];
  #batch: ArrayBuffer | undefined;
  #fill = 0;
  #job = 0;
  #inFlight = 0;
  #waiter: (() => void) | undefined;
  #failure: Error | undefined;
  #result: { resolve(d: Record<string, Uint8Array>): void; reject(e: Error): void } | undefined;
  #finished = false;

  constructor(algorithms: BodyHashAlgorithm[]) {
    this.#algorithms = [...new Set(algorithms)];
  }

  update(piece: Uint8Array): Promise<void> | undefined {
    if (this.#failure) throw this.#failure;
    let off = 0;
    while (off < piece.length) {
      this.#batch ??= thread.take();
      const n = Math.min(piece.length - off, BATCH_BYTES - this.#fill);
      new Uint8Array(this.#batch, this.#fill, n).set(piece.subarray(off, off + n));
      this.#fill += n;
      off += n;
      if (this.#fill === BATCH_BYTES) this.#post();
    }
    if (this.#inFlight < MAX_IN_FLIGHT) return undefined;
    return new Promise<void>((resolve) => {
      this.#waiter = resolve;
    }).then(() => {
      if (this.#failure) throw this.#failure;
    });
  }

  #post(): void {
    if (this.#job === 0) {
      this.#job = thread.open(this.#algorithms, {
        ack: (buf) => {
          this.#inFlight--;
          thread.give(buf);
          const w = this.#waiter;
          this.#waiter = undefined;
          w?.();
        },
        done: (d) => this.#result?.resolve(d),
        fail: (e) => {
          this.#failure = e;
          this.#result?.reject(e);
          const w = this.#waiter;
          this.#waiter = undefined;
          w?.();
        },
      });
    }
    this.#inFlight++;
    thread.send(this.#job, this.#batch!, this.#fill);
    this.#batch = undefined;
    this.#fill = 0;
  }

  async digest(): Promise<Record<BodyHashAlgorithm, Buffer>> {
    if (this.#failure) throw this.#failure;
    this.#finished = true;
    if (this.#job === 0) {
      // never left this thread: a small body, hashed here
      const data = this.#batch ? new Uint8Array(this.#batch, 0, this.#fill) : new Uint8Array(0);
      const out = {} as Record<BodyHashAlgorithm, Buffer>;
      for (const a of this.#algorithms) {
        if (a === 'crc32') {
          const b = Buffer.alloc(4);
          b.writeUInt32BE(zlib.crc32(data) >>> 0);
          out[a] = b;
        } else out[a] = createHash(a).update(data).digest();
      }
      if (this.#batch) thread.give(this.#batch);
      this.#batch = undefined;
      return out;
    }
    const done = new Promise<Record<string, Uint8Array>>((resolve, reject) => {
      this.#result = { resolve, reject };
    });
    if (this.#fill > 0) this.#post();
    else if (this.#batch) thread.give(this.#batch);
    this.#batch = undefined;
    thread.end(this.#job);
    const d = await done;
    const out = {} as Record<BodyHashAlgorithm, Buffer>;
    for (const a of this.#algorithms) out[a] = Buffer.from(d[a].buffer, d[a].byteOffset, d[a].byteLength);
    return out;
  }

  abort(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#job !== 0) thread.drop(this.#job);
    if (this.#batch) thread.give(this.#batch);
    this.#batch = undefined;
  }
}

/** A hasher for one body; `algorithms` may repeat (each is computed once). */
export function createBodyHasher(algorithms: BodyHashAlgorithm[]): BodyHasher {
  return new OffloadedBodyHasher(algorithms);
}
