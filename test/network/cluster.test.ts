/**
 * Real peer processes on loopback: 16 peers form a private network, find their closest peers,
 * keep outsiders out, keep their identity across restarts, store fragments that survive 6 of
 * them being SIGKILLed (decoded from any k with the ErasureCoder), and scrub corrupt ones away.
 * Plus, with in-process control-plane nodes, who refreshes membership: a passive node (a storage
 * peer) only while a placement tracks it, and above fullRefreshMax a heartbeat samples.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { Cluster, startPeer } from './helpers/cluster.js';
import { startNetworkClient, type NetworkClient } from '../../backend/network/network-client.js';
import { ControlPlane, type ControlPlaneInit } from '../../backend/network/control-plane.js';
import { identityFromKey } from '../../backend/network/identity.js';
import { NetworkPlacement } from '../../backend/network/network-placement.js';
import { ErasureCoder } from '../../backend/erasure/reed-solomon.js';
import { decodeFragment, encodeFragment, fragmentIdOf } from '../../backend/erasure/fragment.js';
import { silentLogger } from '../../backend/core/logger.js';
import { isStoreError } from '../../backend/core/errors.js';
import type { PeerHandle } from '../../backend/core/placement.js';

const N = 16;
const K = 10;

async function until(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('peer network with 16 real processes', { timeout: 300_000 }, () => {
  let cluster: Cluster;
  let gateway: NetworkClient;
  let stateDir: string;

  before(async () => {
    // heartbeats every 2 s: faster ones add real load when 16 peers share 2 cores
    cluster = await Cluster.start({ peers: N, heartbeatMs: 2000 });
    stateDir = await mkdtemp(join(tmpdir(), 'peerstor-gw-'));
    gateway = await startNetworkClient({
      stateDir,
      networkKeyFile: cluster.networkKeyFile,
      bootstrap: cluster.bootstrap,
      heartbeatMs: 1000,
      logger: silentLogger(),
      placement: { minFree: 0, staleMs: 15_000, failuresToDead: 2 },
    });
    await until('the gateway to see 16 healthy peers', () => gateway.placement.peers().filter((p) => gateway.placement.isHealthy(p.id)).length === N, 120_000);
  });

  after(async () => {
    await gateway?.stop();
    await cluster?.stop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  test('every peer sees the others and finds the 16 closest to a key through the DHT', async () => {
    await cluster.waitConverged(60_000);
    const ids = cluster.peers.map((p) => p.id);
    const key = randomBytes(32);
    await Promise.all(
      cluster.peers.map(async (p, i) => {
        // a lookup whose RPCs time out on a loaded machine returns fewer peers; retries, as a
        // real caller would, keeps the test about correctness rather than the machine's load
        // (a lookup in which every RPC timed out queried nobody: that is the load, not the DHT)
        let missing: string[] = [];
        let queried = 0;
        for (let attempt = 0; attempt < 3; attempt++) {
          const a = await p.ask<{ peers: string[]; queried: number }>({ op: 'closest', key: key.toString('hex') });
          queried = Math.max(queried, a.queried);
          const found = new Set([...a.peers, p.id]);
          missing = ids.filter((id) => !found.has(id));
          if (missing.length === 0 && a.queried >= 1) break;
        }
        assert.ok(queried >= 1, `peer ${i} never got an answer from the DHT`);
        assert.deepEqual(missing, [], `peer ${i} did not find every peer`);
      }),
    );
  });

  test('fragments on 16 peers read back from any k after 6 peers are SIGKILLed, which are marked dead', async () => {
    await until('16 healthy peers', () => gateway.placement.peers().filter((p) => gateway.placement.isHealthy(p.id)).length === N, 60_000);
    const coder = new ErasureCoder({ k: K, n: N });
    const chunks: { sha: string; length: number; ids: string[]; holders: PeerHandle[] }[] = [];
    for (let c = 0; c < 4; c++) {
      const data = randomBytes(1_000_000 + c * 77_777);
      const shards = await coder.encode(data);
      const frags = shards.map((s, index) => encodeFragment({ k: K, n: N, index }, s));
      const ids = frags.map(fragmentIdOf);
      const holders = gateway.placement.choose(Buffer.from(ids[0], 'hex'), N);
      assert.equal(new Set(holders.map((h) => h.id)).size, N, 'n distinct peers');
      await Promise.all(frags.map((f, i) => holders[i].store.put(ids[i], f)));
      chunks.push({ sha: createHash('sha256').update(data).digest('hex'), length: data.length, ids, holders });
    }
    const victims = cluster.peers.slice(N - 6);
    await Promise.all(victims.map((v) => v.kill('SIGKILL')));
    const victimIds = new Set(victims.map((v) => v.id));
    await until('the 6 killed peers to be marked dead', () => [...victimIds].every((id) => !gateway.placement.isHealthy(id)), 60_000);
    for (const p of cluster.peers.slice(0, N - 6)) assert.ok(gateway.placement.isHealthy(p.id), 'live peers stay healthy');

    for (const c of chunks) {
      const shards: (Buffer | null)[] = Array.from({ length: N }, () => null);
      let got = 0;
      for (let i = 0; i < N && got < K; i++) {
        const h = c.holders[i];
        if (!gateway.placement.isHealthy(h.id)) {
          await assert.rejects(h.store.get(c.ids[i]), (e) => isStoreError(e, 'Unavailable') || isStoreError(e, 'Timeout'));
          continue;
        }
        shards[i] = decodeFragment(await h.store.get(c.ids[i])).shard;
        got++;
      }
      assert.equal(got, K);
      const back = await coder.decode(shards, c.length);
      assert.equal(createHash('sha256').update(back).digest('hex'), c.sha);
    }
    const chosenNow = gateway.placement.choose(randomBytes(32), N);
    assert.ok(chosenNow.every((h) => !victimIds.has(h.id)), 'dead peers are not chosen');
  });

  test('a peer without the network key cannot join', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'peerstor-outsider-'));
    const outsider = await startPeer({ networkKeyFile: join(dir, 'other.key'), bootstrap: cluster.bootstrap, bootstrapWaitMs: 1500, heartbeatMs: 1000 });
    try {
      await new Promise((r) => setTimeout(r, 1500));
      // explicit refreshes (storage peers run none on a timer): everyone asks everyone it knows of
      const seen = await outsider.ask<{ members: string[] }>({ op: 'refresh' });
      assert.deepEqual(seen.members, [], 'the outsider reached nobody');
      await gateway.controlPlane.heartbeat();
      assert.equal(gateway.controlPlane.member(outsider.id), undefined, 'not in the gateway\'s membership');
      assert.ok(!gateway.placement.peers().some((h) => h.id === outsider.id), 'not a placement candidate');
      const live = cluster.live();
      const views = await Promise.all(live.map((p) => p.ask<{ members: string[] }>({ op: 'refresh' })));
      views.forEach((v, i) => {
        assert.ok(!v.members.includes(outsider.id), `peer ${i} knows the outsider`);
        assert.ok(v.members.length > 0, `peer ${i} still reaches the network`);
      });
      const before = await readFile(cluster.networkKeyFile, 'utf8');
      assert.notEqual(await readFile(join(dir, 'other.key'), 'utf8'), before, 'it made its own key');
    } finally {
      await outsider.stop();
      await rm(outsider.dir, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a peer re-hashes its fragments and drops a corrupt one', async () => {
    const peer = cluster.live()[1];
    const handle = gateway.placement.peer(peer.id)!;
    const data = encodeFragment({ k: K, n: N, index: 0 }, randomBytes(50_000));
    const id = fragmentIdOf(data);
    await handle.store.put(id, data);
    const file = join(peer.dir, 'fragments', id.slice(0, 2), id.slice(2, 4), id);
    const bytes = await readFile(file);
    bytes[100] ^= 0xff;
    await writeFile(file, bytes);
    const r = await peer.ask<{ corrupt: string[]; checked: number }>({ op: 'scrub' });
    assert.deepEqual(r.corrupt, [id]);
    await assert.rejects(handle.store.get(id), (e) => isStoreError(e, 'FragmentNotFound'));
  });
});

test('identity and network key survive a restart', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-restart-'));
  try {
    const keyFile = join(dir, 'net.key');
    const first = await startPeer({ dir: join(dir, 'vol'), networkKeyFile: keyFile, bootstrap: [] });
    const id = first.id;
    const key = await readFile(keyFile, 'utf8');
    await first.stop();
    const second = await startPeer({ dir: join(dir, 'vol'), networkKeyFile: keyFile, bootstrap: [] });
    try {
      assert.equal(second.id, id);
      assert.equal(await readFile(keyFile, 'utf8'), key);
    } finally {
      await second.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

describe('membership refreshes (in-process control-plane nodes)', { timeout: 120_000 }, () => {
  const networkKey = randomBytes(32);
  const nodes: ControlPlane[] = [];
  // libp2p's sockets do not keep the loop alive on their own while a test awaits
  const keepAlive = setInterval(() => undefined, 1000);
  const start = async (bootstrap: string[], more: Partial<ControlPlaneInit> = {}): Promise<ControlPlane> => {
    const cp = await ControlPlane.start({
      identity: await identityFromKey(await generateKeyPair('Ed25519')),
      networkKey,
      dhtPort: 0,
      bootstrap,
      bootstrapWaitMs: 1000,
      logger: silentLogger(),
      passive: true,
      announce: async () => ({ role: 'peer', dataAddress: '127.0.0.1:9', host: 'h', capacity: 1 << 30, free: 1 << 30 }),
      ...more,
    });
    nodes.push(cp);
    return cp;
  };
  let seed: string;
  /** heartbeat timer too slow to ever fire here: the test runs its beats itself */
  let sampler: ControlPlane;
  let tracked: ControlPlane;

  before(async () => {
    seed = (await start([])).multiaddrs()[0];
    for (let i = 0; i < 4; i++) await start([seed]);
    sampler = await start([seed], { heartbeatMs: 600_000, fullRefreshMax: 3, refreshSample: 2 });
    tracked = await start([seed], { heartbeatMs: 200 });
    await until('both watchers to know the other 6 nodes', () => sampler.members().length >= 6 && tracked.members().length >= 6);
    // the join's own lookups (1 s and 5 s after bootstrap) may still open connections, and each
    // new connection is asked at once: let them pass so a heartbeat's asks are its own
    await new Promise((r) => setTimeout(r, 6000));
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    clearInterval(keepAlive);
  });

  test('a passive node refreshes on a timer only while a placement tracks its membership', async () => {
    assert.equal(tracked.refreshPeriodMs(), Infinity, 'passive: nobody tracks it yet');
    const placement = new NetworkPlacement({ networkKey }, { membership: tracked });
    assert.equal(tracked.refreshPeriodMs(), 200, 'tracked: every member every heartbeat (a small network)');
    const since = Math.max(...tracked.members().map((m) => m.lastSeen));
    await until('a heartbeat to re-ask every member', () => tracked.members().every((m) => m.lastSeen > since));
    await placement.close();
    assert.equal(tracked.refreshPeriodMs(), Infinity, 'close() releases it');
  });

  test('above fullRefreshMax a heartbeat asks the peers in use plus a sample, the rest in turn', async () => {
    const ids = sampler.members().map((m) => m.id);
    assert.ok(ids.length > 3, 'more members than fullRefreshMax');
    const inUse = ids[ids.length - 1];
    sampler.use(inUse);
    const asked: string[][] = [];
    const refresh = sampler.refresh.bind(sampler);
    sampler.refresh = (id: string) => {
      asked[asked.length - 1]?.push(id);
      return refresh(id);
    };
    const beats = Math.ceil((ids.length - 1) / 2);
    for (let b = 0; b < beats; b++) {
      asked.push([]);
      await sampler.heartbeat();
    }
    for (const [b, round] of asked.entries()) {
      assert.ok(round.includes(inUse), `beat ${b} asked the peer in use`);
      assert.equal(round.filter((id) => id !== inUse).length, 2, `beat ${b} asked a sample of 2 others: ${round.join(' ')}`);
    }
    assert.deepEqual(new Set(asked.flat()), new Set(ids), 'every member asked within ceil(others / sample) beats');
    const untrack = sampler.track();
    assert.equal(sampler.refreshPeriodMs(), 600_000 * beats, 'the refresh period placement stretches staleness to');
    untrack();
  });
});
