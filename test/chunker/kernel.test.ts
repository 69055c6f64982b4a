import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTables } from '../../backend/chunker/tables.js';
import { derivePermutation, derivePolynomial } from '../../backend/chunker/polynomial.js';
import { createJsKernel } from '../../backend/chunker/kernel-js.js';
import { createWasmKernel, LANE, LANE_BLOCK } from '../../backend/chunker/kernel-wasm.js';
import { WINDOW_SIZE } from '../../backend/chunker/params.js';
import type { RollingKernel } from '../../backend/chunker/kernel.js';
import { randomBytesFast } from '../../bench/lib.js';

// The WASM kernel scans blocks of LANE_BLOCK bytes as four lanes of LANE bytes (lane 0 carries h,
// lanes 1..3 start from a primed window) and the rest one chain at a time. Whatever the lanes do,
// roll() must return exactly what the plain JS kernel returns: the first index below the
// threshold and the fingerprint there (or at to-1). These tests pin that down where lanes can go
// wrong: cuts in each lane, several lanes at once, the lanes' first and last bytes, the range's
// edges, the tail after the last whole block, and the extreme thresholds.

const seed = new Uint8Array(32).fill(7);
const { table, zeroByte } = buildTables(derivePolynomial(seed), derivePermutation(seed));
const js = createJsKernel(table);
const wasm = createWasmKernel(table);
const U32_MAX = 2 ** 32 - 1;

/** WINDOW_SIZE zeroBytes (an empty window, fingerprint 0) and then `n` random bytes */
function stream(n: number, rngSeed: number): Uint8Array {
  const buf = new Uint8Array(WINDOW_SIZE + n);
  buf.fill(zeroByte, 0, WINDOW_SIZE);
  buf.set(randomBytesFast(n, rngSeed), WINDOW_SIZE);
  return buf;
}

/** the fingerprint before `from` (the contract: h0 must be the fingerprint of buf[from-64..from)) */
function hBefore(buf: Uint8Array, from: number): number {
  if (from === WINDOW_SIZE) return 0;
  assert.equal(js.roll(buf, WINDOW_SIZE, from, 0, 0), -1);
  return js.h;
}

/** Makes buf[at-63..at] an empty window, so the fingerprint at `at` is 0: the only place threshold 1
 *  cuts (random windows hit 0 with probability 2^-32). */
function plantZero(buf: Uint8Array, at: number): void {
  buf.fill(zeroByte, at - WINDOW_SIZE + 1, at + 1);
}

function agree(k: RollingKernel, buf: Uint8Array, from: number, to: number, threshold: number, what: string): number {
  const h0 = hBefore(buf, from);
  const want = js.roll(buf, from, to, h0, threshold);
  const wantH = js.h;
  const got = k.roll(buf, from, to, h0, threshold);
  assert.equal(got, want, `${what}: cut`);
  assert.equal(k.h, wantH, `${what}: h`);
  return want;
}

test('the WASM kernel is available here (the rest of this file tests it)', () => {
  assert.ok(wasm, 'WebAssembly (with SIMD) should work on Node 20');
});

test('lanes agree with the JS kernel on random data at many thresholds and ranges', () => {
  const k = wasm!;
  const buf = stream(5 * LANE_BLOCK + 1000, 1);
  const ranges: Array<[number, number]> = [
    [WINDOW_SIZE, buf.length],
    [WINDOW_SIZE + 1, WINDOW_SIZE + 1 + LANE_BLOCK], // exactly one block
    [WINDOW_SIZE + 3, WINDOW_SIZE + 3 + LANE_BLOCK - 1], // one byte short: no lanes at all
    [WINDOW_SIZE + 777, WINDOW_SIZE + 777 + 2 * LANE_BLOCK + 5], // two blocks and a tail
    [WINDOW_SIZE + 5000, buf.length - 3],
  ];
  let cuts = 0;
  for (const [from, to] of ranges) {
    // thresholds from "never" through "about once a block" to "almost always"
    for (const threshold of [0, 1, 2 ** 14, 2 ** 17, 2 ** 19, 2 ** 22, 2 ** 28, 2 ** 31, U32_MAX - 1, U32_MAX]) {
      if (agree(k, buf, from, to, threshold, `[${from},${to}) thr ${threshold}`) >= 0) cuts++;
    }
  }
  assert.ok(cuts >= 20, `the thresholds should cut in most ranges, got ${cuts}`);
});

test('a cut in each lane, on the lanes\' first and last bytes, and at the range\'s edges', () => {
  const k = wasm!;
  const from = WINDOW_SIZE + 100;
  const to = from + 2 * LANE_BLOCK + 300; // two blocks, then a tail through the one-chain path
  const lane = (block: number, j: number, i: number) => from + block * LANE_BLOCK + j * LANE + i;
  const spots = [
    from, // the range's first byte (window before it still from the caller)
    lane(0, 0, 70), lane(0, 0, LANE - 1),
    lane(0, 1, 0), lane(0, 1, 1), lane(0, 1, 63), lane(0, 1, 64), lane(0, 1, 500), lane(0, 1, LANE - 1),
    lane(0, 2, 0), lane(0, 2, 4000), lane(0, 2, LANE - 2), lane(0, 2, LANE - 1),
    lane(0, 3, 0), lane(0, 3, 1), lane(0, 3, 4001), lane(0, 3, LANE - 1),
    lane(1, 0, 0), lane(1, 1, 0), lane(1, 3, LANE - 1),
    lane(2, 0, 0), lane(2, 0, 150), // the tail
    to - 1, // the range's last byte
  ];
  for (const spot of spots) {
    const buf = stream(to - WINDOW_SIZE + 10, 2);
    plantZero(buf, spot);
    // a planted window also zeroes the bytes before `spot`: the cut may come a little earlier
    // (inside the planted run), and both kernels must agree on exactly where
    const cut = agree(k, buf, from, to, 1, `cut planted at ${spot}`);
    assert.ok(cut >= spot - WINDOW_SIZE + 1 && cut <= spot, `cut ${cut} for ${spot}`);
  }
});

