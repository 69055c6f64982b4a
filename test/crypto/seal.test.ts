import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createMasterKey, deriveTenantKeys } from '../../backend/crypto/keys.js';
import { chunkIdOf, isSealedCompressed, openBlob, openChunk, sealBlob, sealChunk } from '../../backend/crypto/seal.js';
import { isStoreError } from '../../backend/core/errors.js';

const tenantA = deriveTenantKeys(createMasterKey());
const tenantB = deriveTenantKeys(createMasterKey());
const corrupt = (e: unknown) => isStoreError(e, 'Corrupt');

test('chunk id: keyed HMAC, 32 bytes, per tenant', () => {
  const p = randomBytes(1000);
  const id = chunkIdOf(tenantA, p);
  assert.equal(id.length, 32);
  assert.deepEqual(chunkIdOf(tenantA, Buffer.from(p)), id);
  assert.ok(!chunkIdOf(tenantB, p).equals(id));
});

test('same plaintext → same sealed bytes within a tenant, unrelated across tenants', () => {
  const p = randomBytes(5000);
  const a1 = sealChunk(tenantA, chunkIdOf(tenantA, p), p);
  const a2 = sealChunk(tenantA, chunkIdOf(tenantA, p), Buffer.from(p));
  const b = sealChunk(tenantB, chunkIdOf(tenantB, p), p);
  assert.deepEqual(a1, a2);
  assert.equal(a1.length, b.length);
  assert.ok(!a1.equals(b));
  assert.ok(!a1.includes(p.subarray(0, 16)), 'no plaintext in clear');
  assert.deepEqual(openChunk(tenantA, chunkIdOf(tenantA, p), a1), p);
  assert.throws(() => openChunk(tenantB, chunkIdOf(tenantA, p), a1), corrupt);
});

test('a flipped bit anywhere in a sealed chunk → Corrupt', () => {
  const p = randomBytes(300);
  const id = chunkIdOf(tenantA, p);
  const sealed = sealChunk(tenantA, id, p);
  for (let byte = 0; byte < sealed.length; byte++) {
    for (const bit of [0, 3, 7]) {
      const bad = Buffer.from(sealed);
      bad[byte] ^= 1 << bit;
      assert.throws(() => openChunk(tenantA, id, bad), corrupt, `byte ${byte} bit ${bit}`);
    }
  }
});

test('wrong id, wrong version, truncation, unknown flags → Corrupt', () => {
  const p = randomBytes(300);
  const id = chunkIdOf(tenantA, p);
  const sealed = sealChunk(tenantA, id, p);
  const otherId = Buffer.from(id);
  otherId[31] ^= 0x80;
  assert.throws(() => openChunk(tenantA, otherId, sealed), corrupt);
  assert.throws(() => openChunk(tenantA, id.subarray(0, 31), sealed), corrupt);
  for (const v of [0, 2, 255]) {
    const bad = Buffer.from(sealed);
    bad[0] = v;
    assert.throws(() => openChunk(tenantA, id, bad), corrupt);
  }
  const flags = Buffer.from(sealed);
  flags[1] = 0x02;
  assert.throws(() => openChunk(tenantA, id, flags), corrupt);
  assert.throws(() => openChunk(tenantA, id, sealed.subarray(0, 10)), corrupt);
  assert.throws(() => openChunk(tenantA, id, sealed.subarray(0, sealed.length - 1)), corrupt);
});

test('empty chunk seals and opens', () => {
  const p = Buffer.alloc(0);
  const id = chunkIdOf(tenantA, p);
  assert.deepEqual(openChunk(tenantA, id, sealChunk(tenantA, id, p)), p);
});

test('compression: used only when it saves ≥ 1/8, flagged, deterministic, tamper-evident', () => {
  const text = Buffer.from('the quick brown fox jumps over the lazy dog. '.repeat(3000));
  const id = chunkIdOf(tenantA, text);
  const z = sealChunk(tenantA, id, text, { compress: true });
  assert.ok(isSealedCompressed(z));
  assert.ok(z.length < text.length / 8);
  assert.deepEqual(sealChunk(tenantA, id, text, { compress: true }), z);
  assert.deepEqual(openChunk(tenantA, id, z), text);
  for (const i of [1, 5, 20, z.length - 1]) {
    const bad = Buffer.from(z);
    bad[i] ^= 4;
    assert.throws(() => openChunk(tenantA, id, bad), corrupt, `byte ${i}`);
  }
  const raw = sealChunk(tenantA, id, text);
  assert.ok(!isSealedCompressed(raw));
  assert.deepEqual(openChunk(tenantA, id, raw), text);

  const noise = randomBytes(200_000);
  const nid = chunkIdOf(tenantA, noise);
  const n = sealChunk(tenantA, nid, noise, { compress: true });
  assert.ok(!isSealedCompressed(n), 'incompressible data is stored raw');
  assert.deepEqual(openChunk(tenantA, nid, n), noise);

  // compresses, but by less than 1/8: 90 % random, 10 % zeros
  const mostly = Buffer.concat([randomBytes(5400), Buffer.alloc(600)]);
  const mid = chunkIdOf(tenantA, mostly);
  assert.ok(!isSealedCompressed(sealChunk(tenantA, mid, mostly, { compress: true })));
});

test('blobs: random nonce, aad bound, tamper-evident', () => {
  const key = tenantA.metadataKey;
  const p = Buffer.from('{"bucket":"photos"}');
  const aad = Buffer.from('bucket/photos');
  const s1 = sealBlob(key, p, aad);
  const s2 = sealBlob(key, p, aad);
  assert.ok(!s1.equals(s2));
  assert.equal(s1[0], 1);
  assert.deepEqual(openBlob(key, s1, aad), p);
  assert.throws(() => openBlob(key, s1, Buffer.from('bucket/other')), corrupt);
  assert.throws(() => openBlob(tenantB.metadataKey, s1, aad), corrupt);
  for (let i = 0; i < s1.length; i++) {
    const bad = Buffer.from(s1);
    bad[i] ^= 0x10;
    assert.throws(() => openBlob(key, bad, aad), corrupt, `byte ${i}`);
  }
  assert.throws(() => openBlob(key, s1.subarray(0, 20), aad), corrupt);
});
