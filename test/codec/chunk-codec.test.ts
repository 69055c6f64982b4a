import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { ChunkCodec, type EncodedChunk } from '../../backend/store/chunk-codec.js';
import { CpuPool } from '../../backend/store/cpu-pool.js';
import { createMasterKey, deriveTenantKeys } from '../../backend/crypto/keys.js';
import { chunkIdOf, sealChunk } from '../../backend/crypto/seal.js';
import { ErasureCoder } from '../../backend/erasure/reed-solomon.js';
import { isStoreError } from '../../backend/core/errors.js';
import { BufferPool } from '../../backend/core/buffer-pool.js';

const pool = new CpuPool(2);
after(() => pool.close());

const keysA = deriveTenantKeys(createMasterKey());
const keysB = deriveTenantKeys(createMasterKey());
const E = { k: 10, n: 16 };
const pooled = new ChunkCodec({ keys: keysA, erasure: E, pool });
const inline = new ChunkCodec({ keys: keysA, erasure: E, inline: true });
const zPooled = new ChunkCodec({ keys: keysA, erasure: E, pool, compression: true });
const corrupt = (e: unknown) => isStoreError(e, 'Corrupt');

const frags = (c: EncodedChunk, lost: number[] = []): (Buffer | null)[] =>
  c.fragments.map((f) => (lost.includes(f.index) ? null : Buffer.from(f.bytes)));

function text(size: number): Buffer {
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
  let s = '';
  for (let i = 0; s.length < size; i++) s += words[(i * 7 + (i >> 3)) % words.length] + (i % 13 === 0 ? '\n' : ' ');
  return Buffer.from(s.slice(0, size));
}

test('round trip through the pool for many sizes, all fragments present', async () => {
  for (const size of [0, 1, 79, 80, 1000, 65_536, 1_000_003]) {
    const p = randomBytes(size);
    const c = await pooled.encode(p);
    assert.equal(c.plainSize, size);
    assert.equal(c.fragments.length, 16);
    assert.equal(c.compressed, false);
    assert.ok(c.id.equals(chunkIdOf(keysA, p)));
    const out = await pooled.decode(c.id, c.sealedSize, c.compressed, frags(c));
    assert.ok(out.equals(p), `size ${size}`);
  }
});

test('fragments: framed with k/n/index, named by their SHA-256, equal sizes', async () => {
  const c = await pooled.encode(randomBytes(5000));
  const size = c.fragments[0].bytes.length;
  c.fragments.forEach((f, i) => {
    assert.equal(f.index, i);
    assert.deepEqual([...f.bytes.subarray(0, 4)], [1, 10, 16, i]);
    assert.equal(f.bytes.length, size);
    assert.equal(f.id, createHash('sha256').update(f.bytes).digest('hex'));
  });
});

test('fragments are exactly header + the shards of sealChunk through ErasureCoder.encode (the in-place layout moves nothing wrongly)', async () => {
  const coder = new ErasureCoder(E);
  // sizes around shard-size steps of 8, and compressible text, so padding and deflate both show
  for (const [p, codec] of [
    [randomBytes(1), pooled],
    [randomBytes(4097), pooled],
    [randomBytes(1_000_003), inline],
    [text(700_000), zPooled],
  ] as const) {
    const c = await codec.encode(p);
    const shards = await coder.encode(sealChunk(keysA, c.id, p, { compress: codec === zPooled }));
    assert.equal(c.fragments.length, shards.length);
    c.fragments.forEach((f, i) => {
      assert.deepEqual([...f.bytes.subarray(0, 4)], [1, 10, 16, i]);
      assert.ok(f.bytes.subarray(4).equals(shards[i]), `fragment ${i} of a ${p.length}-byte chunk`);
    });
  }
});

test('pool and inline give identical, deterministic output; another tenant gives unrelated fragments', async () => {
  const p = randomBytes(300_000);
  const a = await pooled.encode(p);
  const b = await inline.encode(p);
  const again = await pooled.encode(Buffer.from(p));
  assert.deepEqual(a.fragments.map((f) => f.id), b.fragments.map((f) => f.id));
  assert.deepEqual(a.fragments.map((f) => f.id), again.fragments.map((f) => f.id));
  const other = await new ChunkCodec({ keys: keysB, erasure: E, pool }).encode(p);
  const ids = new Set(a.fragments.map((f) => f.id));
  assert.ok(other.fragments.every((f) => !ids.has(f.id)));
  assert.ok(!other.id.equals(a.id));
  assert.ok((await inline.decode(a.id, a.sealedSize, a.compressed, frags(a))).equals(p));
});

