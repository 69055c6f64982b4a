/**
 * Cutting a byte stream into content-defined chunks (backend/chunker) and running chunk writes
 * with a bounded number in flight, so a put's memory stays flat whatever the object size.
 */
import { chunkBuffers } from './cpu-pool.js';

/** What the store needs of a content-defined chunker (backend/chunker's Chunker). */
export interface Chunker {
  /** boundaries inside `data` as exclusive end offsets; state carries across calls */
  scan(data: Uint8Array): number[];
  /** the next byte scanned starts a new chunk (the same state as right after a cut) */
  reset(): void;
}

export type ChunkerFactory = (seed: Buffer, avgChunkSize: number) => Chunker;

/** backend/chunker's keyed Rabin chunker (loaded on first use). */
export async function rabinChunkerFactory(): Promise<ChunkerFactory> {
  const m = await import('../chunker/index.js');
  return (seed, avg) => new m.Chunker(seed, m.chunkerParams(avg));
}

export interface Cut {
  /** offset of the chunk in the stream */
  offset: number;
  /** the chunk's bytes, in a buffer of its own (never a view into the caller's data, and never
   *  read again by cutChunks, so the consumer may hand its memory to a worker). It may be a view
   *  at offset 0 of a larger recycled buffer from chunkBuffers (cpu-pool.ts). */
  data: Buffer;
  /** true for the bytes after the stream's last boundary (not a cut the chunker made) */
  last: boolean;
}

function own(pieces: Buffer[], len: number, capacity: (length: number) => number): Buffer {
  // never a view into Buffer's shared pool, so workers may take the memory; recycled (the codec
  // gives a taken chunk's buffer back to chunkBuffers once its fragments are stored)
  const out = chunkBuffers.take(len, Math.max(len, capacity(len)));
  let at = 0;
  for (const p of pieces) {
    p.copy(out, at);
    at += p.length;
  }
  return out;
}

/**
 * Cuts `body` at `chunker`'s boundaries; `tap` sees every input piece first (hashing, counting).
 * `capacity` sizes each chunk's buffer for what the consumer will do with it in place (the codec's
 * frameCapacity: the fragments are laid out in the chunk's own buffer); default just the chunk.
 */
export async function* cutChunks(
  body: AsyncIterable<Uint8Array>,
  chunker: Chunker,
  tap: (piece: Buffer) => void,
  capacity: (length: number) => number = (length) => length,
): AsyncGenerator<Cut> {
  let pending: Buffer[] = [];
  let pendingLen = 0;
  let offset = 0;
  for await (const piece of body) {
    const b = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    if (b.length === 0) continue;
    tap(b);
    const cuts = chunker.scan(b);
    let from = 0;
    for (const c of cuts) {
      if (c > from) {
        pending.push(b.subarray(from, c));
        pendingLen += c - from;
      }
      if (pendingLen === 0) continue;
      const data = own(pending, pendingLen, capacity);
      const at = offset;
      // advanced before the yield: the consumer may take (detach) data before we resume
      offset += pendingLen;
      pending = [];
      pendingLen = 0;
      yield { offset: at, data, last: false };
      from = c;
    }
    if (from < b.length) {
      pending.push(b.subarray(from));
      pendingLen += b.length - from;
    }
  }
  if (pendingLen > 0) yield { offset, data: own(pending, pendingLen, capacity), last: true };
}

/** At most `limit` tasks at once; `run` waits for a free slot (back-pressure to the producer). */
export class TaskWindow {
  readonly #limit: number;
  readonly #running = new Set<Promise<void>>();
  #error: unknown;
  #failed = false;

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  /** the first task error, once one failed */
  get failed(): boolean {
    return this.#failed;
  }

  async run(task: () => Promise<void>): Promise<void> {
    while (this.#running.size >= this.#limit) await Promise.race(this.#running);
    const p: Promise<void> = task().then(
      () => {
        this.#running.delete(p);
      },
      (err: unknown) => {
        this.#running.delete(p);
        if (!this.#failed) {
          this.#failed = true;
          this.#error = err;
        }
      },
    );
    this.#running.add(p);
  }

  /** Waits for every task; throws the first error. */
  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.race(this.#running);
    if (this.#failed) throw this.#error;
  }
}
