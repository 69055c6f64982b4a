import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ChunkCodec } from '../../backend/store/chunk-codec.js';
import { CpuPool, chunkBuffers } from '../../backend/store/cpu-pool.js';
import { createMasterKey, deriveTenantKeys } from '../../backend/crypto/keys.js';

const pool = new CpuPool(1);
after(() => pool.close());
const codec = new ChunkCodec({ keys: deriveTenantKeys(createMasterKey()), erasure: { k: 10, n: 16 }, pool });

// The codec paths that save copies and main-thread work.
// encode(…, { take: true }) moves a buffer that owns its memory to the worker instead of copying it.
test('encode with take: an owned buffer moves (detached), a view is copied (untouched), same output', async () => {
  const data = randomBytes(300_000);
  const copied = await codec.encode(data);

  const owned = Buffer.allocUnsafeSlow(data.length);
  data.copy(owned);
  const taken = await codec.encode(owned, undefined, { take: true });
  assert.equal(owned.length, 0, 'the owned buffer was moved, not copied');
  assert.ok(taken.id.equals(copied.id));
  assert.deepEqual(taken.fragments.map((f) => f.id), copied.fragments.map((f) => f.id));

  const big = Buffer.allocUnsafeSlow(data.length + 10);
  data.copy(big, 10);
  const view = big.subarray(10);
  const fromView = await codec.encode(view, undefined, { take: true });
  assert.equal(view.length, data.length, 'a view of a larger buffer is copied, never detached');
  assert.ok(fromView.id.equals(copied.id));
  const out = await codec.decode(taken.id, taken.sealedSize, taken.compressed, taken.fragments.map((f) => f.bytes));
  assert.ok(out.equals(data));
});

// A chunk cut into a buffer with room for its fragments (cutChunks' capacity) is encoded in place:
// the same buffer comes back holding the fragments, and no second buffer is taken from the pool.
test('encode with take of a chunk buffer of frameCapacity: in place, same fragments, one buffer', async () => {
  // (chunk buffers under one pool granule, 1 MiB, are not pooled and take the copying path)
  for (const size of [700_000, 2_500_001]) {
    const data = randomBytes(size);
    const copied = await codec.encode(data);
    const chunk = chunkBuffers.take(size, codec.frameCapacity(size));
    data.copy(chunk);
    const backing = chunk.buffer;
    const before = { ...chunkBuffers.stats };
    const idle = chunkBuffers.idleBytes;
    const taken = await codec.encode(chunk, undefined, { take: true });
    assert.equal(chunk.length, 0, 'the chunk buffer moved to the worker');
    assert.equal(backing.byteLength, 0, 'detached');
    assert.deepEqual(taken.fragments.map((f) => f.id), copied.fragments.map((f) => f.id), `size ${size}`);
    assert.ok(taken.fragments.every((f) => f.bytes.buffer === taken.fragments[0].bytes.buffer), 'one buffer holds every fragment');
    assert.deepEqual(chunkBuffers.stats, before, 'no other buffer was taken or given');
    assert.equal(chunkBuffers.idleBytes, idle);
    const out = await codec.decode(taken.id, taken.sealedSize, taken.compressed, taken.fragments.map((f, i) => (i < 3 ? null : f.bytes)));
    assert.ok(out.equals(data));
    codec.recycle(taken);
  }
});

// decodeChecked hashes the fragments it uses against their recorded ids (the store did not).
test('decodeChecked: names fragments that do not match their ids, decodes once they are replaced', async () => {
  const data = randomBytes(200_000);
  const c = await codec.encode(data);
  const ids = c.fragments.map((f) => f.id);
  const bufs: (Buffer | null)[] = c.fragments.map((f) => Buffer.from(f.bytes));
  const ok = await codec.decodeChecked(c.id, c.sealedSize, c.compressed, bufs, ids);
  assert.ok(ok.plain?.equals(data));

  bufs[2]![100] ^= 1; // a flipped bit in a shard
  bufs[5]![0] = 99; // a damaged header
  bufs[7] = bufs[7]!.subarray(0, 50); // a truncated file
  const r = await codec.decodeChecked(c.id, c.sealedSize, c.compressed, bufs, ids);
  assert.equal(r.plain, undefined);
  assert.deepEqual([...r.bad!].sort((a, b) => a - b), [5, 7]);
  bufs[5] = null;
  bufs[7] = null;
  const r2 = await codec.decodeChecked(c.id, c.sealedSize, c.compressed, bufs, ids);
  assert.deepEqual(r2.bad, [2]);
  bufs[2] = null;
  const r3 = await codec.decodeChecked(c.id, c.sealedSize, c.compressed, bufs, ids);
  assert.ok(r3.plain?.equals(data), 'decoded from parity');
});