test('the caller keeps its buffers: encode and decode copy, never detach', async () => {
  const p = randomBytes(200_000);
  const copy = Buffer.from(p);
  const c = await pooled.encode(p);
  assert.equal(p.length, 200_000);
  assert.ok(p.equals(copy));
  const f = frags(c, [2]);
  const before = f.map((x) => (x ? Buffer.from(x) : null));
  await pooled.decode(c.id, c.sealedSize, c.compressed, f);
  f.forEach((x, i) => assert.ok(x === null ? before[i] === null : x.equals(before[i]!)));
});

test('decodes with up to n−k fragments missing, data fragments included', async () => {
  const p = randomBytes(123_457);
  const c = await pooled.encode(p);
  const patterns = [[0], [9], [0, 1, 2], [3, 7, 8, 10], [0, 1, 2, 3, 4, 5], [4, 5, 6, 7, 8, 9], [10, 11, 12, 13, 14, 15], [0, 2, 4, 11, 13, 15]];
  for (const lost of patterns) {
    assert.ok((await pooled.decode(c.id, c.sealedSize, c.compressed, frags(c, lost))).equals(p), `lost ${lost}`);
  }
  await assert.rejects(pooled.decode(c.id, c.sealedSize, c.compressed, frags(c, [0, 1, 2, 3, 4, 5, 6])), (e) => isStoreError(e, 'Unavailable'));
});

test('small code (4+3): every loss pattern through the pool', async () => {
  const codec = new ChunkCodec({ keys: keysA, erasure: { k: 4, n: 7 }, pool });
  const p = randomBytes(10_000);
  const c = await codec.encode(p);
  for (let mask = 0; mask < 128; mask++) {
    const lost = [0, 1, 2, 3, 4, 5, 6].filter((i) => mask & (1 << i));
    const run = codec.decode(c.id, c.sealedSize, c.compressed, frags(c, lost));
    if (lost.length <= 3) assert.ok((await run).equals(p), `lost ${lost}`);
    else await assert.rejects(run, (e) => isStoreError(e, 'Unavailable'), `lost ${lost}`);
  }
});

test('compression: chosen when it saves ≥ 1/8, round trips with missing data fragments', async () => {
  const p = text(1_000_000);
  const c = await zPooled.encode(p);
  assert.equal(c.compressed, true);
  assert.ok(c.sealedSize < p.length * 7 / 8);
  assert.equal(c.plainSize, p.length);
  assert.ok((await zPooled.decode(c.id, c.sealedSize, true, frags(c, [0, 5, 9]))).equals(p));
  // decode does not depend on the codec's own compression setting
  assert.ok((await pooled.decode(c.id, c.sealedSize, true, frags(c))).equals(p));
  await assert.rejects(zPooled.decode(c.id, c.sealedSize, false, frags(c)), corrupt);
  const noise = randomBytes(500_000);
  const n = await zPooled.encode(noise);
  assert.equal(n.compressed, false);
  assert.ok((await zPooled.decode(n.id, n.sealedSize, false, frags(n))).equals(noise));
});

test('peers learn nothing: a canary in the plaintext appears in no fragment', async () => {
  const canary = Buffer.from('CANARY-7f3a9c-do-not-leak');
  const p = Buffer.concat([text(50_000), canary, text(50_000), canary]);
  for (const codec of [pooled, zPooled]) {
    const c = await codec.encode(p);
    for (const f of c.fragments) {
      assert.ok(!f.bytes.includes(canary));
      assert.ok(!f.bytes.includes(c.id.subarray(0, 8)), 'nor the chunk id');
    }
  }
});

test('damage → Corrupt: flipped bits in data or parity shards, wrong id, size, slot or header', async () => {
  const p = randomBytes(40_000);
  const c = await pooled.encode(p);
  const flip = (lost: number[], index: number, at: number) => {
    const f = frags(c, lost);
    f[index]![at] ^= 0x20;
    return f;
  };
  await assert.rejects(pooled.decode(c.id, c.sealedSize, false, flip([], 3, 100)), corrupt);
  await assert.rejects(pooled.decode(c.id, c.sealedSize, false, flip([0], 10, 77)), corrupt, 'parity used for rebuilding');
  await assert.rejects(pooled.decode(c.id, c.sealedSize, false, flip([], 0, 1)), corrupt, 'header k');
  const otherId = Buffer.from(c.id);
  otherId[0] ^= 1;
  await assert.rejects(pooled.decode(otherId, c.sealedSize, false, frags(c)), corrupt);
  await assert.rejects(pooled.decode(c.id, c.sealedSize - 1, false, frags(c)), corrupt);
  await assert.rejects(pooled.decode(c.id, c.sealedSize + 10_000_000, false, frags(c)), corrupt);
  const swapped = frags(c);
  [swapped[1], swapped[2]] = [swapped[2], swapped[1]];
  await assert.rejects(pooled.decode(c.id, c.sealedSize, false, swapped), corrupt);
  const short = frags(c);
  short[4] = short[4]!.subarray(0, 100);
  await assert.rejects(pooled.decode(c.id, c.sealedSize, false, short), corrupt);
  await assert.rejects(pooled.decode(c.id, c.sealedSize, false, frags(c).slice(0, 15)), (e) => isStoreError(e, 'InvalidArgument'));
  // another tenant's codec cannot open it
  const b = new ChunkCodec({ keys: keysB, erasure: E, pool });
  await assert.rejects(b.decode(c.id, c.sealedSize, false, frags(c)), corrupt);
});

