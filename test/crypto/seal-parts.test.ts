// The allocation-saving seal/open paths the chunk codec uses must produce and accept exactly what
// sealChunk/openChunk do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createMasterKey, deriveTenantKeys } from '../../backend/crypto/keys.js';
import { chunkIdOf, openChunk, openChunkParts, sealChunk, sealChunkInto, sealedChunkBound } from '../../backend/crypto/seal.js';
import { isStoreError } from '../../backend/core/errors.js';
import { BufferPool } from '../../backend/core/buffer-pool.js';

const keys = deriveTenantKeys(createMasterKey());
const corrupt = (e: unknown) => isStoreError(e, 'Corrupt');

/** `buf` cut at the given offsets (as the data shards of a chunk cut the sealed bytes) */
function split(buf: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...cuts, buf.length]) {
    out.push(buf.subarray(from, c));
    from = c;
  }
  return out;
}

test('sealChunkInto writes the bytes sealChunk returns (plain and deflated), into a larger target', () => {
  const random = randomBytes(300_000);
  const text = Buffer.from('compressible '.repeat(20_000));
  for (const p of [random, text, randomBytes(70)]) {
    const id = chunkIdOf(keys, p);
    for (const compress of [false, true]) {
      const want = sealChunk(keys, id, p, { compress });
      const target = Buffer.alloc(sealedChunkBound(p.length) + 100, 0xee);
      const r = sealChunkInto(keys, id, p, target, { compress });
      assert.equal(r.size, want.length);
      assert.ok(target.subarray(0, r.size).equals(want));
      assert.equal(target[r.size], 0xee, 'nothing written past the sealed bytes');
    }
  }
  assert.equal(sealChunkInto(keys, chunkIdOf(keys, text), text, Buffer.alloc(sealedChunkBound(text.length)), { compress: true }).compressed, true);
  assert.throws(() => sealChunkInto(keys, chunkIdOf(keys, random), random, Buffer.alloc(random.length)), (e: unknown) => isStoreError(e, 'InvalidArgument'));
});

test('openChunkParts opens sealed bytes cut anywhere (header and tag split too), and detects a flipped bit', () => {
  const p = randomBytes(200_001);
  const id = chunkIdOf(keys, p);
  const sealed = sealChunk(keys, id, p);
  for (const cuts of [[], [1], [1, 2, 3], [100_000], [sealed.length - 8], [5, 65_536 * 2 + 7, sealed.length - 1]]) {
    assert.ok(openChunkParts(keys, id, split(sealed, cuts)).equals(p), `cuts ${cuts.join(',')}`);
  }
  const bad = Buffer.from(sealed);
  bad[150_000] ^= 1;
  assert.throws(() => openChunkParts(keys, id, split(bad, [70_000])), corrupt);
  const badTag = Buffer.from(sealed);
  badTag[badTag.length - 1] ^= 1;
  assert.throws(() => openChunkParts(keys, id, split(badTag, [badTag.length - 3])), corrupt);
  assert.throws(() => openChunkParts(deriveTenantKeys(createMasterKey()), id, [sealed]), corrupt, "wrong keys");
  // a deflated chunk takes the joined path and still opens
  const text = Buffer.from('abc '.repeat(50_000));
  const tid = chunkIdOf(keys, text);
  const z = sealChunk(keys, tid, text, { compress: true });
  assert.ok(openChunkParts(keys, tid, split(z, [10, 20])).equals(openChunk(keys, tid, z)));
});

test('BufferPool: hands back given buffers of the same size class, bounds idle bytes, never pools small ones', () => {
  const MiB = 2 ** 20;
  const pool = new BufferPool({ granule: MiB, maxIdleBytes: 8 * MiB });
  const a = pool.take(3 * MiB + 5);
  assert.equal(a.length, 3 * MiB + 5);
  assert.ok(pool.owns(a));
  const cap = a.buffer.byteLength;
  assert.ok(cap >= a.length && cap <= 1.5 * a.length + MiB);
  pool.give(a.buffer as ArrayBuffer);
  assert.equal(pool.idleBytes, cap);
  const b = pool.take(3 * MiB);
  assert.equal(b.buffer, a.buffer, 'the idle buffer is reused');
  assert.equal(pool.idleBytes, 0);
  assert.ok(!pool.owns(b.subarray(1)), 'a view not at offset 0 is not the pool buffer');

  const small = pool.take(1000);
  assert.equal(small.length, 1000);
  assert.ok(!pool.owns(small));
  pool.give(small.buffer as ArrayBuffer);
  assert.equal(pool.idleBytes, 0, 'buffers under one granule are not kept');

  for (let i = 0; i < 5; i++) pool.give(pool.take(3 * MiB).buffer as ArrayBuffer);
  const many = [pool.take(3 * MiB), pool.take(3 * MiB), pool.take(3 * MiB), pool.take(3 * MiB)];
  for (const m of many) pool.give(m.buffer as ArrayBuffer);
  assert.ok(pool.idleBytes <= 8 * MiB, `idle ${pool.idleBytes} over the bound`);
  assert.ok(pool.stats.dropped > 0);
});
