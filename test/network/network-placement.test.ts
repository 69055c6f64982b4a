import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { NetworkPlacement, xorCompare, type Membership } from '../../backend/network/network-placement.js';
import type { Member } from '../../backend/network/control-plane.js';
import { StoreError } from '../../backend/core/errors.js';
import { TinyStore } from './helpers/tiny-store.js';

async function members(n: number, hosts: number): Promise<Member[]> {
  const out: Member[] = [];
  for (let i = 0; i < n; i++) {
    const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
    out.push({ id, role: 'peer', dataAddress: `127.0.0.1:${10000 + i}`, host: `h${i % hosts}`, capacity: 1 << 30, free: 1 << 30, v: 1, lastSeen: Date.now(), failures: 0, multiaddrs: [] });
  }
  return out;
}

function double(list: Member[]): Membership {
  return {
    members: () => list,
    member: (id) => list.find((m) => m.id === id),
    locate: async (id) => list.find((m) => m.id === id),
  };
}

function dist(key: Uint8Array, id: string): Buffer {
  const t = createHash('sha256').update(key).digest();
  const p = createHash('sha256').update(peerIdFromString(id).toMultihash().bytes).digest();
  return Buffer.from(t.map((b, i) => b ^ p[i]));
}

const make = (list: Member[], extra: Partial<ConstructorParameters<typeof NetworkPlacement>[0]> = {}) =>
  new NetworkPlacement({ networkKey: randomBytes(32), storeFor: () => new TinyStore(), ...extra }, { membership: double(list) });

test('choose: n distinct peers, the XOR-closest when hosts are all distinct, ordered by distance', async () => {
  const list = await members(24, 24);
  const p = make(list);
  const key = randomBytes(32);
  const chosen = p.choose(key, 16);
  assert.equal(chosen.length, 16);
  assert.equal(new Set(chosen.map((c) => c.id)).size, 16);
  const expected = [...list].sort((a, b) => Buffer.compare(dist(key, a.id), dist(key, b.id))).slice(0, 16).map((m) => m.id);
  assert.deepEqual(chosen.map((c) => c.id), expected);
  const t = createHash('sha256').update(key).digest();
  assert.ok(xorCompare(t, t, Buffer.alloc(32, 0xff)) < 0);
});

test('choose: spreads across hosts before doubling up on one', async () => {
  const list = await members(20, 4);
  const p = make(list);
  for (let i = 0; i < 20; i++) {
    const chosen = p.choose(randomBytes(32), 8);
    const perHost = new Map<string, number>();
    for (const c of chosen) perHost.set(c.host, (perHost.get(c.host) ?? 0) + 1);
    assert.equal(perHost.size, 4);
    for (const n of perHost.values()) assert.equal(n, 2);
  }
});

test('choose: exclude, round-robin when too few peers, [] when none', async () => {
  const list = await members(5, 5);
  const p = make(list);
  const ex = new Set([list[0].id, list[1].id]);
  const chosen = p.choose(randomBytes(32), 6, ex);
  assert.equal(chosen.length, 6);
  assert.ok(chosen.every((c) => !ex.has(c.id)));
  assert.equal(new Set(chosen.map((c) => c.id)).size, 3);
  assert.deepEqual(make([]).choose(randomBytes(32), 4), []);
});

test('health: failures mark a peer dead, a later heartbeat revives it', async () => {
  const list = await members(6, 6);
  const p = make(list, { failuresToDead: 2 });
  const victim = list[2].id;
  p.reportFailure(victim, new StoreError('Unavailable', 'x'));
  assert.equal(p.isHealthy(victim), true);
  p.reportFailure(victim, new StoreError('Timeout', 'x'));
  assert.equal(p.isHealthy(victim), false);
  for (let i = 0; i < 10; i++) assert.ok(!p.choose(randomBytes(32), 5).some((c) => c.id === victim));
  list[2].lastSeen = Date.now() + 1; // heartbeat answered after the failures
  assert.equal(p.isHealthy(victim), true);
  // on probation: one more failure (after that heartbeat) kills it again
  await new Promise((r) => setTimeout(r, 5));
  p.reportFailure(victim, new StoreError('Unavailable', 'x'));
  assert.equal(p.isHealthy(victim), false);
});

test('health: missed heartbeats and stale announcements mean dead; unknown peers are unhealthy', async () => {
  const list = await members(3, 3);
  const p = make(list, { staleMs: 1000 });
  list[0].failures = 2;
  list[1].lastSeen = Date.now() - 5000;
  assert.equal(p.isHealthy(list[0].id), false);
  assert.equal(p.isHealthy(list[1].id), false);
  assert.equal(p.isHealthy(list[2].id), true);
  assert.equal(p.isHealthy('12D3KooWUnknown'), false);
});

test('capacity: peers without room are skipped; QuotaExceeded marks a peer full until it announces again', async () => {
  const list = await members(4, 4);
  list[0].free = 1024;
  const p = make(list, { minFree: 1 << 20 });
  for (let i = 0; i < 10; i++) assert.ok(!p.choose(randomBytes(32), 3).some((c) => c.id === list[0].id));
  p.reportFailure(list[1].id, new StoreError('QuotaExceeded', 'full'));
  for (let i = 0; i < 10; i++) assert.ok(!p.choose(randomBytes(32), 2).some((c) => c.id === list[1].id));
  assert.equal(p.isHealthy(list[1].id), true, 'a full peer is not dead: reads still go to it');
  list[1].lastSeen = Date.now() + 1;
  assert.ok(p.choose(randomBytes(32), 3).some((c) => c.id === list[1].id));
});

test('handles: data-path failures through a handle feed health by themselves', async () => {
  const list = await members(3, 3);
  const failing = new TinyStore();
  failing.get = async () => {
    throw new StoreError('Unavailable', 'connection refused');
  };
  const p = make(list, { storeFor: (m) => (m.id === list[0].id ? failing : new TinyStore()), failuresToDead: 2 });
  const h = p.peer(list[0].id)!;
  const id = 'a'.repeat(64);
  await assert.rejects(h.store.get(id));
  await assert.rejects(h.store.get(id));
  assert.equal(p.isHealthy(list[0].id), false);
  assert.equal(p.peers().length, 3);
  assert.equal((await p.locate(list[1].id))?.id, list[1].id);
});

test('local peer: always a candidate and healthy', async () => {
  const list = await members(3, 3);
  const local = { id: peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString(), host: 'me', store: new TinyStore() };
  const p = make(list, { local });
  assert.equal(p.isHealthy(local.id), true);
  assert.equal(p.peer(local.id), local);
  assert.ok(p.choose(randomBytes(32), 4).some((c) => c.id === local.id));
  assert.equal(p.peers().length, 4);
});
