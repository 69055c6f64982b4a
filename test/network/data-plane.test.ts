import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { identityFromKey } from '../../backend/network/identity.js';
import { startDataPlane } from '../../backend/network/data-plane.js';
import { RemoteFragmentStore } from '../../backend/network/remote-fragment-store.js';
import { silentLogger } from '../../backend/core/logger.js';
import { isStoreError } from '../../backend/core/errors.js';
import { TinyStore, fragmentOf } from './helpers/tiny-store.js';

async function setup(capacity?: number) {
  const identity = await identityFromKey(await generateKeyPair('Ed25519'));
  const networkKey = randomBytes(32);
  const store = new TinyStore(capacity);
  const server = await startDataPlane({ host: '127.0.0.1', port: 0, identity, networkKey, logger: silentLogger() }, { store });
  return { identity, networkKey, store, server };
}

test('data plane: put, get, has, delete, list, stat over HTTP/2 + TLS', async () => {
  const { identity, networkKey, store, server } = await setup();
  const remote = new RemoteFragmentStore({ address: server.address, peerId: identity.peerId, networkKey });
  try {
    const f = fragmentOf(randomBytes(400 * 1024));
    assert.equal(await remote.has(f.id), false);
    await remote.put(f.id, f.data);
    await remote.put(f.id, f.data); // idempotent
    assert.equal(await remote.has(f.id), true);
    assert.deepEqual(await remote.get(f.id), f.data);
    const listed = [];
    for await (const e of remote.list()) listed.push(e.id);
    assert.deepEqual(listed, [f.id]);
    const st = await remote.stat();
    assert.equal(st.fragments, 1);
    assert.equal(st.used, f.data.length);
    await remote.delete(f.id);
    await remote.delete(f.id);
    assert.equal(store.map.size, 0);
    await assert.rejects(remote.get(f.id), (e) => isStoreError(e, 'FragmentNotFound'));
  } finally {
    await remote.close();
    await server.close();
  }
});

test('data plane: wrong hash is refused and nothing is stored', async () => {
  const { identity, networkKey, store, server } = await setup();
  const remote = new RemoteFragmentStore({ address: server.address, peerId: identity.peerId, networkKey });
  try {
    const f = fragmentOf(randomBytes(1000));
    await assert.rejects(remote.put(f.id, randomBytes(1000)), (e) => isStoreError(e, 'BadDigest'));
    assert.equal(store.map.size, 0);
    await assert.rejects(remote.get('nothex'), (e) => isStoreError(e, 'InvalidArgument'));
  } finally {
    await remote.close();
    await server.close();
  }
});

test('data plane: a full peer answers QuotaExceeded', async () => {
  const { identity, networkKey, server } = await setup(1500);
  const remote = new RemoteFragmentStore({ address: server.address, peerId: identity.peerId, networkKey });
  try {
    const a = fragmentOf(randomBytes(1000));
    const b = fragmentOf(randomBytes(1000));
    await remote.put(a.id, a.data);
    await assert.rejects(remote.put(b.id, b.data), (e) => isStoreError(e, 'QuotaExceeded'));
  } finally {
    await remote.close();
    await server.close();
  }
});

test('data plane: the client refuses a certificate of another peer id', async () => {
  const { networkKey, store, server } = await setup();
  const other = await identityFromKey(await generateKeyPair('Ed25519'));
  const remote = new RemoteFragmentStore({ address: server.address, peerId: other.peerId, networkKey });
  try {
    const f = fragmentOf(randomBytes(100));
    await assert.rejects(remote.put(f.id, f.data), (e) => isStoreError(e, 'Unavailable') && /does not belong/.test(String(e)));
    assert.equal(store.map.size, 0, 'nothing was sent to the impostor');
  } finally {
    await remote.close();
    await server.close();
  }
});

test('data plane: a client without the network key is denied', async () => {
  const { identity, store, server } = await setup();
  const remote = new RemoteFragmentStore({ address: server.address, peerId: identity.peerId, networkKey: randomBytes(32) });
  try {
    const f = fragmentOf(randomBytes(100));
    await assert.rejects(remote.put(f.id, f.data), (e) => isStoreError(e, 'AccessDenied'));
    await assert.rejects(remote.has(f.id), (e) => isStoreError(e, 'AccessDenied'));
    assert.equal(store.map.size, 0);
  } finally {
    await remote.close();
    await server.close();
  }
});

test('data plane: a stopped peer is Unavailable', async () => {
  const { identity, networkKey, server } = await setup();
  await server.close();
  const remote = new RemoteFragmentStore({ address: server.address, peerId: identity.peerId, networkKey });
  await assert.rejects(remote.stat(), (e) => isStoreError(e, 'Unavailable'));
  await remote.close();
});
