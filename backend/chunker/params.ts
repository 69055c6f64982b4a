/**
 * Chunk size policy. `chunkerParams(avg)` is the default policy: minSize = avg/4, maxSize = avg*4
 * (the FastCDC / restic ratios: small enough a min that an edit is re-synchronised within one
 * chunk, large enough a max that a run of identical windows still ends in bounded chunks).
 */

export interface ChunkerParams {
  /** no content-defined cut makes a chunk shorter than this (only the stream's last chunk may be) */
  minSize: number;
  /** the mean chunk length on random data the cut threshold is chosen for */
  avgSize: number;
  /** a cut is forced when a chunk reaches this length */
  maxSize: number;
}

export const DEFAULT_AVG_CHUNK = 4 * 1024 * 1024;

/** Bytes in the Rabin sliding window. */
export const WINDOW_SIZE = 64;

/** Smallest average chunkerParams accepts: below it per-chunk costs (index rows, 16 fragments,
 *  GCM tags, RS padding) outweigh any dedup gain. */
export const MIN_AVG_CHUNK = 64 * 1024;
/** Largest average chunkerParams accepts: maxSize (4×) must stay a sane single allocation. */
export const MAX_AVG_CHUNK = 256 * 1024 * 1024;

/** The default policy for an average chunk size: min = avg/4, max = avg*4 (floored to integers). */
export function chunkerParams(avgSize: number): ChunkerParams {
  if (!Number.isSafeInteger(avgSize)) throw new RangeError(`average chunk size must be an integer number of bytes, got ${avgSize}`);
  if (avgSize < MIN_AVG_CHUNK || avgSize > MAX_AVG_CHUNK) {
    throw new RangeError(
      `average chunk size ${avgSize} is out of range: it must be between ${MIN_AVG_CHUNK} (64 KiB) and ${MAX_AVG_CHUNK} (256 MiB) bytes`,
    );
  }
  const params = { minSize: Math.floor(avgSize / 4), avgSize, maxSize: avgSize * 4 };
  validateParams(params);
  return params;
}

/**
 * The structural rules every Chunker needs (looser than chunkerParams' policy, so tests can use
 * tiny chunks): integers, WINDOW_SIZE < minSize <= avgSize <= maxSize <= 2^30.
 */
export function validateParams(p: ChunkerParams): void {
  const { minSize, avgSize, maxSize } = p;
  for (const [name, v] of [['minSize', minSize], ['avgSize', avgSize], ['maxSize', maxSize]] as const) {
    if (!Number.isSafeInteger(v)) throw new RangeError(`chunker ${name} must be an integer, got ${v}`);
  }
  if (minSize <= WINDOW_SIZE) throw new RangeError(`chunker minSize ${minSize} must be larger than the ${WINDOW_SIZE}-byte window`);
  if (avgSize < minSize) throw new RangeError(`chunker avgSize ${avgSize} is below minSize ${minSize}`);
  if (maxSize < avgSize) throw new RangeError(`chunker maxSize ${maxSize} is below avgSize ${avgSize}`);
  if (maxSize > 2 ** 30) throw new RangeError(`chunker maxSize ${maxSize} is above 1 GiB`);
}

/**
 * The cut threshold: a checked position cuts when its 32-bit fingerprint, read unsigned, is below
 * it, i.e. with probability q = threshold / 2^32 on random data. Chunk lengths are then
 * minSize + G, G geometric with parameter q truncated at D = maxSize - minSize, so
 *   E[length] = minSize + (1 - q) / q * (1 - (1 - q)^D).
 * We solve E[length] = avgSize for q by bisection, which puts the mean on avgSize itself rather
 * than on the nearest power of two a bit mask (restic's `digest & mask == 0`) would give: with
 * min = avg/4 a mask is off by up to ±25 %. For a power-of-two threshold the test is exactly
 * "the top bits of the fingerprint are zero", i.e. a mask test on the high bits.
 */
export function cutThreshold(p: ChunkerParams): number {
  const { minSize, avgSize, maxSize } = p;
  const D = maxSize - minSize;
  const target = avgSize - minSize;
  if (target <= 0 || D === 0) return 2 ** 32 - 1; // cut at the first checked position
  const mean = (q: number): number => ((1 - q) / q) * -Math.expm1(D * Math.log1p(-q));
  // mean(q) decreases in q; mean(1) = 0 and mean(q→0) → D, so a solution exists when target < D
  if (target >= D) return 1;
  let lo = 2 ** -40;
  let hi = 1 - 2 ** -40;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (mean(mid) > target) lo = mid;
    else hi = mid;
  }
  return Math.min(2 ** 32 - 1, Math.max(1, Math.round(((lo + hi) / 2) * 2 ** 32)));
}

/** The mean chunk length the threshold of `p` gives on random data (for tests and logs). */
export function expectedMeanChunk(p: ChunkerParams): number {
  const q = cutThreshold(p) / 2 ** 32;
  const D = p.maxSize - p.minSize;
  return p.minSize + ((1 - q) / q) * -Math.expm1(D * Math.log1p(-q));
}
