import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DEFAULT_ERASURE, ErasureCoder, MAX_PARITY } from '../../backend/erasure/reed-solomon.js';
import { isStoreError } from '../../backend/core/errors.js';

/** every subset of {0..n-1} with exactly `size` members, as sorted index arrays */
function* combinations(n: number, size: number, start = 0, acc: number[] = []): Generator<number[]> {
  if (acc.length === size) {
    yield acc.slice();
    return;
  }
  for (let i = start; i <= n - (size - acc.length); i++) {
    acc.push(i);
    yield* combinations(n, size, i + 1, acc);
    acc.pop();
  }
}

function drop(shards: Buffer[], lost: number[]): (Buffer | null)[] {
  const out: (Buffer | null)[] = shards.slice();
  for (const i of lost) out[i] = null;
  return out;
}

test('default is 10+6 and parameters are validated', () => {
  assert.deepEqual(DEFAULT_ERASURE, { k: 10, n: 16 });
  assert.deepEqual(new ErasureCoder(DEFAULT_ERASURE).params, { k: 10, n: 16 });
  for (const p of [{ k: 0, n: 4 }, { k: 4, n: 4 }, { k: 5, n: 3 }, { k: 10, n: 10 + MAX_PARITY + 1 }, { k: 2.5, n: 6 }, { k: 25, n: 26 }]) {
    assert.throws(() => new ErasureCoder(p), (e) => isStoreError(e, 'InvalidArgument'), JSON.stringify(p));
  }
});

test('shardSize: ceil(length/k) rounded up to a multiple of 8', () => {
  const c = new ErasureCoder({ k: 10, n: 16 });
  assert.equal(c.shardSize(0), 8);
  assert.equal(c.shardSize(1), 8);
  assert.equal(c.shardSize(80), 8);
  assert.equal(c.shardSize(81), 16);
  assert.equal(c.shardSize(4 * 2 ** 20), 419432);
  assert.equal(c.shardSize(4 * 2 ** 20) % 8, 0);
});

test('encode: n equal shards, data shards are the zero-padded input', async () => {
  const c = new ErasureCoder({ k: 10, n: 16 });
  const data = randomBytes(1001);
  const shards = await c.encode(data);
  assert.equal(shards.length, 16);
  const size = c.shardSize(1001);
  for (const s of shards) assert.equal(s.length, size);
  const joined = Buffer.concat(shards.slice(0, 10));
  assert.deepEqual(joined.subarray(0, 1001), data);
  assert.ok(joined.subarray(1001).every((b) => b === 0));
  assert.ok(shards.slice(10).some((s) => s.some((b) => b !== 0)), 'parity is not all zero');
  assert.deepEqual(await c.decode(shards, 1001), data);
});

test('10+6: every loss pattern of up to 6 fragments decodes (14,893 patterns, 8008 of them losing 6)', async () => {
  const c = new ErasureCoder({ k: 10, n: 16 });
  const data = randomBytes(1234);
  const shards = await c.encode(data);
  const counts: number[] = [];
  for (let lose = 0; lose <= 6; lose++) {
    counts[lose] = 0;
    for (const lost of combinations(16, lose)) {
      const out = await c.decode(drop(shards, lost), data.length);
      assert.ok(out.equals(data), `lost ${lost}`);
      counts[lose]++;
    }
  }
  assert.deepEqual(counts, [1, 16, 120, 560, 1820, 4368, 8008]);
});

test('4+3: every loss pattern of 0..3 fragments decodes and reconstructs', async () => {
  const c = new ErasureCoder({ k: 4, n: 7 });
  const data = randomBytes(333);
  const shards = await c.encode(data);
  for (let lose = 0; lose <= 3; lose++) {
    for (const lost of combinations(7, lose)) {
      const partial = drop(shards, lost);
      assert.ok((await c.decode(partial, data.length)).equals(data), `lost ${lost}`);
      const all = await c.reconstruct(partial);
      assert.equal(all.length, 7);
      all.forEach((s, i) => assert.ok(s.equals(shards[i]), `lost ${lost}, shard ${i}`));
    }
  }
});

test('n−k+1 lost → Unavailable naming how many are left', async () => {
  const c = new ErasureCoder({ k: 10, n: 16 });
  const data = randomBytes(4000);
  const shards = await c.encode(data);
  for (const lost of [[0, 1, 2, 3, 4, 5, 6], [9, 10, 11, 12, 13, 14, 15], [0, 2, 4, 6, 8, 10, 12]]) {
    await assert.rejects(c.decode(drop(shards, lost), data.length), (e) => isStoreError(e, 'Unavailable') && /only 9 of 10/.test(e.message));
    await assert.rejects(c.reconstruct(drop(shards, lost)), (e) => isStoreError(e, 'Unavailable'));
  }
});

test('reconstruct rebuilds byte-identical shards for random 10+6 loss patterns', async () => {
  const c = new ErasureCoder({ k: 10, n: 16 });
  const data = randomBytes(50_000);
  const shards = await c.encode(data);
  for (let round = 0; round < 200; round++) {
    const order = [...Array(16).keys()].sort(() => Math.random() - 0.5);
    const lost = order.slice(0, 1 + (round % 6));
    const all = await c.reconstruct(drop(shards, lost));
    all.forEach((s, i) => assert.ok(s.equals(shards[i]), `lost ${lost}, shard ${i}`));
  }
});

test('shards of unequal or impossible sizes → Corrupt; wrong slot count → InvalidArgument', async () => {
  const c = new ErasureCoder({ k: 4, n: 6 });
  const shards = await c.encode(randomBytes(100));
  const uneven: (Buffer | null)[] = shards.slice();
  uneven[1] = shards[1].subarray(0, 8);
  await assert.rejects(c.decode(uneven, 100), (e) => isStoreError(e, 'Corrupt'));
  await assert.rejects(c.decode(shards, 10_000), (e) => isStoreError(e, 'Corrupt'));
  const odd = shards.map((s) => s.subarray(0, 5));
  await assert.rejects(c.decode(odd, 10), (e) => isStoreError(e, 'Corrupt'));
  await assert.rejects(c.decode(shards.slice(0, 5), 100), (e) => isStoreError(e, 'InvalidArgument'));
});

test('large chunk: 4 MiB round trip with three data shards missing', async () => {
  const c = new ErasureCoder(DEFAULT_ERASURE);
  const data = randomBytes(4 * 2 ** 20 + 17);
  const shards = await c.encode(data);
  assert.ok((await c.decode(drop(shards, [0, 4, 9]), data.length)).equals(data));
});

test('encode accepts consecutive parts; decode of back-to-back data shards is a view, not a copy', async () => {
  const c = new ErasureCoder({ k: 4, n: 6 });
  const data = randomBytes(1000);
  const whole = await c.encode(data);
  const parts = await c.encode([data.subarray(0, 1), data.subarray(1, 600), data.subarray(600)]);
  parts.forEach((s, i) => assert.ok(s.equals(whole[i])));
  const packed = Buffer.concat(whole.slice(0, 4));
  const size = whole[0].length;
  const views: (Buffer | null)[] = [0, 1, 2, 3].map((i) => packed.subarray(i * size, (i + 1) * size));
  views.push(null, null);
  const out = await c.decode(views, 1000);
  assert.ok(out.equals(data));
  assert.equal(out.buffer, packed.buffer, 'no copy when the shards are contiguous');
  const scattered = whole.map((s) => Buffer.from(s));
  const copied = await c.decode(scattered, 1000);
  assert.ok(copied.equals(data));
});
