import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../../backend/core/buffer-pool.js';
import { CpuPool } from '../../backend/store/cpu-pool.js';
import { isStoreError } from '../../backend/core/errors.js';
import { ChunkCodec } from '../../backend/store/chunk-codec.js';
import { createMasterKey, deriveTenantKeys } from '../../backend/crypto/keys.js';

test('worker errors keep their StoreError code; unknown jobs fail as Internal', async () => {
  const pool = new CpuPool(1);
  try {
    await assert.rejects(pool.run('no/such-op', {}), (e) => isStoreError(e, 'Internal') && /unknown CPU job/.test(e.message));
    const codec = new ChunkCodec({ keys: deriveTenantKeys(createMasterKey()), erasure: { k: 2, n: 3 }, pool });
    const c = await codec.encode(Buffer.from('hello world'));
    const bad = Buffer.from(c.id);
    bad[5] ^= 1;
    await assert.rejects(codec.decode(bad, c.sealedSize, false, c.fragments.map((f) => f.bytes)), (e) => isStoreError(e, 'Corrupt'));
    // the worker is still serving after failed jobs
    assert.equal((await codec.decode(c.id, c.sealedSize, false, c.fragments.map((f) => f.bytes))).toString(), 'hello world');
  } finally {
    await pool.close();
  }
});

test('a worker that dies fails its jobs with Internal and is replaced', async () => {
  const pool = new CpuPool(1);
  try {
    const codec = new ChunkCodec({ keys: deriveTenantKeys(createMasterKey()), erasure: { k: 2, n: 3 }, pool });
    await codec.encode(Buffer.from('before'));
    await assert.rejects(pool.run('pool/exit', {}), (e) => isStoreError(e, 'Internal') && /exited with code 70/.test(e.message));
    const c = await codec.encode(Buffer.from('after'));
    assert.equal((await codec.decode(c.id, c.sealedSize, false, c.fragments.map((f) => f.bytes))).toString(), 'after');
  } finally {
    await pool.close();
  }
});

test('close fails jobs in flight and later jobs with Unavailable; closing twice is fine', async () => {
  const pool = new CpuPool(2);
  const codec = new ChunkCodec({ keys: deriveTenantKeys(createMasterKey()), erasure: { k: 10, n: 16 }, pool });
  const inFlight = assert.rejects(codec.encode(Buffer.alloc(8 * 2 ** 20, 7)), (e) => isStoreError(e, 'Unavailable'));
  await pool.close();
  await inFlight;
  await assert.rejects(codec.encode(Buffer.from('x')), (e) => isStoreError(e, 'Unavailable'));
  await pool.close();
});

test('bad thread counts are refused', () => {
  assert.throws(() => new CpuPool(0), (e) => isStoreError(e, 'InvalidArgument'));
  assert.throws(() => new CpuPool(1.5), (e) => isStoreError(e, 'InvalidArgument'));
});

test('an unused pool and the shared pool do not keep the process alive', async () => {
  // If idle workers held a ref, this test file would never exit and the runner would time out.
  const codec = new ChunkCodec({ keys: deriveTenantKeys(createMasterKey()), erasure: { k: 4, n: 6 } });
  const c = await codec.encode(Buffer.from('shared pool'));
  assert.equal(c.fragments.length, 6);
  assert.ok(CpuPool.shared() === CpuPool.shared());
  new CpuPool(1);
});

const MiB = 2 ** 20;

test('BufferPool: best fit among idle buffers, capacity honoured, the biggest dropped over the limit', () => {
  const p = new BufferPool({ granule: MiB, maxIdleBytes: 12 * MiB });
  const a = p.take(3 * MiB); // class 3 MiB
  const b = p.take(5 * MiB); // class 6 MiB
  const c = p.take(1, 2 * MiB); // 1 byte long, room for 2 MiB
  assert.equal(c.length, 1);
  assert.ok(c.buffer.byteLength >= 2 * MiB);
  assert.deepEqual(p.stats, { allocated: 11 * MiB, dropped: 0, reused: 0 });
  p.give(a.buffer as ArrayBuffer);
  p.give(b.buffer as ArrayBuffer);
  p.give(c.buffer as ArrayBuffer);
  assert.equal(p.idleBytes, 11 * MiB);
  // 2.5 MiB fits the 3 MiB buffer best (not the 6 MiB one, not the too-small 2 MiB one)
  const d = p.take(2.5 * MiB);
  assert.equal(d.buffer, a.buffer);
  // 4 MiB: only the 6 MiB one holds it
  assert.equal(p.take(MiB, 4 * MiB).buffer, b.buffer);
  assert.equal(p.stats.allocated, 11 * MiB, 'nothing new was allocated');
  p.give(d.buffer as ArrayBuffer);
  p.give(b.buffer as ArrayBuffer);
  // idle 2 + 3 + 6 = 11 MiB; a 4 MiB buffer makes 15 > 12: the biggest (6 MiB) goes, not the oldest
  p.give(new ArrayBuffer(4 * MiB));
  assert.equal(p.idleBytes, 9 * MiB);
  assert.equal(p.stats.dropped, 6 * MiB);
  assert.equal(p.take(5 * MiB).byteLength, 5 * MiB);
  assert.equal(p.stats.allocated, 11 * MiB + 6 * MiB, 'the 6 MiB buffer is gone: a 5 MiB take allocates');
  assert.throws(() => p.take(2 * MiB, MiB), RangeError);
});

test('BufferPool: idle buffers are dropped once nothing was taken for idleTimeoutMs', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const p = new BufferPool({ granule: MiB, maxIdleBytes: 64 * MiB, idleTimeoutMs: 30_000 });
  const a = p.take(MiB);
  const b = p.take(MiB);
  p.give(a.buffer as ArrayBuffer);
  t.mock.timers.tick(20_000);
  p.take(MiB); // a take resets the quiet period (takes a)
  p.give(b.buffer as ArrayBuffer);
  t.mock.timers.tick(20_000);
  assert.equal(p.idleBytes, MiB, 'kept: only 20 s since the last take');
  t.mock.timers.tick(10_001);
  assert.equal(p.idleBytes, 0);
  assert.equal(p.stats.dropped, MiB);
});
