/**
 * A DHT bench child: runs `count` ControlPlane nodes in this process and answers JSON-lines
 * commands (bench/dht/protocol.ts) on stdin/stdout. Spreading nodes over several such processes
 * uses both cores (and kept each process under the old pnet per-process limit, bench/dht/README.md).
 *   node --import tsx bench/dht/node-host.ts '<HostInit JSON>'
 */
import '../../backend/network/polyfills.js';
import { createHash } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { silentLogger } from '../../backend/core/logger.js';
import { identityFromKey } from '../../backend/network/identity.js';
import { ControlPlane } from '../../backend/network/control-plane.js';
import { peerKey, xorCompare } from '../../backend/network/network-placement.js';
import { xsalsa20Slots } from './xsalsa20-slots.js';
import type { Command, HostInit, JoinReply, LookupReply, NodeInfo, ReadyEvent, UsageReply } from './protocol.js';

const init = JSON.parse(process.argv[2] ?? '') as HostInit;
const networkKey = Buffer.from(init.networkKey, 'hex');
const nodes: ControlPlane[] = [];
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();

// A crash must reach the parent with its stack (which package threw), not as a bare exit code.
process.on('uncaughtException', (err) => {
  process.stderr.write(`node-host ${process.pid} uncaught: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(70);
});

function send(obj: object): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function startNode(bootstrap: string[]): Promise<ControlPlane> {
  return generateKeyPair('Ed25519').then(async (key) =>
    ControlPlane.start({
      identity: await identityFromKey(key),
      networkKey,
      dhtPort: 0,
      bootstrap,
      heartbeatMs: init.heartbeatMs,
      bootstrapWaitMs: 30_000,
      logger: silentLogger(),
      announce: async () => ({ role: 'peer', dataAddress: '127.0.0.1:1', host: 'bench', capacity: 1, free: 1 }),
    }),
  );
}

function info(cp: ControlPlane): NodeInfo {
  const addr = cp.multiaddrs().find((a) => a.startsWith('/ip4/127.0.0.1/')) ?? cp.multiaddrs()[0];
  return { id: cp.peerId, addr };
}

/** The kad-dht class behind the KadDHT interface: its routing table gives a query's start peers. */
interface RoutingTableView {
  routingTable?: { size: number; kBucketSize: number; closestPeers(kadId: Uint8Array, o?: { count?: number }): { toString(): string }[] };
}

async function lookup(cp: ControlPlane, keyHex: string): Promise<Omit<LookupReply, 'seq'>> {
  const key = Buffer.from(keyHex, 'hex');
  const dht = cp.node.services.dht;
  // kad-dht starts every query with the kBucketSize peers of its own table closest to sha256(key),
  // one per disjoint path: those are round 1; a peer first named in a round-d answer is round d+1.
  const kadId = new Uint8Array(await crypto.subtle.digest('SHA-256', key));
  const table = (dht as unknown as RoutingTableView).routingTable;
  const depth = new Map<string, number>();
  for (const p of table?.closestPeers(kadId, { count: table.kBucketSize }) ?? []) depth.set(p.toString(), 1);
  const closest: string[] = [];
  let queried = 0;
  let errors = 0;
  let rounds = 0;
  const t0 = performance.now();
  for await (const e of dht.getClosestPeers(key, { signal: AbortSignal.timeout(30_000) })) {
    if (e.name === 'PEER_RESPONSE') {
      queried++;
      const from = e.from.toString();
      const d = depth.get(from) ?? 1;
      depth.set(from, d);
      rounds = Math.max(rounds, d);
      for (const c of e.closer) if (!depth.has(c.id.toString())) depth.set(c.id.toString(), d + 1);
    } else if (e.name === 'FINAL_PEER') closest.push(e.peer.id.toString());
    else if (e.name === 'QUERY_ERROR') errors++;
  }
  const ms = performance.now() - t0;
  // the same merge as ControlPlane.closest, on the same query (one query gives both figures)
  const target = createHash('sha256').update(key).digest();
  const live = cp.members().filter((m) => m.failures === 0).map((m) => m.id);
  const merged = [...new Set([...closest, ...live])].sort((a, b) => xorCompare(target, peerKey(a), peerKey(b))).slice(0, 20);
  return { ms, closest, merged, queried, errors, rounds, closestDepth: closest.length > 0 ? (depth.get(closest[0]) ?? 1) : 0 };
}

async function handle(cmd: Command): Promise<object | undefined> {
  switch (cmd.op) {
    case 'lookup': {
      const cp = nodes[cmd.node];
      if (!cp) return { seq: cmd.seq, error: `no node ${cmd.node}` };
      return { seq: cmd.seq, ...(await lookup(cp, cmd.key)) } satisfies LookupReply;
    }
    case 'join': {
      const t0 = Date.now();
      const p0 = performance.now();
      const cp = await startNode([cmd.bootstrap]);
      const startMs = performance.now() - p0;
      nodes.push(cp);
      return { seq: cmd.seq, node: nodes.length - 1, info: info(cp), t0, startMs } satisfies JoinReply;
    }
    case 'usage': {
      const cpu = process.cpuUsage();
      const reply: UsageReply = {
        seq: cmd.seq,
        rssMiB: process.memoryUsage().rss / 2 ** 20,
        cpuMs: (cpu.user + cpu.system) / 1000,
        routingTable: nodes.map((n) => (n.node.services.dht as unknown as RoutingTableView).routingTable?.size ?? -1),
        connections: nodes.map((n) => n.node.getConnections().length),
        loopDelayP50Ms: loopDelay.percentile(50) / 1e6,
        loopDelayMaxMs: loopDelay.max / 1e6,
        cipherSlots: xsalsa20Slots().slots,
      };
      loopDelay.reset();
      return reply;
    }
    case 'stop':
      await Promise.allSettled(nodes.map((n) => n.stop()));
      send({ seq: cmd.seq, stopped: true });
      process.exit(0);
  }
  return undefined;
}

const p0 = performance.now();
if (init.bootstrap.length === 0) {
  nodes.push(await startNode([]));
  const seed = info(nodes[0]).addr;
  for (let i = 1; i < init.count; i += 10) nodes.push(...(await Promise.all(Array.from({ length: Math.min(10, init.count - i) }, () => startNode([seed])))));
} else {
  // one address each, round robin: a real peer is usually given one or two bootstrap addresses
  for (let i = 0; i < init.count; i += 10) {
    const batch = Array.from({ length: Math.min(10, init.count - i) }, (_, j) => startNode([init.bootstrap[(i + j) % init.bootstrap.length]]));
    nodes.push(...(await Promise.all(batch)));
  }
}
send({ ready: true, nodes: nodes.map(info), sinceProcessStartMs: performance.now(), startMs: performance.now() - p0 } satisfies ReadyEvent);

createInterface({ input: process.stdin }).on('line', (line) => {
  let cmd: Command;
  try {
    cmd = JSON.parse(line) as Command;
  } catch {
    return;
  }
  handle(cmd).then(
    (reply) => reply && send(reply),
    (err: unknown) => send({ seq: cmd.seq, error: err instanceof Error ? err.message : String(err) }),
  );
});
// the parent closing our stdin (it died) ends us too
process.stdin.on('end', () => void handle({ seq: -1, op: 'stop' }));
