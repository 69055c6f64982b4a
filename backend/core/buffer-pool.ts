/**
 * BufferPool: reusable ArrayBuffers for the data path, shared by the chunk pipeline
 * (backend/store/cpu-pool.ts) and the storage peer's data plane (backend/network/data-plane.ts).
 */
export interface BufferPoolInit {
  /** capacities are rounded up to a multiple of this; shorter requests are never pooled */
  granule: number;
  /** bytes of idle buffers kept; the biggest beyond it are dropped (left to GC) */
  maxIdleBytes: number;
  /** idle buffers are all dropped once nothing was taken for this long (default: never) */
  idleTimeoutMs?: number;
  /**
   * Virtual bytes added past each buffer's capacity and never touched (default 0). With 32 MiB or
   * more, glibc maps every buffer with mmap of its own (its dynamic mmap threshold never exceeds
   * 32 MiB), so a dropped buffer goes back to the kernel when it is collected, and freeing one
   * never raises that threshold. Below it, buffers come from glibc's heaps, and the holes dropped
   * ones leave there stay resident. Untouched pages cost no memory, but V8 counts the whole
   * byteLength as external memory, and that pressure starts collections: hence `headroomFrom`.
   */
  headroom?: number;
  /** only buffers of at least this capacity get the headroom (default: all) */
  headroomFrom?: number;
}

/**
 * Recycled ArrayBuffers for the big short-lived buffers of the data path (cut chunks and their
 * fragments in the gateway, fragment bodies a storage peer receives). A fresh 4 MiB buffer costs
 * about ten times its copy in page faults, and once freed it leaves glibc arenas holding memory
 * the process never gives back (RSS); a warm one costs the copy. One pool per thread: buffers
 * travel between threads by transfer and are given back on arrival.
 *
 * Contract: take(length, capacity) returns a view of `length` bytes at offset 0 of a buffer the
 * caller then owns, whose byteLength is at least `capacity` (default `length`; it may be larger).
 * give() hands a buffer over for reuse: the giver MUST NOT touch it (or any view of it) again.
 * Buffers shorter than one granule are never kept.
 */
export class BufferPool {
  readonly #granule: number;
  readonly #maxIdle: number;
  /** idle buffers, oldest first */
  #idle: ArrayBuffer[] = [];
  #idleBytes = 0;
  readonly #pooled = new WeakSet<ArrayBuffer>();
  readonly #idleTimeoutMs: number | undefined;
  readonly #headroom: number;
  readonly #headroomFrom: number;
  #lastTake = 0;
  #trimTimer: NodeJS.Timeout | undefined;

  constructor(init: BufferPoolInit) {
    this.#granule = init.granule;
    this.#maxIdle = init.maxIdleBytes;
    this.#idleTimeoutMs = init.idleTimeoutMs;
    this.#headroom = init.headroom ?? 0;
    this.#headroomFrom = init.headroomFrom ?? 0;
  }

  /** bytes held by idle buffers */
  get idleBytes(): number {
    return this.#idleBytes;
  }

  /** bytes newly allocated by take(), reused from idle buffers, and dropped by give() so far (for
   *  benches: the churn left) */
  readonly stats = { allocated: 0, dropped: 0, reused: 0 };

