import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Chunker, chunkerParams, chunkStream, DEFAULT_AVG_CHUNK, expectedMeanChunk, type ChunkerParams } from '../../backend/chunker/index.js';
import { randomBytesFast } from '../../bench/lib.js';

const SEED_A = new Uint8Array(32).fill(1);
const SEED_B = new Uint8Array(32).fill(2);
const SMALL: ChunkerParams = { minSize: 1024, avgSize: 4096, maxSize: 16384 };

/** Chunk lengths from a list of cut offsets over a stream of `total` bytes (last partial included). */
function lengths(cuts: number[], total: number): number[] {
  const out: number[] = [];
  let prev = 0;
  for (const c of cuts) {
    out.push(c - prev);
    prev = c;
  }
  if (prev < total) out.push(total - prev);
  return out;
}

/** Feeds `data` to `chunker` in pieces of the given sizes, returning cuts as stream offsets. */
function scanSplit(chunker: Chunker, data: Uint8Array, sizes: () => number): number[] {
  chunker.reset();
  const cuts: number[] = [];
  for (let at = 0; at < data.length; ) {
    const n = Math.min(Math.max(1, sizes()), data.length - at);
    const piece = data.subarray(at, at + n);
    let prev = -1;
    for (const c of chunker.scan(piece)) {
      assert.ok(c > 0 && c <= n, `offset ${c} outside (0, ${n}]`);
      assert.ok(c > prev, 'offsets ascend');
      prev = c;
      cuts.push(at + c);
    }
    at += n;
  }
  return cuts;
}

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

test('chunkerParams: min = avg/4, max = avg*4, validated', () => {
  assert.deepEqual(chunkerParams(4 * 2 ** 20), { minSize: 2 ** 20, avgSize: 4 * 2 ** 20, maxSize: 16 * 2 ** 20 });
  assert.deepEqual(chunkerParams(100_000), { minSize: 25_000, avgSize: 100_000, maxSize: 400_000 });
  assert.equal(chunkerParams(DEFAULT_AVG_CHUNK).avgSize, 4 * 2 ** 20);
  for (const bad of [0, 1024, 64 * 1024 - 1, 1.5 * 2 ** 20 + 0.5, NaN, 2 ** 40]) {
    assert.throws(() => chunkerParams(bad), RangeError, String(bad));
  }
});

test('Chunker rejects bad seeds and params', () => {
  assert.throws(() => new Chunker(new Uint8Array(16), SMALL), RangeError);
  assert.throws(() => new Chunker(SEED_A, { minSize: 64, avgSize: 4096, maxSize: 16384 }), RangeError);
  assert.throws(() => new Chunker(SEED_A, { minSize: 2048, avgSize: 1024, maxSize: 16384 }), RangeError);
  assert.throws(() => new Chunker(SEED_A, { minSize: 1024, avgSize: 4096, maxSize: 2048 }), RangeError);
});

test('boundaries are deterministic for a key and independent of how the input is split', () => {
  const data = randomBytesFast(256 * 1024, 11);
  const whole = scanSplit(new Chunker(SEED_A, SMALL), data, () => data.length);
  assert.ok(whole.length > 20, `expected many chunks, got ${whole.length}`);
  assert.deepEqual(scanSplit(new Chunker(SEED_A, SMALL), data, () => data.length), whole, 'a second chunker agrees');
  const r = rng(5);
  const c = new Chunker(SEED_A, SMALL);
  for (let round = 0; round < 20; round++) {
    const maxPiece = [3, 70, 1000, 5000, 70_000][round % 5];
    assert.deepEqual(scanSplit(c, data, () => Math.floor(r() * maxPiece) + 1), whole, `random split, pieces <= ${maxPiece}`);
  }
  const small = data.subarray(0, 40 * 1024);
  assert.deepEqual(scanSplit(c, small, () => 1), scanSplit(c, small, () => small.length), '1-byte pieces');
});

test('the WASM and plain JS kernels cut at the same places', () => {
  const data = randomBytesFast(2 * 2 ** 20, 12);
  const wasm = new Chunker(SEED_A, SMALL);
  const js = new Chunker(SEED_A, SMALL, { kernel: 'js' });
  assert.equal(js.kernel, 'js');
  const r = rng(9);
  assert.deepEqual(scanSplit(wasm, data, () => Math.floor(r() * 100_000) + 1), scanSplit(js, data, () => data.length));
});

test('chunkers of different keys interleaved (sharing the WASM instance) do not disturb each other', () => {
  const data = randomBytesFast(1 << 20, 19);
  const alone = (seed: Uint8Array) => scanSplit(new Chunker(seed, SMALL), data, () => data.length);
  const a = new Chunker(SEED_A, SMALL);
  const b = new Chunker(SEED_B, SMALL);
  const cutsA: number[] = [];
  const cutsB: number[] = [];
  for (let at = 0; at < data.length; at += 10_000) {
    const piece = data.subarray(at, at + 10_000);
    for (const c of a.scan(piece)) cutsA.push(at + c);
    for (const c of b.scan(piece)) cutsB.push(at + c);
  }
  assert.deepEqual(cutsA, alone(SEED_A));
  assert.deepEqual(cutsB, alone(SEED_B));
});

test('boundaries differ across keys', () => {
  const data = randomBytesFast(512 * 1024, 13);
  const a = scanSplit(new Chunker(SEED_A, SMALL), data, () => data.length);
  const b = scanSplit(new Chunker(SEED_B, SMALL), data, () => data.length);
  const shared = a.filter((x) => b.includes(x)).length;
  assert.ok(shared < a.length / 4, `${shared} of ${a.length} boundaries shared across keys`);
});

