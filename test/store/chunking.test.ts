// cutChunks (chunk bytes copied into pooled buffers as the input arrives) and TaskWindow (chunk
// writes bounded by count and by bytes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytesFast } from '../../bench/lib.js';
import { cutChunks, TaskWindow, type Chunker } from '../../backend/store/chunking.js';
import { chunkBuffers } from '../../backend/store/cpu-pool.js';

const MiB = 2 ** 20;

/** A chunker that cuts at fixed absolute offsets of the stream (state carries across scans). */
function fixedCuts(boundaries: number[]): Chunker {
  let pos = 0;
  return {
    scan(data: Uint8Array): number[] {
      const out = boundaries.filter((b) => b > pos && b <= pos + data.length).map((b) => b - pos);
      pos += data.length;
      return out;
    },
    reset(): void {},
  };
}

async function* piecesOf(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield Buffer.from(data.subarray(i, i + size));
}

test('cutChunks: chunks at the chunker boundaries, in buffers of their own with the capacity asked for', async () => {
  const data = randomBytesFast(12 * MiB + 12_345, 3);
  // small, around the hint, one that outgrows its first buffer twice, a zero-length cut, the tail
  const boundaries = [200_000, 3 * MiB, 3 * MiB, 9 * MiB + 7, 10 * MiB];
  const capacity = (n: number): number => Math.ceil(n * 1.6) + 4096;
  const seen: number[] = [];
  let tapped = 0;
  const cuts = [];
  const pieces = piecesOf(data, 64 * 1024 + 3);
  for await (const cut of cutChunks(pieces, fixedCuts(boundaries), (p) => (tapped += p.length), capacity, MiB)) {
    assert.equal(cut.data.byteOffset, 0, 'a view at offset 0 (so the codec can move the whole buffer)');
    assert.ok(cut.data.buffer.byteLength >= capacity(cut.data.length), `capacity for ${cut.data.length} bytes`);
    // a copy of its own: later input pieces never show through
    cuts.push({ ...cut, data: Buffer.from(cut.data) });
    seen.push(cut.offset);
  }
  assert.equal(tapped, data.length);
  assert.deepEqual(seen, [0, 200_000, 3 * MiB, 9 * MiB + 7, 10 * MiB]);
  assert.deepEqual(cuts.map((c) => c.last), [false, false, false, false, true]);
  for (const c of cuts) assert.ok(c.data.equals(data.subarray(c.offset, c.offset + c.data.length)), `bytes at ${c.offset}`);
  assert.equal(cuts.at(-1)!.offset + cuts.at(-1)!.data.length, data.length);
});

test('cutChunks: the bytes survive later input (no view into the caller pieces)', async () => {
  const data = randomBytesFast(3 * MiB, 9);
  const shared = Buffer.alloc(100_000);
  // one piece buffer reused for every piece, as a socket reader may do
  const reused = async function* (): AsyncGenerator<Buffer> {
    for (let i = 0; i < data.length; i += shared.length) {
      const n = data.copy(shared, 0, i, i + shared.length);
      yield shared.subarray(0, n);
    }
  };
  const got: Buffer[] = [];
  for await (const cut of cutChunks(reused(), fixedCuts([MiB + 5, 2 * MiB]), () => undefined)) got.push(cut.data);
  assert.ok(Buffer.concat(got).equals(data));
});

test('cutChunks: an input error ends the generator with that error, and the unfinished chunk buffer goes back to the pool', async () => {
  const failing = async function* (): AsyncGenerator<Buffer> {
    yield Buffer.alloc(2 * MiB, 1);
    throw new Error('socket reset');
  };
  const idle = chunkBuffers.idleBytes;
  await assert.rejects(async () => {
    for await (const cut of cutChunks(failing(), fixedCuts([]), () => undefined)) void cut;
  }, /socket reset/);
  assert.ok(chunkBuffers.idleBytes > idle, 'the partly filled buffer went back');
});

/** A task that runs until its release() is called. */
function gate(): { task: () => Promise<void>; release: () => void; started: boolean } {
  let release!: () => void;
  const g = {
    started: false,
    release: () => release(),
    task: () => {
      g.started = true;
      return new Promise<void>((resolve) => (release = resolve));
    },
  };
  return g;
}

test('TaskWindow: waits while the weights in flight would pass the byte limit', async () => {
  const w = new TaskWindow(4, 100);
  const a = gate();
  const b = gate();
  const c = gate();
  await w.run(a.task, 60);
  await w.run(b.task, 30);
  assert.equal(w.bytes, 90);
  let admitted = false;
  const third = w.run(c.task, 20).then(() => (admitted = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(admitted, false, '90 + 20 > 100: waits');
  assert.equal(c.started, false);
  b.release();
  await third;
  assert.ok(c.started);
  assert.equal(w.bytes, 80);
  a.release();
  c.release();
  await w.drain();
  assert.equal(w.bytes, 0);
});

test('TaskWindow: a task heavier than the limit runs, alone', async () => {
  const w = new TaskWindow(4, 100);
  const small = gate();
  const big = gate();
  await w.run(small.task, 10);
  let admitted = false;
  const p = w.run(big.task, 500).then(() => (admitted = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(admitted, false);
  small.release();
  await p;
  assert.ok(big.started);
  big.release();
  await w.drain();
});

test('TaskWindow: the count limit holds without weights, and drain throws the first error', async () => {
  const w = new TaskWindow(2);
  const a = gate();
  const b = gate();
  await w.run(a.task);
  await w.run(b.task);
  let admitted = false;
  const p = w.run(() => Promise.reject(new Error('first'))).then(() => (admitted = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(admitted, false);
  a.release();
  await p;
  await w.run(() => Promise.reject(new Error('second')));
  b.release();
  await assert.rejects(w.drain(), /first/);
  assert.equal(w.failed, true);
});
