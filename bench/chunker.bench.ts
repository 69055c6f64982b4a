/**
 * Chunker.scan throughput on 256 MiB of pseudo-random data, 1 MiB and 4 MiB average chunks, WASM
 * and plain JS kernels, against two baselines over the same buffer in the same run: a byte-sum
 * loop (what a JS loop touching every byte costs here) and SHA-256 (native, SHA-NI).
 * Run: node --import tsx bench/chunker.bench.ts [MiB]
 */
import { createHash } from 'node:crypto';
import { Chunker, chunkerParams } from '../backend/chunker/index.js';
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
report(results, baseline);
