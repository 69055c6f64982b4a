import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BodyPool } from '../../backend/network/data-plane.js';

test('BodyPool: size classes are at most 25 % above the size and cover it', () => {
  for (const n of [BodyPool.MIN, BodyPool.MIN + 1, 100_000, 410 * 1024, 419_431, 2 ** 20, 2 ** 20 + 1, 3 * 2 ** 20 - 7]) {
    const c = BodyPool.classOf(n);
    assert.ok(c >= n, `class of ${n} is ${c}`);
    assert.ok(c <= n * 1.25 + 1, `class of ${n} is ${c}: more than 25 % slack`);
    assert.equal(BodyPool.classOf(c), c);
  }
});

test('BodyPool: memory given back is handed out again for a size of the same class, within the cap', () => {
  const pool = new BodyPool(2 * BodyPool.classOf(400_000));
  const a = pool.take(400_000);
  assert.equal(a.length, 400_000);
  pool.give(a);
  assert.equal(pool.bytes, BodyPool.classOf(400_000));
  const b = pool.take(399_000);
  assert.equal(b.length, 399_000);
  assert.equal(b.buffer, a.buffer);
  assert.equal(pool.bytes, 0);
  // a different class gets fresh memory
  const c = pool.take(1_000_000);
  assert.notEqual(c.buffer, a.buffer);
  // the cap: only two of this class fit
  const more = [pool.take(400_000), pool.take(400_000), pool.take(400_000)];
  for (const m of more) pool.give(m);
  assert.equal(pool.bytes, 2 * BodyPool.classOf(400_000));
});

test('BodyPool: small and foreign buffers are never kept', () => {
  const pool = new BodyPool(64 * 2 ** 20);
  pool.give(pool.take(100));
  pool.give(Buffer.alloc(500_000));
  pool.give(Buffer.allocUnsafeSlow(BodyPool.classOf(500_000)).subarray(10, 400_000));
  assert.equal(pool.bytes, 0);
});
