/**
 * Cutting a byte stream into content-defined chunks (backend/chunker) and running chunk writes
 * with a bounded number in flight, so a put's memory stays flat whatever the object size.
 */
import { chunkBuffers, noteGarbage } from './cpu-pool.js';

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

/** how much bigger than the bytes so far a chunk buffer grows (see cutChunks) */
const GROWTH = 2;

/**
 * The chunk being cut, copied into its own pooled buffer piece by piece as the input arrives, so
 * no input piece is kept alive until the cut (a 16 MiB chunk held as 64 KiB socket pieces was up
 * to 16 MiB of small heap blocks, and freed ones left holes in glibc's heap: RSS).
 */
class ChunkBuilder {
  readonly #capacity: (length: number) => number;
  readonly #sizeHint: number;
  #buf: Buffer | undefined;
  #fill = 0;

  constructor(capacity: (length: number) => number, sizeHint: number) {
    this.#capacity = capacity;
    this.#sizeHint = sizeHint;
  }

  get length(): number {
    return this.#fill;
  }

  append(src: Buffer): void {
    this.#reserve(this.#fill + src.length, false);
    src.copy(this.#buf!, this.#fill);
    this.#fill += src.length;
  }

  /** The chunk so far (a view at offset 0 of a buffer of at least capacity(length) bytes, now the
   *  caller's); the builder starts the next chunk with a buffer of its own. */
  finish(): Buffer {
    this.#reserve(this.#fill, true);
    const out = this.#buf!.subarray(0, this.#fill);
    this.#buf = undefined;
    this.#fill = 0;
    return out;
  }

  /** Gives the buffer of an unfinished chunk back (the input failed or the consumer stopped). */
  discard(): void {
    if (this.#buf) chunkBuffers.give(this.#buf.buffer);
    this.#buf = undefined;
    this.#fill = 0;
  }

  /**
   * Room for `length` bytes, and at the cut for capacity(length). A chunk's first buffer is sized
   * for the expected chunk; one that outgrows it while bytes arrive moves to a buffer with room
   * for GROWTH × its bytes (so few chunks move twice), and at the cut, if that buffer cannot hold
   * the fragments, to one that fits them (the pool's smallest class that does: what the chunk
   * holds in flight). The bytes copied again stay a fraction of the chunk's.
   */
  #reserve(length: number, cut: boolean): void {
    const need = cut ? Math.max(length, this.#capacity(length)) : length;
    if (this.#buf && this.#buf.length >= need) return;
    const target = cut ? need : this.#buf ? Math.max(need, GROWTH * length) : Math.max(need, this.#capacity(this.#sizeHint));
    // never a view into Buffer's shared pool, so workers may take the memory; recycled (the codec
    // gives a taken chunk's buffer back to chunkBuffers once its fragments are stored)
    const taken = chunkBuffers.take(this.#fill, target);
    // (never past the pool's capacity: the headroom beyond it must stay untouched)
    const next = Buffer.from(taken.buffer, 0, chunkBuffers.capacityOf(taken.buffer));
    if (this.#buf) {
      this.#buf.copy(next, 0, 0, this.#fill);
      chunkBuffers.give(this.#buf.buffer);
    }
    this.#buf = next;
  }
}

/**
 * Cuts `body` at `chunker`'s boundaries; `tap` sees every input piece first (hashing, counting).
 * `capacity` sizes each chunk's buffer for what the consumer will do with it in place (the codec's
 * frameCapacity: the fragments are laid out in the chunk's own buffer); default just the chunk.
 * `sizeHint` is the chunk length to size a fresh chunk buffer for (the chunker's average).
 */
export async function* cutChunks(
  body: AsyncIterable<Uint8Array>,
  chunker: Chunker,
  tap: (piece: Buffer) => void,
  capacity: (length: number) => number = (length) => length,
  sizeHint = 4 * 2 ** 20,
): AsyncGenerator<Cut> {
  const chunk = new ChunkBuilder(capacity, sizeHint);
  let offset = 0;
  try {
    for await (const piece of body) {
      const b = Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
      if (b.length === 0) continue;
      tap(b);
      const cuts = chunker.scan(b);
      let from = 0;
      for (const c of cuts) {
        if (c > from) chunk.append(b.subarray(from, c));
        from = c;
        if (chunk.length === 0) continue;
        const at = offset;
        // advanced before the yield: the consumer may take (detach) data before we resume
        offset += chunk.length;
        yield { offset: at, data: chunk.finish(), last: false };
      }
      if (from < b.length) chunk.append(b.subarray(from));
      // the piece is copied: garbage, unless the caller keeps it (collected when it is dropped)
      noteGarbage(b.length, true);
    }
    if (chunk.length > 0) yield { offset, data: chunk.finish(), last: true };
  } finally {
    chunk.discard();
  }
}

/**
 * At most `limit` tasks at once, and at most `byteLimit` of their weights (the memory each holds)
 * together; `run` waits for room (back-pressure to the producer). A task heavier than `byteLimit`
 * still runs, alone, so no weight ever waits forever.
 */
export class TaskWindow {
  readonly #limit: number;
  readonly #byteLimit: number;
  readonly #running = new Set<Promise<void>>();
  #bytes = 0;
  #error: unknown;
  #failed = false;

  constructor(limit: number, byteLimit = Infinity) {
    this.#limit = Math.max(1, limit);
    this.#byteLimit = byteLimit;
  }

  /** the first task error, once one failed */
  get failed(): boolean {
    return this.#failed;
  }

  /** the weights of the tasks running now */
  get bytes(): number {
    return this.#bytes;
  }

  async run(task: () => Promise<void>, weight = 0): Promise<void> {
    while (this.#running.size >= this.#limit || (this.#running.size > 0 && this.#bytes + weight > this.#byteLimit)) {
      await Promise.race(this.#running);
    }
    const done = (): void => {
      this.#bytes -= weight;
      this.#running.delete(p);
    };
    const p: Promise<void> = task().then(done, (err: unknown) => {
      done();
      if (!this.#failed) {
        this.#failed = true;
        this.#error = err;
      }
    });
    this.#bytes += weight;
    this.#running.add(p);
  }

  /** Waits for every task; throws the first error. */
  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.race(this.#running);
    if (this.#failed) throw this.#error;
  }
}
