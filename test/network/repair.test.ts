import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { NetworkPlacement, type Membership } from '../../backend/network/network-placement.js';
import { RepairWorker, type DegradedChunk, type RepairIndex } from '../../backend/network/repair.js';
import { collectStatus, type ChunkHealthSource } from '../../backend/network/status.js';
import type { Member } from '../../backend/network/control-plane.js';
import { ErasureCoder } from '../../backend/erasure/reed-solomon.js';
import { encodeFragment, fragmentIdOf, decodeFragment } from '../../backend/erasure/fragment.js';
import { silentLogger } from '../../backend/core/logger.js';
import { TinyStore } from './helpers/tiny-store.js';

const K = 10;
const N = 16;

/** The index double: chunk → fragments, degraded = any holder dead or unknown. */
class MemoryIndex implements RepairIndex, ChunkHealthSource {
  readonly chunks = new Map<string, DegradedChunk>();
  async degradedChunks(limit: number, dead: ReadonlySet<string>, after?: string): Promise<DegradedChunk[]> {
    const ids = [...this.chunks.keys()].sort().filter((id) => after === undefined || id > after);
    const out: DegradedChunk[] = [];
    for (const id of ids) {
      const c = this.chunks.get(id)!;
      if (c.fragments.some((f) => !f.peerId || dead.has(f.peerId))) out.push(structuredClone(c));
      if (out.length === limit) break;
    }
    return out;
  }
  async recordFragment(chunkId: string, index: number, fragmentId: string, peerId: string): Promise<void> {
    const f = this.chunks.get(chunkId)!.fragments.find((x) => x.index === index)!;
    f.fragmentId = fragmentId;
    f.peerId = peerId;
  }
  async chunkHealth(dead: ReadonlySet<string>) {
    const h = { total: 0, healthy: 0, degraded: 0, lost: 0 };
    for (const c of this.chunks.values()) {
      h.total++;
      const live = c.fragments.filter((f) => f.peerId && !dead.has(f.peerId)).length;
      if (live === c.n) h.healthy++;
      else if (live >= c.k) h.degraded++;
      else h.lost++;
    }
    return h;
  }
}

async function world(peers: number) {
  const members: Member[] = [];
  const stores = new Map<string, TinyStore>();
  for (let i = 0; i < peers; i++) {
    const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
    members.push({ id, role: 'peer', dataAddress: `127.0.0.1:${20000 + i}`, host: `h${i}`, capacity: 1 << 30, free: 1 << 30, v: 1, lastSeen: Date.now(), failures: 0, multiaddrs: [] });
    stores.set(id, new TinyStore());
  }
  const membership: Membership = { members: () => members, member: (id) => members.find((m) => m.id === id), locate: async () => undefined };
  const placement = new NetworkPlacement({ networkKey: randomBytes(32), storeFor: (m) => stores.get(m.id)! }, { membership });
  const index = new MemoryIndex();
  const coder = new ErasureCoder({ k: K, n: N });
  const originals = new Map<string, string[]>();
  const put = async (chunkId: string, size: number) => {
    const shards = await coder.encode(randomBytes(size));
    const frags = shards.map((s, index) => encodeFragment({ k: K, n: N, index }, s));
    const ids = frags.map(fragmentIdOf);
    const holders = placement.choose(Buffer.from(ids[0], 'hex'), N);
    await Promise.all(frags.map((f, i) => holders[i].store.put(ids[i], f)));
    index.chunks.set(chunkId, { chunkId, k: K, n: N, fragments: ids.map((fragmentId, i) => ({ index: i, fragmentId, peerId: holders[i].id })) });
    originals.set(chunkId, ids);
  };
  const kill = (id: string) => {
    const m = members.find((x) => x.id === id)!;
    m.failures = 5;
    stores.get(id)!.map.clear();
  };
  return { members, stores, placement, index, put, kill, originals, membership };
}

