/**
 * Who hashes what on the data plane: the peer hashes every PUT body itself and then tells its store
 * (idVerified), and a GET skips the hash checks (peer store and RemoteFragmentStore) only when the
 * caller says it verifies (callerVerifies, sent as a header); without it both check.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import tls from 'node:tls';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { dataPlaneToken, identityFromKey } from '../../backend/network/identity.js';
import { startDataPlane } from '../../backend/network/data-plane.js';
import { RemoteFragmentStore } from '../../backend/network/remote-fragment-store.js';
import { silentLogger } from '../../backend/core/logger.js';
import { isStoreError } from '../../backend/core/errors.js';
import type { FragmentOpOptions, FragmentStore } from '../../backend/core/fragment-store.js';
import { TinyStore, fragmentOf } from './helpers/tiny-store.js';

/** TinyStore that records the options of each put and get and can serve wrong bytes on get */
class RecordingStore extends TinyStore {
  readonly seen: { op: string; options?: FragmentOpOptions }[] = [];
  /** when set, get returns these bytes for any id (a corrupt disk that does not check) */
  lie: Buffer | undefined;
  override async put(id: string, data: Uint8Array, options?: FragmentOpOptions): Promise<void> {
    this.seen.push({ op: 'put', options });
    return super.put(id, data);
  }
  override async get(id: string, options?: FragmentOpOptions): Promise<Buffer> {
    this.seen.push({ op: 'get', options });
    if (this.lie) return this.lie;
    return super.get(id);
  }
}

async function setup(store: FragmentStore) {
  const identity = await identityFromKey(await generateKeyPair('Ed25519'));
  const networkKey = randomBytes(32);
  const server = await startDataPlane({ host: '127.0.0.1', port: 0, identity, networkKey, logger: silentLogger() }, { store });
  const remote = new RemoteFragmentStore({ address: server.address, peerId: identity.peerId, networkKey });
  return { identity, networkKey, server, remote };
}

test('data plane: the peer hashes a PUT body once and tells its store (idVerified)', async () => {
  const store = new RecordingStore();
  const { server, remote } = await setup(store);
  try {
    // several hundred KiB: the body arrives in many TLS records and is assembled by the peer
    const f = fragmentOf(randomBytes(700 * 1024 + 3));
    await remote.put(f.id, f.data);
    assert.deepEqual(store.map.get(f.id)?.data, f.data);
    assert.equal(store.seen.at(-1)?.options?.idVerified, true);
    // a body that does not hash to its id never reaches the store
    const g = fragmentOf(randomBytes(1000));
    const before = store.seen.length;
    await assert.rejects(remote.put(g.id, randomBytes(1000)), (e) => isStoreError(e, 'BadDigest'));
    assert.equal(store.seen.length, before);
  } finally {
    await remote.close();
    await server.close();
  }
});

test('data plane: GET skips the hash checks only for a caller that verifies itself', async () => {
  const store = new RecordingStore();
  const { server, remote } = await setup(store);
  try {
    const f = fragmentOf(randomBytes(300 * 1024));
    await remote.put(f.id, f.data);
    assert.deepEqual(await remote.get(f.id, { callerVerifies: true }), f.data);
    assert.equal(store.seen.at(-1)?.options?.callerVerifies, true);
    assert.deepEqual(await remote.get(f.id), f.data);
    assert.equal(store.seen.at(-1)?.options?.callerVerifies, undefined);

    // a peer serving wrong bytes: the verifying caller gets them (and will find the mismatch);
    // the re-read without the flag is refused by the client's own check
    store.lie = randomBytes(300 * 1024);
    assert.deepEqual(await remote.get(f.id, { callerVerifies: true }), store.lie);
    store.seen.length = 0;
    await assert.rejects(remote.get(f.id), (e) => isStoreError(e, 'Corrupt'));
    assert.equal(store.seen[0]?.options?.callerVerifies, undefined);
  } finally {
    await remote.close();
    await server.close();
  }
});

test('data plane: a PUT stream reset mid-body stores nothing and the peer keeps serving', async () => {
  const store = new RecordingStore();
  const { networkKey, server, remote } = await setup(store);
  const f = fragmentOf(randomBytes(200 * 1024));
  const [host, port] = server.address.split(':');
  const socket = tls.connect({ host, port: Number(port), ALPNProtocols: ['h2'], rejectUnauthorized: false });
  const session = http2.connect(`https://${server.address}`, { createConnection: () => socket });
  try {
    const req = session.request({ ':method': 'PUT', ':path': `/f/${f.id}`, authorization: `PeerStor ${dataPlaneToken(networkKey)}`, 'content-length': f.data.length });
    req.on('error', () => undefined);
    const closed = new Promise((r) => req.once('close', r));
    req.write(f.data.subarray(0, 64 * 1024));
    await new Promise((r) => setTimeout(r, 50));
    req.close(http2.constants.NGHTTP2_CANCEL);
    await closed;
    // the peer answers the next request on a fresh session and never stored the partial body
    const g = fragmentOf(randomBytes(1000));
    await remote.put(g.id, g.data);
    assert.equal(store.map.has(f.id), false);
    assert.equal(store.map.has(g.id), true);
  } finally {
    session.destroy();
    await remote.close();
    await server.close();
  }
});
