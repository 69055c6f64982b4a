/**
 * Chunker.scan throughput on 256 MiB of pseudo-random data, 1 MiB and 4 MiB average chunks, WASM
 * and plain JS kernels, against two baselines over the same buffer in the same run: a byte-sum
 * loop (what a JS loop touching every byte costs here) and SHA-256 (native, SHA-NI). Then the
 * rolling kernels alone over the whole buffer (threshold 0: no cut, every byte hashed): the WASM
 * kernel with its lanes, the same WASM kernel one chain at a time, and the JS kernel.
 * Run: node --import tsx bench/chunker.bench.ts [MiB]  (figures: from a build, node dist/bench/…)
 */
import { createHash } from 'node:crypto';
import { Chunker, chunkerParams } from '../backend/chunker/index.js';
import { createJsKernel } from '../backend/chunker/kernel-js.js';
import { createWasmKernel } from '../backend/chunker/kernel-wasm.js';
import { derivePermutation, derivePolynomial } from '../backend/chunker/polynomial.js';
import { buildTables } from '../backend/chunker/tables.js';
import { WINDOW_SIZE } from '../backend/chunker/params.js';
import type { RollingKernel } from '../backend/chunker/kernel.js';
import { measure, randomBytesFast, report, type Measurement } from './lib.js';

const MiB = 2 ** 20;
const size = Number(process.argv[2] ?? 256) * MiB;
const data = randomBytesFast(size, 42);
const seed = new Uint8Array(32).fill(9);

function byteSum(buf: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < buf.length; i++) s = (s + buf[i]) | 0;
  return s;
}

const results: Measurement[] = [];
const baseline = await measure('baseline: byte-sum loop (JS)', size, () => byteSum(data));
results.push(baseline);
results.push(await measure('baseline: SHA-256 (native)', size, () => createHash('sha256').update(data).digest()));
for (const avg of [1 * MiB, 4 * MiB]) {
  for (const kernel of ['wasm', 'js'] as const) {
    const c = new Chunker(seed, chunkerParams(avg), { kernel });
    let cuts = 0;
    const m = await measure(`scan ${kernel}, avg ${avg / MiB} MiB`, size, () => {
      c.reset();
      // 4 MiB pieces, as a stream would deliver them
      cuts = 0;
      for (let at = 0; at < size; at += 4 * MiB) cuts += c.scan(data.subarray(at, at + 4 * MiB)).length;
    });
    m.name += ` (${cuts} cuts, mean ${((size / (cuts || 1)) / MiB).toFixed(2)} MiB)`;
    results.push(m);
  }
}

// the kernels alone: the window before the first byte is an empty one (zeroByte, fingerprint 0)
const { table, zeroByte } = buildTables(derivePolynomial(seed), derivePermutation(seed));
const window = new Uint8Array(WINDOW_SIZE + size);
window.fill(zeroByte, 0, WINDOW_SIZE);
window.set(data, WINDOW_SIZE);
const kernels: Array<[string, RollingKernel | undefined]> = [
  ['roll wasm, lanes', createWasmKernel(table)],
  ['roll wasm, one chain', createWasmKernel(table, { lanes: false })],
  ['roll js', createJsKernel(table)],
];
for (const [name, k] of kernels) {
  if (!k) continue; // no WebAssembly here
  results.push(await measure(name, size, () => k.roll(window, WINDOW_SIZE, window.length, 0, 0)));
}
report(results, baseline);