  /** The capacity of the size class `length` falls in: steps of √2 from one granule, so chunks of
   *  every size share a handful of classes (a buffer is at most ~41 % larger than asked for). */
  #classOf(length: number): number {
    let c = this.#granule;
    let step = 0;
    while (c < length) {
      step++;
      // (the epsilon: √2⁴ is 4.000…01 in floating point)
      c = Math.ceil(Math.SQRT2 ** step - 1e-9) * this.#granule;
    }
    return c;
  }

  take(length: number, capacity = length): Buffer {
    if (capacity < length) throw new RangeError(`capacity ${capacity} is less than length ${length}`);
    this.#lastTake = Date.now();
    if (capacity < this.#granule) return Buffer.from(Buffer.allocUnsafeSlow(capacity).buffer, 0, length);
    // Best fit among the idle buffers: the smallest that holds `capacity` (most recently given
    // first among equals: warm). Chunk sizes vary ~16× around their average, so buffers of one
    // exact size class rarely matched and most takes allocated afresh, each a page-faulted buffer
    // and, once dropped, a hole in a glibc arena (RSS). A bigger idle buffer costs no more memory
    // than it already holds.
    let best = -1;
    let bestLen = Infinity;
    const cls = this.#classOf(capacity);
    for (let i = this.#idle.length - 1; i >= 0; i--) {
      const b = this.capacityOf(this.#idle[i]);
      if (b >= capacity && b < bestLen) {
        best = i;
        bestLen = b;
        if (b === cls) break;
      }
    }
    let ab: ArrayBuffer;
    if (best >= 0) {
      ab = this.#idle[best];
      this.#idle.splice(best, 1);
      this.#idleBytes -= bestLen;
      this.stats.reused += bestLen;
    } else {
      const cap = cls;
      // allocUnsafeSlow: an ArrayBuffer of its own, not zero-filled (so the headroom stays untouched)
      ab = Buffer.allocUnsafeSlow(cap >= this.#headroomFrom ? cap + this.#headroom : cap).buffer as ArrayBuffer;
      this.#pooled.add(ab);
      this.stats.allocated += cap;
    }
    return Buffer.from(ab, 0, length);
  }

  /** The bytes of `ab` a holder may use: its byteLength less the pool's headroom (for a buffer
   *  this pool allocated with one; others are all usable). Writing past it costs resident memory. */
  capacityOf(ab: ArrayBufferLike): number {
    return this.#hasHeadroom(ab) ? ab.byteLength - this.#headroom : ab.byteLength;
  }

  /** (unambiguous: a buffer without headroom is shorter than headroomFrom) */
  #hasHeadroom(ab: ArrayBufferLike): boolean {
    return this.#headroom > 0 && ab.byteLength >= Math.max(this.#headroomFrom, this.#granule) + this.#headroom;
  }

  /** Whether `view` starts a buffer this pool handed out (so its whole ArrayBuffer can move). */
  owns(view: Uint8Array): boolean {
    return view.byteOffset === 0 && view.buffer instanceof ArrayBuffer && this.#pooled.has(view.buffer);
  }

  /** (a Buffer's `.buffer` will do: a SharedArrayBuffer is never kept) */
  give(ab: ArrayBufferLike): void {
    // (with headroom, only buffers that have it: a foreign one would be handed out as usable up to
    // its byteLength less a headroom it does not have)
    if (!(ab instanceof ArrayBuffer) || ab.byteLength < this.#granule) return;
    if (this.#headroom > 0 && ab.byteLength >= this.#headroomFrom && !this.#hasHeadroom(ab)) return;
    const size = this.capacityOf(ab);
    if (size > this.#maxIdle) {
      this.stats.dropped += size;
      return;
    }
    this.#pooled.add(ab);
    this.#idle.push(ab);
    this.#idleBytes += size;
    this.#armTrim();
    // over the limit: drop the biggest idle buffers (the rarest need, and the most memory back)
    while (this.#idleBytes > this.#maxIdle) {
      let big = 0;
      for (let i = 1; i < this.#idle.length; i++) if (this.#idle[i].byteLength > this.#idle[big].byteLength) big = i;
      const old = this.capacityOf(this.#idle.splice(big, 1)[0]);
      this.#idleBytes -= old;
      this.stats.dropped += old;
    }
  }

  /** Drops every idle buffer once no take() came for idleTimeoutMs: memory goes back after a burst. */
  #armTrim(): void {
    const ms = this.#idleTimeoutMs;
    if (ms === undefined || this.#trimTimer) return;
    const check = (): void => {
      this.#trimTimer = undefined;
      if (this.#idle.length === 0) return;
      const quiet = Date.now() - this.#lastTake;
      if (quiet < ms) {
        this.#trimTimer = setTimeout(check, ms - quiet).unref();
        return;
      }
      for (const ab of this.#idle) this.stats.dropped += this.capacityOf(ab);
      this.#idle = [];
      this.#idleBytes = 0;
    };
    this.#trimTimer = setTimeout(check, ms).unref();
  }
}
