/**
 * NetworkPlacement: a holder the data path marked dead is not asked again until a heartbeat
 * answers or the dead period ends. Readers (backend/store/chunk-io.ts) ask recorded holders
 * without checking health; without this, a hung holder costs every chunk a full request timeout.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { NetworkPlacement, type Membership } from '../../backend/network/network-placement.js';
import type { Member } from '../../backend/network/control-plane.js';
import { isStoreError, StoreError } from '../../backend/core/errors.js';
import { TinyStore } from './helpers/tiny-store.js';

async function member(): Promise<Member> {
  const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
  return { id, role: 'peer', dataAddress: '127.0.0.1:10000', host: 'h0', capacity: 1 << 30, free: 1 << 30, v: 1, lastSeen: Date.now(), failures: 0, multiaddrs: [] };
}

/** A store whose every call fails like a hung peer (Timeout), counting the calls that reach it. */
class HungStore extends TinyStore {
  calls = 0;
  override async get(): Promise<Buffer> {
    this.calls++;
    throw new StoreError('Timeout', 'GET timed out');
  }
  override async put(): Promise<void> {
    this.calls++;
    throw new StoreError('Timeout', 'PUT timed out');
  }
}

function setup(m: Member, inner: TinyStore, deadForMs = 60_000): NetworkPlacement {
  const membership: Membership = { members: () => [m], member: (id) => (id === m.id ? m : undefined), locate: async () => m };
  return new NetworkPlacement({ networkKey: randomBytes(32), storeFor: () => inner, failuresToDead: 2, deadForMs }, { membership });
}

const ID = 'b'.repeat(64);

test('a holder marked dead fails at once with Unavailable: the hung store is asked only failuresToDead times', async () => {
  const m = await member();
  const hung = new HungStore();
  const p = setup(m, hung);
  const store = p.peer(m.id)!.store;
  // what a reader does for 50 chunks: ask the recorded holder, report the failure (the handle
  // counts it too, so one timeout may be enough for the two failures that mean dead)
  let callsWhenDead = -1;
  for (let i = 0; i < 50; i++) {
    try {
      await store.get(ID);
      assert.fail('a hung holder never answers');
    } catch (err) {
      assert.ok(isStoreError(err, 'Timeout') || isStoreError(err, 'Unavailable'), String(err));
      p.reportFailure(m.id, err);
    }
    if (callsWhenDead < 0 && !p.isHealthy(m.id)) callsWhenDead = hung.calls;
  }
  assert.ok(callsWhenDead >= 1 && callsWhenDead <= 2, `dead after ${callsWhenDead} timeouts`);
  assert.equal(hung.calls, callsWhenDead, 'once dead, the remaining reads never reach it');
  await assert.rejects(store.put(ID, Buffer.from('x')), (err) => isStoreError(err, 'Unavailable'));
  assert.equal(hung.calls, callsWhenDead);
  assert.equal(p.isHealthy(m.id), false);
});

test('a heartbeat answered after the mark revives the holder: it is asked again (and one failure marks it dead again)', async () => {
  const m = await member();
  const hung = new HungStore();
  const p = setup(m, hung);
  const store = p.peer(m.id)!.store;
  for (let i = 0; i < 2; i++) await assert.rejects(store.get(ID));
  assert.equal(p.isHealthy(m.id), false);
  await new Promise((r) => setTimeout(r, 5));
  m.lastSeen = Date.now();
  await assert.rejects(store.get(ID), (err) => isStoreError(err, 'Timeout'));
  assert.equal(hung.calls, 3, 'asked again after the heartbeat');
  await assert.rejects(store.get(ID), (err) => isStoreError(err, 'Unavailable'));
  assert.equal(hung.calls, 3, 'on probation: the one failure marked it dead again');
});

test('failures reported while dead do not extend the dead period: after deadForMs the holder gets another chance', async () => {
  const m = await member();
  m.lastSeen = Date.now() - 1000; // no heartbeat will revive it
  const hung = new HungStore();
  const p = setup(m, hung, 200);
  const store = p.peer(m.id)!.store;
  for (let i = 0; i < 2; i++) await assert.rejects(store.get(ID));
  const markedAt = Date.now();
  // readers keep reporting for 150 ms; had each report moved the mark, it would hold until ≥ 350 ms
  while (Date.now() < markedAt + 150) {
    p.reportFailure(m.id, new StoreError('Unavailable', 'reader gave up on it'));
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, markedAt + 260 - Date.now()));
  await assert.rejects(store.get(ID), (err) => isStoreError(err, 'Timeout'));
  assert.equal(hung.calls, 3, 'the dead period ran from the mark, not from the last report');
});

test('a live holder is unaffected: a success clears earlier failures', async () => {
  const m = await member();
  const tiny = new TinyStore();
  const p = setup(m, tiny);
  const data = Buffer.from('fragment bytes');
  const id = createHash('sha256').update(data).digest('hex');
  p.reportFailure(m.id, new StoreError('Unavailable', 'one blip'));
  const store = p.peer(m.id)!.store;
  await store.put(id, data);
  p.reportFailure(m.id, new StoreError('Unavailable', 'another blip'));
  assert.deepEqual(await store.get(id), data);
  assert.equal(p.isHealthy(m.id), true);
});
