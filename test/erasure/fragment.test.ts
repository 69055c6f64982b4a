import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { FRAGMENT_FORMAT_VERSION, decodeFragment, encodeFragment, fragmentIdOf } from '../../backend/erasure/fragment.js';
import { isStoreError } from '../../backend/core/errors.js';

test('fragment round trip: [version][k][n][index][shard]', () => {
  const shard = randomBytes(64);
  const f = encodeFragment({ k: 10, n: 16, index: 13 }, shard);
  assert.deepEqual([...f.subarray(0, 4)], [FRAGMENT_FORMAT_VERSION, 10, 16, 13]);
  assert.deepEqual(f.subarray(4), shard);
  const d = decodeFragment(f);
  assert.deepEqual({ k: d.k, n: d.n, index: d.index }, { k: 10, n: 16, index: 13 });
  assert.deepEqual(d.shard, shard);
  assert.deepEqual(decodeFragment(new Uint8Array(f)).shard, shard);
});

test('bad headers → Corrupt on decode, InvalidArgument on encode', () => {
  const shard = randomBytes(8);
  const good = encodeFragment({ k: 4, n: 6, index: 5 }, shard);
  const bad = (mut: (b: Buffer) => void) => {
    const b = Buffer.from(good);
    mut(b);
    return b;
  };
  const cases = [
    good.subarray(0, 3),
    bad((b) => (b[0] = 2)),
    bad((b) => (b[1] = 0)),
    bad((b) => (b[2] = 4)),
    bad((b) => (b[3] = 6)),
  ];
  for (const c of cases) assert.throws(() => decodeFragment(c), (e) => isStoreError(e, 'Corrupt'));
  assert.throws(() => encodeFragment({ k: 4, n: 6, index: 6 }, shard), (e) => isStoreError(e, 'InvalidArgument'));
  assert.throws(() => encodeFragment({ k: 4, n: 300, index: 0 }, shard), (e) => isStoreError(e, 'InvalidArgument'));
});

test('fragment id = lower-case hex SHA-256 of the bytes', () => {
  const f = encodeFragment({ k: 2, n: 3, index: 0 }, randomBytes(40));
  const id = fragmentIdOf(f);
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(id, createHash('sha256').update(f).digest('hex'));
  const g = Buffer.from(f);
  g[10] ^= 1;
  assert.notEqual(fragmentIdOf(g), id);
});
