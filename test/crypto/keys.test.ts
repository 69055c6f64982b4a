import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_KDF_ITERATIONS,
  createMasterKey,
  deriveTenantKeys,
  rewrapMasterKey,
  unwrapMasterKey,
  wrapMasterKey,
} from '../../backend/crypto/keys.js';
import { isStoreError } from '../../backend/core/errors.js';

const FAST = 1_000; // the default count costs ~0.3 s per derivation; only one test pays for it

test('default PBKDF2 iteration count is at least 600,000 and is what wrapMasterKey records', async () => {
  assert.ok(DEFAULT_KDF_ITERATIONS >= 600_000);
  const master = createMasterKey();
  const wrapped = await wrapMasterKey(master, 'secret-one');
  assert.equal(wrapped.readUInt32BE(1), DEFAULT_KDF_ITERATIONS);
  assert.deepEqual(await unwrapMasterKey(wrapped, 'secret-one'), master);
});

test('master keys are 32 random bytes', () => {
  const a = createMasterKey();
  assert.equal(a.length, 32);
  assert.notDeepEqual(a, createMasterKey());
});

test('wrap/unwrap round trip, fresh salt and nonce each time', async () => {
  const master = createMasterKey();
  const w1 = await wrapMasterKey(master, 's3cr3t-key', FAST);
  const w2 = await wrapMasterKey(master, 's3cr3t-key', FAST);
  assert.notDeepEqual(w1, w2);
  assert.equal(w1[0], 1);
  assert.equal(w1.readUInt32BE(1), FAST);
  assert.ok(!w1.includes(master), 'the master key must not appear in clear');
  assert.deepEqual(await unwrapMasterKey(w1, 's3cr3t-key'), master);
  assert.deepEqual(await unwrapMasterKey(w2, 's3cr3t-key'), master);
});

test('wrong secret → AccessDenied', async () => {
  const wrapped = await wrapMasterKey(createMasterKey(), 'right-secret', FAST);
  await assert.rejects(unwrapMasterKey(wrapped, 'wrong-secret'), (e) => isStoreError(e, 'AccessDenied'));
});

test('tampering with the header (iterations, salt) is detected', async () => {
  const wrapped = await wrapMasterKey(createMasterKey(), 'right-secret', FAST);
  const salt = Buffer.from(wrapped);
  salt[7] ^= 1;
  await assert.rejects(unwrapMasterKey(salt, 'right-secret'), (e) => isStoreError(e, 'AccessDenied'));
  const iters = Buffer.from(wrapped);
  iters.writeUInt32BE(FAST + 1, 1);
  await assert.rejects(unwrapMasterKey(iters, 'right-secret'), (e) => isStoreError(e, 'AccessDenied'));
});

test('malformed blobs → Corrupt', async () => {
  const wrapped = await wrapMasterKey(createMasterKey(), 'right-secret', FAST);
  const cases: Buffer[] = [
    wrapped.subarray(0, wrapped.length - 1),
    Buffer.concat([wrapped, Buffer.from([0])]),
    Buffer.alloc(0),
    (() => { const b = Buffer.from(wrapped); b[0] = 2; return b; })(),
    (() => { const b = Buffer.from(wrapped); b.writeUInt32BE(0, 1); return b; })(),
    (() => { const b = Buffer.from(wrapped); b.writeUInt32BE(0xffffffff, 1); return b; })(),
  ];
  for (const c of cases) await assert.rejects(unwrapMasterKey(c, 'right-secret'), (e) => isStoreError(e, 'Corrupt'));
});

test('rewrap keeps the master key; the new blob does not open with the old secret and vice versa', async () => {
  const master = createMasterKey();
  const old = await wrapMasterKey(master, 'old-secret', FAST);
  const fresh = await rewrapMasterKey(old, 'old-secret', 'new-secret', FAST);
  assert.deepEqual(await unwrapMasterKey(fresh, 'new-secret'), master);
  assert.notDeepEqual(fresh.subarray(5, 21), old.subarray(5, 21), 'a new salt');
  await assert.rejects(unwrapMasterKey(fresh, 'old-secret'), (e) => isStoreError(e, 'AccessDenied'));
  await assert.rejects(unwrapMasterKey(old, 'new-secret'), (e) => isStoreError(e, 'AccessDenied'));
  await assert.rejects(rewrapMasterKey(old, 'not-it', 'x-secret', FAST), (e) => isStoreError(e, 'AccessDenied'));
});

test('subkeys: 32 bytes, distinct, deterministic per master, unrelated across masters', () => {
  const master = createMasterKey();
  const keys = deriveTenantKeys(master);
  const all = [keys.chunkerSeed, keys.chunkIdKey, keys.contentKey, keys.metadataKey];
  for (const k of all) assert.equal(k.length, 32);
  assert.equal(new Set(all.map((k) => k.toString('hex'))).size, 4);
  assert.ok(all.every((k) => !k.equals(master)));
  assert.deepEqual(deriveTenantKeys(Buffer.from(master)), keys);
  const other = deriveTenantKeys(createMasterKey());
  assert.ok(!other.contentKey.equals(keys.contentKey));
  assert.throws(() => deriveTenantKeys(Buffer.alloc(16)), (e) => isStoreError(e, 'InvalidArgument'));
});
