import { test } from 'node:test';
import assert from 'node:assert/strict';
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
