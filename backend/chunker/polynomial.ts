/**
 * Polynomials over GF(2) for the keyed Rabin fingerprint, as bigints (bit i = coefficient of x^i).
 * Only used when a Chunker is built; the hot loop works on the 32-bit tables made from them.
 */
import { createHmac } from 'node:crypto';

/** Degree of the Rabin polynomial. 32 makes the fingerprint exactly one 32-bit word: `h << 8`
 *  drops precisely the byte that the reduction table puts back, so the hot loop runs in int32
 *  (JavaScript bit operations, WASM i32) with no masking and no 64-bit emulation. */
export const POLY_DEGREE = 32;

export function degree(a: bigint): number {
  return a === 0n ? -1 : a.toString(2).length - 1;
}

/** a mod m */
export function polyMod(a: bigint, m: bigint): bigint {
  const dm = degree(m);
  let da = degree(a);
  while (da >= dm) {
    a ^= m << BigInt(da - dm);
    da = degree(a);
  }
  return a;
}

/** a * b mod m (carry-less) */
export function polyMulMod(a: bigint, b: bigint, m: bigint): bigint {
  let r = 0n;
  a = polyMod(a, m);
  while (b > 0n) {
    if (b & 1n) r ^= a;
    b >>= 1n;
    a = polyMod(a << 1n, m);
  }
  return r;
}

export function polyGcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, polyMod(a, b)];
  return a;
}

/**
 * Ben-Or's test: p of degree n is irreducible iff gcd(p, x^(2^i) - x mod p) = 1 for i = 1..n/2
 * (an irreducible factor of degree i divides x^(2^i) - x).
 */
export function isIrreducible(p: bigint): boolean {
  const n = degree(p);
  if (n < 1) return false;
  let u = 2n; // x
  for (let i = 1; i <= n >> 1; i++) {
    u = polyMulMod(u, u, p); // x^(2^i) mod p
    if (polyGcd(p, u ^ 2n) !== 1n) return false;
  }
  return true;
}

/** A byte stream keyed by `seed` and separated by `label` (HMAC-SHA256 in counter mode). */
export function keyedStream(seed: Uint8Array, label: string): () => number {
  let counter = 0;
  let block = Buffer.alloc(0);
  let at = 0;
  return () => {
    if (at === block.length) {
      const ctr = Buffer.alloc(4);
      ctr.writeUInt32BE(counter++);
      block = createHmac('sha256', seed).update(`peerstor/chunker/v1/${label}`).update(ctr).digest();
      at = 0;
    }
    return block[at++];
  };
}

/**
 * The tenant's Rabin polynomial: the first irreducible candidate x^32 + (32 keyed bits, constant
 * term forced to 1) drawn from the seed. About 1 in 16 odd candidates is irreducible.
 */
export function derivePolynomial(seed: Uint8Array): bigint {
  const next = keyedStream(seed, 'polynomial');
  for (;;) {
    let low = 0n;
    for (let i = 0; i < 4; i++) low = (low << 8n) | BigInt(next());
    const p = (1n << BigInt(POLY_DEGREE)) | low | 1n;
    if (isIrreducible(p)) return p;
  }
}

/**
 * A keyed permutation of the 256 byte values (Fisher–Yates, unbiased by rejection). The
 * fingerprint is taken over substituted bytes: with only ~2^27 irreducible polynomials of degree
 * 32, the polynomial alone could be found by brute force from the chunk sizes of a known file;
 * the substitution adds a key of log2(256!) ≈ 1684 bits at no cost in the hot loop's chain.
 */
export function derivePermutation(seed: Uint8Array): Uint8Array {
  const next = keyedStream(seed, 'substitution');
  const s = new Uint8Array(256);
  for (let i = 0; i < 256; i++) s[i] = i;
  for (let i = 255; i > 0; i--) {
    const range = i + 1;
    const limit = 65536 - (65536 % range);
    let r: number;
    do r = (next() << 8) | next();
    while (r >= limit);
    const j = r % range;
    const t = s[i];
    s[i] = s[j];
    s[j] = t;
  }
  return s;
}
