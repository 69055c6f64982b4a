/**
 * Content-defined chunking with a keyed Rabin fingerprint (ARCHITECTURE §2, §3).
 *
 * A chunk's boundary depends only on the bytes since the previous boundary:
 * - its first (minSize - 64) bytes are skipped, not hashed (no cut can fall there anyway);
 * - the fingerprint starts from an empty window (0) and takes in the next 63 bytes unchecked;
 * - from the byte that makes the chunk minSize long on, the chunk ends after the first byte whose
 *   fingerprint (of the 64 bytes ending there) is below the threshold (params.ts), or at maxSize.
 * So boundaries re-synchronise after an edit: once a cut after the edit coincides with the
 * original, every later cut does too.
 */
import { createHash } from 'node:crypto';
import type { RollingKernel } from './kernel.js';
import { createJsKernel } from './kernel-js.js';
import { createWasmKernel } from './kernel-wasm.js';
import { type ChunkerParams, WINDOW_SIZE, cutThreshold, validateParams } from './params.js';
import { derivePermutation, derivePolynomial } from './polynomial.js';
import { type RabinTables, buildTables } from './tables.js';

export const CHUNKER_SEED_BYTES = 32;

/** Deriving the tables costs 2–4 ms (the irreducibility tests), and the store makes a Chunker per
 *  put, so the tables of the most recently used seeds are kept (keyed by a hash of the seed, not
 *  the seed itself). They are never mutated, so chunkers of one tenant share them. */
const TABLE_CACHE_SIZE = 64;
const tableCache = new Map<string, RabinTables>();

function tablesFor(seed: Uint8Array): RabinTables {
  const id = createHash('sha256').update('peerstor/chunker/v1/cache').update(seed).digest('base64');
  let t = tableCache.get(id);
  if (t) {
    tableCache.delete(id); // re-insert: Map order is our LRU order
  } else {
    t = buildTables(derivePolynomial(seed), derivePermutation(seed));
    if (tableCache.size >= TABLE_CACHE_SIZE) tableCache.delete(tableCache.keys().next().value as string);
  }
  tableCache.set(id, t);
  return t;
}

export interface ChunkerInit {
  /** force the plain JS kernel (tests compare it with the WASM one) */
  kernel?: 'js' | 'wasm';
}

export class Chunker {
  readonly params: ChunkerParams;
  readonly #kernel: RollingKernel;
  readonly #zeroByte: number;
  readonly #threshold: number;
  /** chunk offset of the first hashed byte, and of the first byte after which a cut may fall */
  readonly #hashFrom: number;
  readonly #checkFrom: number;
  /** bytes of the current chunk seen so far */
  #count = 0;
  #h = 0;
  /** the last 64 bytes hashed in the current chunk (a prefix of zeroByte while fewer), then room
   *  for the first 64 bytes of the next scan() call so the kernel sees one contiguous window */
  readonly #stage = new Uint8Array(2 * WINDOW_SIZE);

  /**
   * seed: the tenant's 32-byte chunker key. The Rabin polynomial (an irreducible one of degree 32)
   * and a byte substitution are derived from it deterministically (polynomial.ts), so equal seeds
   * give equal boundaries and different seeds unrelated ones. Throws RangeError on a bad seed or
   * params.
   */
  constructor(seed: Uint8Array, params: ChunkerParams, init: ChunkerInit = {}) {
    if (!(seed instanceof Uint8Array) || seed.length !== CHUNKER_SEED_BYTES) {
      throw new RangeError(`chunker seed must be ${CHUNKER_SEED_BYTES} bytes`);
    }
    validateParams(params);
    this.params = Object.freeze({ minSize: params.minSize, avgSize: params.avgSize, maxSize: params.maxSize });
    const { table, zeroByte } = tablesFor(seed);
    this.#zeroByte = zeroByte;
    this.#threshold = cutThreshold(params);
    this.#hashFrom = params.minSize - WINDOW_SIZE;
    this.#checkFrom = params.minSize - 1;
    this.#kernel = (init.kernel !== 'js' ? createWasmKernel(table) : undefined) ?? createJsKernel(table);
  }

  /** 'wasm' or 'js': which hot loop this chunker runs */
  get kernel(): string {
    return this.#kernel.kind;
  }

  /**
   * Feed the next bytes of the stream. Returns the chunk boundaries found inside `data`, as
   * ascending offsets into `data` (exclusive end of a chunk). State carries across calls: a chunk
   * may span many calls. Never returns 0 (a chunk that ends with the previous call ends there).
   * Keeps no reference to `data`.
   */
  scan(data: Uint8Array): number[] {
    const cuts: number[] = [];
    const n = data.length;
    const { maxSize } = this.params;
    let pos = 0;
    while (pos < n) {
      if (this.#count < this.#hashFrom) {
        const skip = Math.min(this.#hashFrom - this.#count, n - pos);
        pos += skip;
        this.#count += skip;
        if (pos === n) break;
      }
      if (this.#count === this.#hashFrom) {
        this.#h = 0;
        this.#stage.fill(this.#zeroByte, 0, WINDOW_SIZE);
      }
      // hash data[pos..limit): never past the byte that makes the chunk maxSize long
      const limit = Math.min(n, pos + (maxSize - this.#count));
      const cut = this.#roll(data, pos, limit);
      if (cut >= 0) {
        cuts.push(cut + 1);
        pos = cut + 1;
        this.#count = 0;
        continue;
      }
      this.#count += limit - pos;
      pos = limit;
      if (this.#count === maxSize) {
        cuts.push(pos);
        this.#count = 0;
      }
    }
    return cuts;
  }

  /** Start a new stream: the next byte scanned begins a new chunk (the state right after a cut). */
  reset(): void {
    this.#count = 0;
    this.#h = 0;
  }

  /**
   * Runs the kernel over data[pos..limit) (all inside the current chunk's hashed part), priming
   * without checks before checkFrom. Returns the index of the cut byte or -1; keeps #h and the
   * window in #stage up to date.
   */
  #roll(data: Uint8Array, pos: number, limit: number): number {
    const stage = this.#stage;
    // the first 64 bytes need the window from before this call: run them in #stage
    const head = Math.min(WINDOW_SIZE, limit - pos);
    stage.set(data.subarray(pos, pos + head), WINDOW_SIZE);
    let cut = this.#rollRange(stage, WINDOW_SIZE, WINDOW_SIZE + head, this.#count);
    if (cut >= 0) return pos + cut - WINDOW_SIZE;
    if (limit - pos > head) {
      cut = this.#rollRange(data, pos + head, limit, this.#count + head);
      if (cut >= 0) return cut;
      stage.set(data.subarray(limit - WINDOW_SIZE, limit), 0);
    } else {
      stage.copyWithin(0, head, head + WINDOW_SIZE);
    }
    return -1;
  }

  /** buf[from..to) where buf[from] is at chunk offset `offset`: unchecked before checkFrom */
  #rollRange(buf: Uint8Array, from: number, to: number, offset: number): number {
    const kernel = this.#kernel;
    const primeEnd = Math.min(to, from + Math.max(0, this.#checkFrom - offset));
    if (primeEnd > from) {
      kernel.roll(buf, from, primeEnd, this.#h, 0);
      this.#h = kernel.h;
    }
    if (to > primeEnd) {
      const cut = kernel.roll(buf, primeEnd, to, this.#h, this.#threshold);
      this.#h = kernel.h;
      return cut;
    }
    return -1;
  }
}
