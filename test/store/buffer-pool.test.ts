// BufferPool headroom (backend/core/buffer-pool.ts): buffers mapped past their capacity so glibc
// gives each its own mmap; capacities, best fit and idle accounting count only the usable bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../backend/core/buffer-pool.js';

const MiB = 2 ** 20;

test('BufferPool headroom: byteLength is capacity + headroom, capacityOf the usable part, accounting by capacity', () => {
  const p = new BufferPool({ granule: MiB, maxIdleBytes: 10 * MiB, headroom: 32 * MiB });
  const a = p.take(3 * MiB); // class 3 MiB
  const b = p.take(MiB, 5 * MiB); // class 6 MiB
  assert.equal(a.length, 3 * MiB);
  assert.equal(a.buffer.byteLength, 3 * MiB + 32 * MiB);
  assert.equal(p.capacityOf(a.buffer), 3 * MiB);
  assert.equal(p.capacityOf(b.buffer), 6 * MiB);
  assert.deepEqual(p.stats, { allocated: 9 * MiB, dropped: 0, reused: 0 });
  p.give(a.buffer);
  p.give(b.buffer);
  assert.equal(p.idleBytes, 9 * MiB);
  // best fit by usable capacity: 4 MiB needs the 6 MiB one, 2 MiB the 3 MiB one
  const c = p.take(4 * MiB);
  assert.equal(c.buffer, b.buffer);
  assert.equal(p.take(2 * MiB).buffer, a.buffer);
  assert.equal(p.stats.reused, 9 * MiB);
  // over the idle limit by capacity: 6 + 6 > 10 drops one 6 MiB buffer (counted as 6, not 38)
  const d = p.take(6 * MiB);
  p.give(c.buffer);
  p.give(d.buffer);
  assert.equal(p.idleBytes, 6 * MiB);
  assert.equal(p.stats.dropped, 6 * MiB);
});

test('BufferPool headroom: buffers without the headroom are not kept; small takes have none', () => {
  const p = new BufferPool({ granule: MiB, maxIdleBytes: 64 * MiB, headroom: 32 * MiB });
  // a foreign 8 MiB buffer would pass for -24 MiB of capacity: refused
  p.give(new ArrayBuffer(8 * MiB));
  assert.equal(p.idleBytes, 0);
  const small = p.take(1000);
  assert.equal(small.buffer.byteLength, 1000, 'under a granule: not pooled, no headroom');
  assert.equal(p.capacityOf(small.buffer), 1000);
  assert.equal(p.capacityOf(new ArrayBuffer(5 * MiB)), 5 * MiB, 'shorter than the headroom: all usable');
});

test('BufferPool without headroom: capacityOf is the byteLength', () => {
  const p = new BufferPool({ granule: MiB, maxIdleBytes: 64 * MiB });
  const a = p.take(5 * MiB);
  assert.equal(a.buffer.byteLength, 6 * MiB);
  assert.equal(p.capacityOf(a.buffer), 6 * MiB);
});

test('BufferPool headroomFrom: only buffers of that capacity or more get the headroom', () => {
  const p = new BufferPool({ granule: MiB, maxIdleBytes: 64 * MiB, headroom: 32 * MiB, headroomFrom: 8 * MiB });
  const small = p.take(3 * MiB);
  const big = p.take(10 * MiB); // class 12 MiB
  assert.equal(small.buffer.byteLength, 3 * MiB);
  assert.equal(big.buffer.byteLength, 12 * MiB + 32 * MiB);
  assert.equal(p.capacityOf(small.buffer), 3 * MiB);
  assert.equal(p.capacityOf(big.buffer), 12 * MiB);
  p.give(small.buffer);
  p.give(big.buffer);
  assert.equal(p.idleBytes, 15 * MiB);
  // foreign buffers: under headroomFrom they are what they seem; at or over it without the
  // headroom they cannot be told from a pooled one's usable part and are refused
  p.give(new ArrayBuffer(4 * MiB));
  assert.equal(p.idleBytes, 19 * MiB);
  p.give(new ArrayBuffer(10 * MiB));
  assert.equal(p.idleBytes, 19 * MiB);
  assert.equal(p.take(9 * MiB).buffer, big.buffer, 'best fit by usable capacity');
});