test('several lanes hit: the lowest lane\'s first hit wins, whichever lane hits first in time', () => {
  const k = wasm!;
  const from = WINDOW_SIZE;
  const to = from + LANE_BLOCK;
  const at = (j: number, i: number) => from + j * LANE + i;
  const cases: Array<[string, number[], number]> = [
    ['lane 3 early, lane 1 late', [at(3, 100), at(1, 7000)], at(1, 7000)],
    ['lane 2 early, lane 0 late', [at(2, 200), at(0, 8000)], at(0, 8000)],
    ['lanes 1, 2, 3 on the same byte', [at(1, 300), at(2, 300), at(3, 300)], at(1, 300)],
    ['lane 2 twice, then lane 1', [at(2, 100), at(2, 101), at(1, 5000)], at(1, 5000)],
    ['lane 3 on consecutive bytes', [at(3, 1000), at(3, 1001), at(3, 1002)], at(3, 1000)],
    ['all four lanes', [at(3, 10), at(2, 20), at(1, 30), at(0, 4000)], at(0, 4000)],
    ['lane 1 then lane 2 and 3 later', [at(1, 6000), at(2, 7000), at(3, 8000)], at(1, 6000)],
    ['lane 2 on its last byte, lane 3 on its first', [at(2, LANE - 1), at(3, 0)], at(2, LANE - 1)],
  ];
  for (const [what, spots, expected] of cases) {
    // planted runs must not overlap: each run ends at its spot, 64 bytes long, so a run of
    // consecutive spots is just one longer run (hits at each of its bytes)
    const buf = stream(to - WINDOW_SIZE, 3);
    for (const s of spots) plantZero(buf, s);
    const cut = agree(k, buf, from, to, 1, what);
    // a planted run's first hit is its first byte whose window is all zeroBytes: its spot, unless
    // the spots are consecutive (then the first of them)
    assert.equal(cut, expected, what);
  }
});

test('tiny and empty ranges, and ranges that end inside a block', () => {
  const k = wasm!;
  const buf = stream(3 * LANE_BLOCK, 4);
  for (const n of [0, 1, 2, 3, 4, 5, 63, 64, 65, 1000, LANE - 1, LANE, LANE + 1, LANE_BLOCK - 1, LANE_BLOCK, LANE_BLOCK + 1]) {
    for (const threshold of [0, 2 ** 20, U32_MAX]) {
      agree(k, buf, WINDOW_SIZE + 11, WINDOW_SIZE + 11 + n, threshold, `${n} bytes, thr ${threshold}`);
    }
  }
});

test('h carries across calls: scanning a stream piece by piece equals one call', () => {
  const k = wasm!;
  const buf = stream(4 * LANE_BLOCK + 12345, 5);
  const whole = js.roll(buf, WINDOW_SIZE, buf.length, 0, 0);
  assert.equal(whole, -1);
  const wantH = js.h;
  let h = 0;
  for (let at = WINDOW_SIZE; at < buf.length; ) {
    const end = Math.min(buf.length, at + [LANE_BLOCK + 7, 3, LANE_BLOCK * 2, 100][at % 4]);
    assert.equal(k.roll(buf, at, end, h, 0), -1);
    h = k.h;
    at = end;
  }
  assert.equal(h, wantH);
});

test('kernels of different keys share the WASM instance without disturbing each other', () => {
  const other = buildTables(derivePolynomial(new Uint8Array(32).fill(8)), derivePermutation(new Uint8Array(32).fill(8)));
  const k2 = createWasmKernel(other.table)!;
  const js2 = createJsKernel(other.table);
  const buf = stream(2 * LANE_BLOCK, 6);
  // the same bytes behind key 2's own empty window
  const buf2 = Uint8Array.from(buf).fill(other.zeroByte, 0, WINDOW_SIZE);
  for (let round = 0; round < 3; round++) {
    agree(wasm!, buf, WINDOW_SIZE, buf.length, 2 ** 18, `key 1, round ${round}`);
    const want = js2.roll(buf2, WINDOW_SIZE, buf2.length, 0, 2 ** 18);
    assert.equal(k2.roll(buf2, WINDOW_SIZE, buf2.length, 0, 2 ** 18), want, `key 2, round ${round}`);
    assert.equal(k2.h, js2.h, `key 2, round ${round}: h`);
  }
});

test('the WASM kernel without lanes (one chain, as where SIMD is refused) agrees too', () => {
  const oneChain = createWasmKernel(table, { lanes: false })!;
  const buf = stream(2 * LANE_BLOCK + 99, 7);
  plantZero(buf, WINDOW_SIZE + LANE_BLOCK + 3 * LANE + 5);
  for (const threshold of [0, 1, 2 ** 18, U32_MAX]) {
    agree(oneChain, buf, WINDOW_SIZE + 1, buf.length, threshold, `one chain, thr ${threshold}`);
  }
});