test('chunk sizes stay within [min, max] and the mean is near avg on random data', () => {
  const data = randomBytesFast(8 * 2 ** 20, 14);
  for (const p of [SMALL, chunkerParams(64 * 1024)]) {
    const lens = lengths(scanSplit(new Chunker(SEED_A, p), data, () => 1 << 20), data.length);
    const full = lens.slice(0, -1);
    for (const l of full) assert.ok(l >= p.minSize && l <= p.maxSize, `chunk of ${l} outside [${p.minSize}, ${p.maxSize}]`);
    assert.ok(lens[lens.length - 1] <= p.maxSize);
    const mean = full.reduce((s, l) => s + l, 0) / full.length;
    const expected = expectedMeanChunk(p);
    assert.ok(Math.abs(expected - p.avgSize) / p.avgSize < 0.01, `threshold aims at avg: ${expected}`);
    assert.ok(mean > p.avgSize * 0.8 && mean < p.avgSize * 1.25, `mean ${mean} vs avg ${p.avgSize} over ${full.length} chunks`);
  }
});

test('a run of identical bytes is cut at maxSize or at fixed intervals, never outside [min, max]', () => {
  for (const fill of [0, 0xff, 0x41]) {
    const data = new Uint8Array(100_000).fill(fill);
    const lens = lengths(scanSplit(new Chunker(SEED_A, SMALL), data, () => 7000), data.length).slice(0, -1);
    assert.ok(lens.length > 0);
    for (const l of lens) assert.ok(l >= SMALL.minSize && l <= SMALL.maxSize, `chunk of ${l}`);
    assert.equal(new Set(lens).size, 1, 'identical content, identical chunks');
  }
});

test('inserting bytes near the start of a 64 MiB file changes at most 2 chunks', async () => {
  const data = randomBytesFast(64 * 2 ** 20, 15);
  const edited = Buffer.concat([data.subarray(0, 1000), Buffer.from('some inserted bytes'), data.subarray(1000)]);
  const chunker = new Chunker(SEED_A, chunkerParams(DEFAULT_AVG_CHUNK));
  const hashes = async (buf: Uint8Array): Promise<string[]> => {
    const out: string[] = [];
    async function* pieces() {
      for (let at = 0; at < buf.length; at += 3 * 2 ** 20) yield buf.subarray(at, at + 3 * 2 ** 20);
    }
    for await (const c of chunkStream(pieces(), chunker)) out.push(createHash('sha256').update(c).digest('hex'));
    return out;
  };
  const before = await hashes(data);
  const after = await hashes(edited);
  assert.ok(before.length >= 8, `${before.length} chunks`);
  const kept = new Set(before);
  const changed = after.filter((h) => !kept.has(h)).length;
  assert.ok(changed >= 1 && changed <= 2, `${changed} of ${after.length} chunks changed`);
  assert.ok(Math.abs(after.length - before.length) <= 1);
});

test('chunkStream reassembles exactly the input, in bounded chunks', async () => {
  const data = randomBytesFast(3 * 2 ** 20 + 12345, 16);
  const r = rng(3);
  async function* source() {
    for (let at = 0; at < data.length; ) {
      const n = Math.floor(r() * 300_000);
      yield data.subarray(at, at + n); // includes empty pieces
      at += n;
    }
  }
  const chunks: Buffer[] = [];
  for await (const c of chunkStream(source(), new Chunker(SEED_A, chunkerParams(64 * 1024)))) chunks.push(c);
  assert.ok(chunks.length > 10);
  for (const c of chunks) assert.ok(c.length <= 4 * 64 * 1024);
  assert.ok(Buffer.concat(chunks).equals(data));
});

test('chunkStream copies: chunks survive the source reusing its buffer', async () => {
  const data = randomBytesFast(200_000, 17);
  const reused = new Uint8Array(5000);
  async function* source() {
    for (let at = 0; at < data.length; at += reused.length) {
      const n = Math.min(reused.length, data.length - at);
      reused.set(data.subarray(at, at + n));
      yield reused.subarray(0, n);
    }
  }
  const chunks: Buffer[] = [];
  for await (const c of chunkStream(source(), new Chunker(SEED_A, SMALL))) chunks.push(c);
  assert.ok(Buffer.concat(chunks).equals(data));
});

test('chunkStream: empty input yields no chunk; the chunker is reset first', async () => {
  const chunker = new Chunker(SEED_A, SMALL);
  async function* empty() {
    yield new Uint8Array(0);
  }
  const none: Buffer[] = [];
  for await (const c of chunkStream(empty(), chunker)) none.push(c);
  assert.equal(none.length, 0);
  // leave the chunker mid-chunk, then chunk a stream: same result as a fresh chunker
  const data = randomBytesFast(100_000, 18);
  chunker.scan(data.subarray(0, 777));
  const collect = async (c: Chunker) => {
    const out: number[] = [];
    async function* one() {
      yield data;
    }
    for await (const b of chunkStream(one(), c)) out.push(b.length);
    return out;
  };
  assert.deepEqual(await collect(chunker), await collect(new Chunker(SEED_A, SMALL)));
});

test('chunkStream pulls from the source only when the consumer asks', async () => {
  let pulled = 0;
  async function* source() {
    for (let i = 0; i < 100; i++) {
      pulled++;
      yield randomBytesFast(16384, 100 + i);
    }
  }
  const it = chunkStream(source(), new Chunker(SEED_A, SMALL));
  const first = await it.next();
  assert.equal(first.done, false);
  const pulledAfterFirst = pulled;
  assert.ok(pulledAfterFirst <= 2, `pulled ${pulledAfterFirst} pieces for the first chunk`);
  await new Promise((r) => setImmediate(r));
  assert.equal(pulled, pulledAfterFirst, 'nothing read while the consumer waits');
  await it.return(undefined);
  assert.equal(pulled, pulledAfterFirst);
});
