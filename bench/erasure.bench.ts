/**
 * Reed-Solomon (ronomon, native, libuv pool) on 4 MiB sealed chunks: encode 10+6, decode with all
 * data shards present (a concatenation) and with 3 data shards missing, reconstruct of 6 lost
 * shards (repair), and fragment framing; a plain copy of the same bytes is the baseline.
 * "one at a time" shows single-core speed, "4 in flight" what the libuv pool makes of two cores.
 *   node --import tsx bench/erasure.bench.ts
 */
import { measure, randomBytesFast, report } from './lib.js';
import { DEFAULT_ERASURE, ErasureCoder } from '../backend/erasure/reed-solomon.js';
import { encodeFragment } from '../backend/erasure/fragment.js';

const MiB = 2 ** 20;
const CHUNK = 4 * MiB;
const CHUNKS = 16;
const total = CHUNK * CHUNKS;
const coder = new ErasureCoder(DEFAULT_ERASURE);
const chunks = Array.from({ length: CHUNKS }, (_, i) => randomBytesFast(CHUNK, i + 3));
// separate buffers per shard, as fragments fetched from peers are (encode's are views of one buffer)
const encoded = (await Promise.all(chunks.map((c) => coder.encode(c)))).map((shards) => shards.map((s) => Buffer.from(s)));
const lose = (shards: Buffer[], lost: number[]) => shards.map((s, i) => (lost.includes(i) ? null : s));

async function inFlight<T>(items: T[], n: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

const copy = await measure('copy of the same bytes, baseline', total, () => chunks.forEach((c) => Buffer.from(c)));
const results = [copy];
for (const n of [1, 4]) {
  const label = n === 1 ? 'one at a time' : `${n} in flight`;
  results.push(await measure(`RS encode 10+6, ${label}`, total, () => inFlight(chunks, n, (c) => coder.encode(c))));
  results.push(await measure(`RS decode, all data present, ${label}`, total, () => inFlight(encoded, n, (s) => coder.decode(s, CHUNK))));
  results.push(await measure(`RS decode, 3 data missing, ${label}`, total, () => inFlight(encoded, n, (s) => coder.decode(lose(s, [0, 4, 9]), CHUNK))));
  results.push(await measure(`RS reconstruct, 6 lost (4 data), ${label}`, total, () => inFlight(encoded, n, (s) => coder.reconstruct(lose(s, [1, 2, 3, 5, 11, 14])))));
}
results.push(await measure('fragment framing (16 x encodeFragment)', total, () => encoded.forEach((s) => s.forEach((shard, index) => encodeFragment({ k: 10, n: 16, index }, shard)))));

console.log(`\n${CHUNKS} chunks of 4 MiB per run (MiB/s of chunk data), best of 3. Node ${process.version}`);
report(results, copy);
