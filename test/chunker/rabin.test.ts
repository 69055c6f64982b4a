import { test } from 'node:test';
import assert from 'node:assert/strict';
import { degree, derivePermutation, derivePolynomial, isIrreducible, polyMod, polyMulMod } from '../../backend/chunker/polynomial.js';
import { buildTables } from '../../backend/chunker/tables.js';
import { createJsKernel } from '../../backend/chunker/kernel-js.js';
import { createWasmKernel } from '../../backend/chunker/kernel-wasm.js';
import { WINDOW_SIZE } from '../../backend/chunker/params.js';
import { randomBytesFast } from '../../bench/lib.js';

test('Ben-Or irreducibility on known polynomials', () => {
  assert.equal(isIrreducible(0b111n), true); // x^2 + x + 1
  assert.equal(isIrreducible(0b101n), false); // x^2 + 1 = (x + 1)^2
  assert.equal(isIrreducible(0b1011n), true); // x^3 + x + 1
  assert.equal(isIrreducible((1n << 32n) | (1n << 22n) | 0b111n), true); // x^32+x^22+x^2+x+1, a primitive LFSR polynomial
  assert.equal(isIrreducible(0x3da3358b4dc173n), true); // restic's default Rabin polynomial (degree 53)
  // a product of two irreducibles is reducible
  const product = polyMulMod(0b1011n, (1n << 32n) | (1n << 22n) | 0b111n, 1n << 64n);
  assert.equal(degree(product), 35);
  assert.equal(isIrreducible(product), false);
  assert.equal(polyMod(product, 0b1011n), 0n);
});

test('the polynomial and the permutation are keyed and deterministic', () => {
  const a = new Uint8Array(32).fill(1);
  const b = new Uint8Array(32).fill(2);
  const pa = derivePolynomial(a);
  assert.equal(degree(pa), 32);
  assert.ok(isIrreducible(pa));
  assert.equal(derivePolynomial(Uint8Array.from(a)), pa);
  assert.notEqual(derivePolynomial(b), pa);
  const sa = derivePermutation(a);
  assert.equal(new Set(sa).size, 256);
  assert.deepEqual(derivePermutation(Uint8Array.from(a)), sa);
  assert.notDeepEqual(derivePermutation(b), sa);
});

/** The definition: H = sum_j S(b_j) x^(8(W-j)) mod P over the 64-byte window, computed the slow way. */
function fingerprint(window: Uint8Array, p: bigint, s: Uint8Array): number {
  let h = 0n;
  for (const byte of window) h = polyMod((h << 8n) ^ BigInt(s[byte]), p);
  return Number(h) | 0;
}

test('the rolling kernels compute the fingerprint of the last 64 bytes', () => {
  const seed = new Uint8Array(32).fill(3);
  const p = derivePolynomial(seed);
  const s = derivePermutation(seed);
  const { table, zeroByte } = buildTables(p, s);
  const data = randomBytesFast(5000, 4);
  const buf = new Uint8Array(WINDOW_SIZE + data.length);
  buf.fill(zeroByte, 0, WINDOW_SIZE); // an empty window: fingerprint 0
  buf.set(data, WINDOW_SIZE);
  const kernels = [createJsKernel(table), createWasmKernel(table)].filter((k) => k !== undefined);
  assert.ok(kernels.length >= 1);
  for (const k of kernels) {
    for (const n of [1, 3, 63, 64, 65, 100, 1001, 4999, 5000]) {
      assert.equal(k.roll(buf, WINDOW_SIZE, WINDOW_SIZE + n, 0, 0), -1, 'threshold 0 never cuts');
      const window = buf.subarray(WINDOW_SIZE + n - WINDOW_SIZE, WINDOW_SIZE + n);
      assert.equal(k.h, fingerprint(window, p, s), `${k.kind} after ${n} bytes`);
    }
    // a threshold above some position's fingerprint stops exactly there
    const pos = WINDOW_SIZE + 777;
    const h = fingerprint(buf.subarray(pos + 1 - WINDOW_SIZE, pos + 1), p, s) >>> 0;
    const cut = k.roll(buf, WINDOW_SIZE, buf.length, 0, h + 1);
    assert.ok(cut >= WINDOW_SIZE && cut <= pos, `${k.kind}: cut ${cut}`);
    assert.ok(k.h >>> 0 <= h);
  }
});