test('checkPlaintext: a chunk sealed under an id that is not its HMAC passes the GCM tag; only the plaintext check refuses it', async () => {
  // what a write-path bug would store: the bytes of p under the id of q
  const p = randomBytes(60_000);
  const wrongId = chunkIdOf(keysA, randomBytes(60_000));
  for (const codec of [pooled, inline]) {
    const c = await codec.encode(p, wrongId);
    await assert.rejects(codec.decode(wrongId, c.sealedSize, false, frags(c)), (e) => corrupt(e) && /does not hash to its id/.test((e as Error).message));
    await assert.rejects(codec.decodeChecked(wrongId, c.sealedSize, false, frags(c), undefined, { checkPlaintext: true }), corrupt);
    const r = await codec.decodeChecked(wrongId, c.sealedSize, false, frags(c), undefined, { checkPlaintext: false });
    assert.ok(r.plain?.equals(p));
    // without the plaintext check a damaged byte is still refused: the tag covers it
    const damaged = frags(c);
    damaged[2]![50] ^= 1;
    await assert.rejects(codec.decodeChecked(wrongId, c.sealedSize, false, damaged, undefined, { checkPlaintext: false }), corrupt);
  }
});

test('recycle: pooled fragments move to the worker whole (even in a larger buffer) and come back to the pool', async () => {
  const p = randomBytes(300_000);
  const c = await pooled.encode(p);
  const recycle = new BufferPool({ granule: 4096, maxIdleBytes: 2 ** 20 });
  // as the read path has them: each fragment at offset 0 of a pooled buffer of a larger size class
  const inPool = c.fragments.map((f) => {
    const b = recycle.take(f.bytes.length, f.bytes.length + 5000);
    b.set(f.bytes);
    return b;
  });
  assert.ok(inPool[0].buffer.byteLength > inPool[0].length);
  const r = await pooled.decodeChecked(c.id, c.sealedSize, false, inPool, undefined, { take: true, recycle });
  assert.ok(r.plain?.equals(p));
  // the k data fragments decode used were moved (detached here) and given back
  assert.equal(inPool[0].length, 0);
  assert.equal(inPool[10].length, c.fragments[10].bytes.length, 'parity was not needed, not moved');
  assert.equal(recycle.idleBytes, 10 * inPool[10].buffer.byteLength);
  const reusedBefore = recycle.stats.reused;
  recycle.take(c.fragments[0].bytes.length);
  assert.ok(recycle.stats.reused > reusedBefore, 'a later take reuses a returned buffer');
});

test('a given id is used as is; chunkId matches the keyed HMAC', async () => {
  const p = randomBytes(70_000);
  const id = await pooled.chunkId(p);
  assert.ok(id.equals(chunkIdOf(keysA, p)));
  assert.ok((await inline.chunkId(p)).equals(id));
  const c = await pooled.encode(p, id);
  assert.ok(c.id.equals(id));
  assert.deepEqual(c.fragments.map((f) => f.id), (await pooled.encode(p)).fragments.map((f) => f.id));
  await assert.rejects(pooled.encode(p, id.subarray(0, 16)), (e) => isStoreError(e, 'InvalidArgument'));
});

test('many chunks in flight at once', async () => {
  const inputs = Array.from({ length: 24 }, (_, i) => randomBytes(50_000 + i * 1000));
  const encoded = await Promise.all(inputs.map((p) => pooled.encode(p)));
  const decoded = await Promise.all(encoded.map((c, i) => pooled.decode(c.id, c.sealedSize, c.compressed, frags(c, [i % 10]))));
  decoded.forEach((d, i) => assert.ok(d.equals(inputs[i])));
});