test('repair: rebuilds fragments of dead holders onto new distinct peers, same ids, recorded in the index', async () => {
  const w = await world(24);
  for (let i = 0; i < 12; i++) await w.put(`c${String(i).padStart(2, '0')}`, 50_000 + i * 1000);
  const victims = w.members.slice(0, 5).map((m) => m.id);
  for (const v of victims) w.kill(v);
  const dead = new Set(victims);
  const before = await w.index.chunkHealth(dead);
  assert.ok(before.degraded > 0);

  const worker = new RepairWorker({ logger: silentLogger(), pageSize: 5, concurrency: 2 }, { index: w.index, placement: w.placement });
  const stats = await worker.runOnce();
  assert.deepEqual(stats.lost, []);
  assert.equal(stats.failed, 0);
  assert.ok(stats.fragmentsWritten > 0);
  assert.deepEqual(await w.index.chunkHealth(dead), { total: 12, healthy: 12, degraded: 0, lost: 0 });
  for (const c of w.index.chunks.values()) {
    const holders = c.fragments.map((f) => f.peerId!);
    assert.equal(new Set(holders).size, N, 'holders stay distinct');
    assert.ok(holders.every((h) => !dead.has(h)));
    assert.deepEqual(c.fragments.map((f) => f.fragmentId), w.originals.get(c.chunkId), 'rebuilt bytes are identical');
    for (const f of c.fragments) {
      const bytes = await w.stores.get(f.peerId!)!.get(f.fragmentId);
      assert.equal(decodeFragment(bytes).index, f.index);
    }
  }
  assert.equal((await worker.runOnce()).chunks, 0, 'nothing left to repair');
  await worker.stop();
});

test('repair: fewer than k reachable fragments → reported lost, nothing written', async () => {
  const w = await world(16);
  await w.put('only', 30_000);
  const holders = w.index.chunks.get('only')!.fragments.map((f) => f.peerId!);
  for (const v of holders.slice(0, N - K + 1)) w.kill(v);
  const worker = new RepairWorker({ logger: silentLogger() }, { index: w.index, placement: w.placement });
  const stats = await worker.runOnce();
  assert.deepEqual(stats.lost, ['only']);
  assert.equal(stats.fragmentsWritten, 0);
  assert.deepEqual(w.index.chunks.get('only')!.fragments.map((f) => f.peerId), holders);
});

test('repair: a fragment recorded lost (dropped by a scrub) is rebuilt', async () => {
  const w = await world(20);
  await w.put('x', 40_000);
  const c = w.index.chunks.get('x')!;
  const lostFrag = c.fragments[3];
  await w.stores.get(lostFrag.peerId!)!.delete(lostFrag.fragmentId);
  const oldHolder = lostFrag.peerId!;
  lostFrag.peerId = undefined;
  const stats = await new RepairWorker({ logger: silentLogger() }, { index: w.index, placement: w.placement }).runOnce();
  assert.equal(stats.fragmentsWritten, 1);
  const now = w.index.chunks.get('x')!.fragments[3];
  assert.ok(now.peerId && now.peerId !== undefined);
  assert.equal(now.fragmentId, w.originals.get('x')![3]);
  assert.ok(await w.stores.get(now.peerId!)!.has(now.fragmentId));
  assert.ok(now.peerId === oldHolder || !c.fragments.some((f, i) => i !== 3 && f.peerId === now.peerId));
});

test('status: peers with capacity and lastSeen, chunk health from the index', async () => {
  const w = await world(18);
  await w.put('a', 10_000);
  const fresh = await collectStatus({ placement: w.placement, membership: w.membership, chunks: w.index });
  assert.deepEqual(fresh.chunks, { total: 1, healthy: 1, degraded: 0, lost: 0 });
  const holders = w.index.chunks.get('a')!.fragments.map((f) => f.peerId!);
  for (const v of holders.slice(0, 7)) w.kill(v);
  const s = await collectStatus({ placement: w.placement, membership: w.membership, chunks: w.index });
  assert.equal(s.peers.length, 18);
  assert.equal(s.peers.filter((p) => !p.healthy).length, 7);
  for (const p of s.peers) {
    assert.ok(p.address.startsWith('127.0.0.1:'));
    assert.equal(typeof p.capacity, 'number');
    assert.ok(!Number.isNaN(Date.parse(p.lastSeen)));
  }
  assert.deepEqual(s.chunks, { total: 1, healthy: 0, degraded: 0, lost: 1 }, 'chunk a lost 7 > n-k fragments');
  assert.deepEqual(JSON.parse(JSON.stringify(s)).chunks, s.chunks);
});
