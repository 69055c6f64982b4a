/**
 * In-process control-plane nodes: joining by HOST:PORT, membership with announcements, closest
 * lookups, provider records and findPeer as fallback locators, and outsiders kept out by the key.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { identityFromKey } from '../../backend/network/identity.js';
import { ControlPlane, toMultiaddr } from '../../backend/network/control-plane.js';
import { silentLogger } from '../../backend/core/logger.js';

const networkKey = randomBytes(32);

async function node(bootstrap: string[], key: Uint8Array = networkKey, i = 0): Promise<ControlPlane> {
  return ControlPlane.start({
    identity: await identityFromKey(await generateKeyPair('Ed25519')),
    networkKey: key,
    dhtPort: 0,
    bootstrap,
    heartbeatMs: 1000,
    bootstrapWaitMs: 1000,
    logger: silentLogger(),
    announce: async () => ({ role: 'peer', dataAddress: `127.0.0.1:${7000 + i}`, host: `h${i}`, capacity: 1000, free: 600 - i }),
  });
}

function hostPort(cp: ControlPlane): string {
  const m = /\/ip4\/([^/]+)\/tcp\/(\d+)/.exec(cp.multiaddrs()[0])!;
  return `${m[1]}:${m[2]}`;
}

async function until(pred: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('control plane (in-process nodes)', { timeout: 120_000 }, () => {
  const nodes: ControlPlane[] = [];
  // libp2p's sockets do not keep the loop alive on their own while a test awaits a lookup
  const keepAlive = setInterval(() => undefined, 1000);

  before(async () => {
    nodes.push(await node([], networkKey, 0));
    for (let i = 1; i < 6; i++) nodes.push(await node([hostPort(nodes[0])], networkKey, i));
    await until(() => nodes.every((n) => n.members().length === nodes.length - 1));
  });

  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    clearInterval(keepAlive);
  });

  test('HOST:PORT bootstrap joins; members carry announcements and lastSeen', () => {
    const m = nodes[3].member(nodes[5].peerId);
    assert.ok(m);
    assert.equal(m.dataAddress, '127.0.0.1:7005');
    assert.equal(m.host, 'h5');
    assert.equal(m.free, 595);
    assert.ok(Date.now() - m.lastSeen < 30_000);
    assert.equal(toMultiaddr('127.0.0.1:4001').toString(), '/ip4/127.0.0.1/tcp/4001');
    assert.equal(toMultiaddr('[::1]:4001').toString(), '/ip6/::1/tcp/4001');
  });

  test('closest-peer lookups find every node of a small network', async () => {
    const r = await nodes[4].closest(randomBytes(32));
    const all = new Set([...r.peers, nodes[4].peerId]);
    for (const n of nodes) assert.ok(all.has(n.peerId));
  });

  test('fallback locators: provider records and findPeer', async () => {
    await Promise.all(nodes.map((n) => n.provide()));
    const found = await nodes[2].findStoragePeers();
    assert.ok(found.length >= 3, `found ${found.length} storage peers`);
    const located = await nodes[1].locate(nodes[5].peerId);
    assert.equal(located?.dataAddress, '127.0.0.1:7005');
  });

  test('a node with another network key cannot join', async () => {
    const outsider = await node([hostPort(nodes[0]), nodes[1].multiaddrs()[0]], randomBytes(32), 9);
    try {
      assert.equal(outsider.members().length, 0);
      await nodes[0].heartbeat();
      for (const n of nodes) assert.equal(n.member(outsider.peerId), undefined);
      assert.equal((await outsider.closest(randomBytes(32))).peers.length, 0);
    } finally {
      await outsider.stop();
    }
  });

  test('a stopped node is missed by heartbeats', async () => {
    const gone = nodes.pop()!;
    await gone.stop();
    await nodes[0].heartbeat();
    await nodes[0].heartbeat();
    assert.ok((nodes[0].member(gone.peerId)?.failures ?? 0) >= 2);
  });
});
