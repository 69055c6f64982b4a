/**
 * Lookup tables of the keyed Rabin fingerprint, in one Int32Array (one base pointer and one bounds
 * check in the hot loop; 10 KiB, so it stays in L1).
 *
 * Fingerprint of the window b_1..b_W (W = 64, b_W newest), with S the keyed byte permutation and
 * P the keyed degree-32 polynomial:  H = sum_j S(b_j) * x^(8(W-j)) mod P, a 32-bit word.
 * Sliding in byte b while byte o (64 bytes older) leaves:
 *   H' = H*x^8 + S(b) + S(o)*x^(8W)  (mod P)  = (H << 8) ^ MOD1[H >>> 24] ^ SUB[b] ^ OUT0[o]
 * Four bytes at once (the kernels' main chain, so the loop-carried dependency is one table
 * round per 4 bytes instead of per byte):
 *   H'''' = MOD4_3[H>>>24] ^ MOD4_2[H>>>16 & 255] ^ MOD4_1[H>>>8 & 255] ^ MOD4_0[H & 255]
 *           ^ (S(b1)<<24 | S(b2)<<16 | S(b3)<<8 | S(b4)) ^ OUT3[o1] ^ OUT2[o2] ^ OUT1[o3] ^ OUT0[o4]
 */
import { POLY_DEGREE } from './polynomial.js';
import { WINDOW_SIZE } from './params.js';

export const T_MOD1 = 0;
/** MOD4_k at T_MOD4 + 256*k, k = 0..3: t * x^(32 + 8k) mod P */
export const T_MOD4 = 256;
/** OUT_m at T_OUT + 256*m, m = 0..3: S(o) * x^(8(W + m)) mod P */
export const T_OUT = 256 * 5;
/** S(b) */
export const T_SUB = 256 * 9;
export const TABLE_ENTRIES = 256 * 10;

export interface RabinTables {
  table: Int32Array;
  /** the byte that S maps to 0: a window of 64 of them has fingerprint 0, which is how a
   *  chunk's hashing starts (the window is "filled" with it before the first real byte) */
  zeroByte: number;
}

export function buildTables(polynomial: bigint, permutation: Uint8Array): RabinTables {
  if (polynomial >> BigInt(POLY_DEGREE) !== 1n) throw new RangeError('the Rabin polynomial must have degree 32');
  const low = Number(polynomial & 0xffffffffn);
  // multiply a 32-bit remainder by x, reducing x^32 to the low part of P
  const mulx = (v: number): number => ((v << 1) ^ (v >>> 31 ? low : 0)) >>> 0;
  // basis[e] = x^e mod P for e up to the largest exponent we need (8(W+3) + 7)
  const maxExp = 8 * (WINDOW_SIZE + 3) + 8 + 32;
  const basis: number[] = [1];
  for (let e = 1; e <= maxExp; e++) basis.push(mulx(basis[e - 1]));
  // t * x^e mod P for an 8-bit t
  const times = (t: number, e: number): number => {
    let r = 0;
    for (let bit = 0; bit < 8; bit++) if ((t >>> bit) & 1) r ^= basis[e + bit];
    return r | 0;
  };
  const table = new Int32Array(TABLE_ENTRIES);
  let zeroByte = -1;
  for (let t = 0; t < 256; t++) {
    table[T_MOD1 + t] = times(t, 32);
    for (let k = 0; k < 4; k++) table[T_MOD4 + 256 * k + t] = times(t, 32 + 8 * k);
    const s = permutation[t];
    for (let m = 0; m < 4; m++) table[T_OUT + 256 * m + t] = times(s, 8 * (WINDOW_SIZE + m));
    table[T_SUB + t] = s;
    if (s === 0) zeroByte = t;
  }
  if (zeroByte < 0) throw new RangeError('the byte substitution must be a permutation');
  return { table, zeroByte };
}
