/**
 * DHT figures for issue 4 ("Measure", bullet 3): Kademlia lookups over 16, 50 and 100 real
 * control-plane nodes (backend/network/control-plane.ts: libp2p + kad-dht + the private-network
 * protector), spread over several processes (bench/dht/node-host.ts) so both cores work. (One
 * process holding ~100 nodes used to crash in @libp2p/pnet's xsalsa20; the protector that replaced
 * it keeps no process-wide state, see bench/dht/README.md.)
 *
 * Per size it reports:
 * - lookup latency (one getClosestPeers, the DHT's own answer, median / p90), from nodes spread
 *   over all processes, for random keys;
 * - hops: `rounds` = the longest chain of sequential FIND_NODE requests in the lookup (1 = only
 *   peers of the querier's own routing table were asked), and `depth` = the round in which the
 *   closest peer answered; plus peers queried (answers received) per lookup;
 * - success: the 20 peers returned are exactly the 20 closest by XOR to sha256(key) among all
 *   members but the querier (computed from the full membership); also recall (share of the true
 *   20 found) and whether the single closest was found. For the DHT's answer alone, and for it
 *   merged with the querier's live members as ControlPlane.closest returns it to placement;
 * - a new peer's time to become usable: started with ONE bootstrap address (in another process),
 *   until (a) ControlPlane.start returned, (b) its own lookup of a random key returns the true
 *   nearest peer and (c) a node of another process finds it (a lookup of its id returns it);
 *   usable = the latest of the three. Also when its own lookup first returns exactly the true 20.
 *
 *   node --import tsx bench/dht.bench.ts
 * Env: BENCH_DHT_SIZES=16,50,100  BENCH_DHT_PROCS=5 (processes at least)  BENCH_DHT_PER_PROC=10
 *      (nodes per process at most)  BENCH_DHT_LOOKUPS=30
 *      BENCH_DHT_JOINS=3  BENCH_DHT_SETTLE_MS=6000 (at least; then until every process's event loop
 *      is calm, at most BENCH_DHT_SETTLE_MAX_MS=30000)  BENCH_DHT_HEARTBEAT_MS=60000
 * The heartbeat is slowed from the production 5 s: on 2 cores, 100 nodes each re-asking every
 * member every 5 s is load a real deployment (one node per machine) never puts on one CPU.
 */
import './../backend/network/polyfills.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { peerIdFromString } from '@libp2p/peer-id';
import { peerKey, xorCompare } from '../backend/network/network-placement.js';
import type { Command, HostInit, JoinReply, LookupReply, NodeInfo, ReadyEvent, UsageReply } from './dht/protocol.js';

const env = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? dflt);
  return Number.isFinite(v) && v >= 0 ? v : dflt;
};
const sizes = (process.env.BENCH_DHT_SIZES ?? '16,50,100').split(',').map(Number).filter((n) => n > 1);
const PROCS = Math.max(1, env('BENCH_DHT_PROCS', 5));
// more processes rather than more nodes per process: each process is one event loop, and a
// starved loop times out DHT requests (this once also kept @libp2p/pnet's cipher slots in bounds)
const PER_PROC = Math.max(1, env('BENCH_DHT_PER_PROC', 10));
const LOOKUPS = env('BENCH_DHT_LOOKUPS', 30);
const JOINS = env('BENCH_DHT_JOINS', 3);
const SETTLE_MS = env('BENCH_DHT_SETTLE_MS', 6000);
const SETTLE_MAX_MS = Math.max(SETTLE_MS, env('BENCH_DHT_SETTLE_MAX_MS', 30_000));
/** event-loop delay p50 (ms, every process) under which the network counts as settled */
const CALM_MS = 20;
const HEARTBEAT_MS = env('BENCH_DHT_HEARTBEAT_MS', 60_000);
const K = 20;
const HOST_SCRIPT = new URL('./dht/node-host.ts', import.meta.url).pathname;

type Reply = { seq: number; error?: string } & Record<string, unknown>;
type CommandBody = Command extends infer C ? (C extends Command ? Omit<C, 'seq'> : never) : never;

/** One node-host child process. */
class Host {
  readonly proc: ChildProcess;
  nodes: NodeInfo[] = [];
  readonly ready: Promise<ReadyEvent>;
  readonly #pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  #seq = 0;
  #exit: string | undefined;

  constructor(init: HostInit) {
    this.proc = spawn(process.execPath, ['--import', 'tsx', HOST_SCRIPT, JSON.stringify(init)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let onReady!: (r: ReadyEvent) => void;
    let onFail!: (e: Error) => void;
    this.ready = new Promise<ReadyEvent>((res, rej) => {
      onReady = res;
      onFail = rej;
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      let msg: Reply | ReadyEvent;
      try {
        msg = JSON.parse(line) as Reply | ReadyEvent;
      } catch {
        return;
      }
      if ((msg as ReadyEvent).ready === true) {
        this.nodes = (msg as ReadyEvent).nodes;
        onReady(msg as ReadyEvent);
        return;
      }
      msg = msg as Reply;
      const p = this.#pending.get(msg.seq);
      if (!p) return;
      this.#pending.delete(msg.seq);
      if (typeof msg.error === 'string') p.reject(new Error(msg.error));
      else p.resolve(msg);
    });
    this.proc.on('exit', (code, signal) => {
      this.#exit = `node-host ${this.proc.pid} exited (code ${code}, signal ${signal})`;
      const err = new Error(this.#exit);
      onFail(err);
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    });
  }

  request<T>(cmd: CommandBody): Promise<T & Reply> {
    if (this.#exit) return Promise.reject(new Error(this.#exit));
    const seq = ++this.#seq;
    return new Promise<T & Reply>((resolve, reject) => {
      this.#pending.set(seq, { resolve: resolve as (r: Reply) => void, reject });
      this.proc.stdin!.write(`${JSON.stringify({ ...cmd, seq })}\n`);
    });
  }

  async stop(): Promise<void> {
    if (this.#exit) return;
    const exited = new Promise((res) => this.proc.once('exit', res));
    this.request({ op: 'stop' }).catch(() => undefined);
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  }
}

/** Nearest-rank percentile. */
const pct = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
};
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '-');
const f1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '-');
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

/** The k members closest to sha256(key) by XOR, as kad-dht measures distance. */
function trueClosest(key: Buffer, members: string[], exclude: string, k: number): string[] {
  const target = createHash('sha256').update(key).digest();
  return members
    .filter((id) => id !== exclude)
    .sort((a, b) => xorCompare(target, peerKey(a), peerKey(b)))
    .slice(0, k);
}

interface Judged {
  exact: boolean;
  recall: number;
  nearest: boolean;
}

function judge(found: string[], truth: string[]): Judged {
  const got = new Set(found.slice(0, truth.length));
  const hit = truth.filter((id) => got.has(id)).length;
  return { exact: hit === truth.length, recall: hit / truth.length, nearest: got.has(truth[0]) };
}

interface JoinResult {
  startMs: number;
  /** its own lookup of a random key returned the true nearest peer */
  ownNearestMs: number;
  /** its own lookup returned exactly the true k closest */
  ownExactMs: number;
  /** a node of another process looked up the new peer's id and got it back */
  findableMs: number;
}

/**
 * Starts one node in one process, bootstrapped to ONE node of another, then polls (one lookup by
 * it, one for it, at a time) until each milestone is met; each time is taken when the lookup that
 * met it returned, from just before ControlPlane.start.
 */
async function joinProbe(hosts: Host[], members: string[], j: number): Promise<JoinResult> {
  const home = hosts[(j + 1) % hosts.length];
  const other = hosts.length > 1 ? hosts[(j + 2) % hosts.length] : home;
  const boot = other.nodes[(j * 3) % other.nodes.length].addr;
  const joined = await home.request<JoinReply>({ op: 'join', bootstrap: boot });
  home.nodes.push(joined.info);
  const id = joined.info.id;
  members.push(id);
  const idKey = Buffer.from(peerIdFromString(id).toMultihash().bytes).toString('hex');
  const finder = (j * 5) % (other === home ? home.nodes.length - 1 : other.nodes.length);
  const r: JoinResult = { startMs: joined.startMs, ownNearestMs: NaN, ownExactMs: NaN, findableMs: NaN };
  const pending = (): boolean => Number.isNaN(r.ownExactMs) || Number.isNaN(r.findableMs);
  const deadline = Date.now() + 30_000;
  while (pending() && Date.now() < deadline) {
    const key = randomBytes(32);
    const truth = trueClosest(key, members, id, Math.min(K, members.length - 1));
    await Promise.all([
      Number.isNaN(r.ownExactMs)
        ? home.request<LookupReply>({ op: 'lookup', node: joined.node, key: key.toString('hex') }).then(
            (l) => {
              const v = judge(l.closest, truth);
              const at = Date.now() - joined.t0;
              if (v.nearest && Number.isNaN(r.ownNearestMs)) r.ownNearestMs = at;
              if (v.exact) r.ownExactMs = at;
            },
            () => undefined,
          )
        : undefined,
      Number.isNaN(r.findableMs)
        ? other.request<LookupReply>({ op: 'lookup', node: finder, key: idKey }).then(
            (l) => {
              if (l.closest.includes(id)) r.findableMs = Date.now() - joined.t0;
            },
            () => undefined,
          )
        : undefined,
    ]);
    if (pending()) await new Promise((res) => setTimeout(res, 100));
  }
  return r;
}

interface Usage {
  cpuMs: number;
  rssMiB: number;
  /** one line: routing tables, connections, event-loop delay over all processes */
  summary: string;
  /** worst process's event-loop delay p50 since the previous usage call, ms */
  loopP50Ms: number;
}

async function usage(hosts: Host[]): Promise<Usage> {
  const us = await Promise.all(hosts.map((h) => h.request<UsageReply>({ op: 'usage' })));
  const rt = us.flatMap((u) => u.routingTable);
  const conns = us.flatMap((u) => u.connections);
  const summary =
    `routing tables min/median/max ${Math.min(...rt)}/${pct(rt, 0.5)}/${Math.max(...rt)}, ` +
    `connections per node median ${pct(conns, 0.5)}, event-loop delay p50 ${f1(Math.max(...us.map((u) => u.loopDelayP50Ms)))} ms ` +
    `max ${f0(Math.max(...us.map((u) => u.loopDelayMaxMs)))} ms (worst process), ` +
    `pnet cipher slots max ${f0(Math.max(...us.map((u) => u.cipherSlots ?? NaN)))} per process`;
  const loopP50Ms = Math.max(...us.map((u) => u.loopDelayP50Ms));
  return { cpuMs: us.reduce((a, u) => a + u.cpuMs, 0), rssMiB: us.reduce((a, u) => a + u.rssMiB, 0), summary, loopP50Ms };
}

async function run(n: number): Promise<void> {
  const procs = Math.min(n, Math.max(PROCS, Math.ceil(n / PER_PROC)));
  const counts = Array.from({ length: procs }, (_, i) => Math.floor(n / procs) + (i < n % procs ? 1 : 0));
  const networkKey = randomBytes(32).toString('hex');
  const hosts: Host[] = [];
  const load0 = load();
  const t0 = performance.now();
  try {
    // the seed process first (its node 0 starts the network), then the rest at once
    hosts.push(new Host({ count: counts[0], networkKey, bootstrap: [], heartbeatMs: HEARTBEAT_MS }));
    await hosts[0].ready;
    const seeds = hosts[0].nodes.map((x) => x.addr);
    for (let i = 1; i < procs; i++) hosts.push(new Host({ count: counts[i], networkKey, bootstrap: seeds, heartbeatMs: HEARTBEAT_MS }));
    const readies = await Promise.all(hosts.map((h) => h.ready));
    const upMs = performance.now() - t0;
    const up = await usage(hosts);
    // start-up work (self lookups, provider records, first info rounds) must not count as lookup
    // latency: wait until every process's event loop is calm, or give up after SETTLE_MAX_MS
    const s0 = performance.now();
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    let settled = await usage(hosts);
    while (settled.loopP50Ms > CALM_MS && performance.now() - s0 < SETTLE_MAX_MS) {
      await new Promise((r) => setTimeout(r, 2000));
      settled = await usage(hosts);
    }
    const settleMs = performance.now() - s0;
    const members = hosts.flatMap((h) => h.nodes.map((x) => x.id));

    // lookups, one at a time, from nodes spread over every process
    const flat = hosts.flatMap((h) => h.nodes.map((_, i) => ({ h, i })));
    const rows: (LookupReply & Judged & { withMembers: Judged })[] = [];
    let failed = 0;
    for (let l = 0; l < LOOKUPS; l++) {
      const { h, i } = flat[(l * 7919) % flat.length];
      const key = randomBytes(32);
      try {
        const r = await h.request<LookupReply>({ op: 'lookup', node: i, key: key.toString('hex') });
        const truth = trueClosest(key, members, h.nodes[i].id, Math.min(K, n - 1));
        rows.push({ ...r, ...judge(r.closest, truth), withMembers: judge(r.merged, truth) });
      } catch (err) {
        failed++;
        console.error(`lookup ${l} failed: ${(err as Error).message}`);
      }
    }
    const looked = await usage(hosts);
    const lat = rows.map((r) => r.ms);
    const rounds = rows.map((r) => r.rounds);
    const depth = rows.map((r) => r.closestDepth);

    const joins: JoinResult[] = [];
    for (let j = 0; j < JOINS; j++) joins.push(await joinProbe(hosts, members, j));
    const end = await usage(hosts);

    console.log(
      `DHT ${String(n).padStart(3)} nodes in ${procs} processes (${counts.join('+')}): up in ${f0(upMs)} ms ` +
        `(slowest process ${f0(Math.max(...readies.map((r) => r.sinceProcessStartMs)))} ms from spawn, ${f0(up.cpuMs)} CPU ms), ` +
        `load ${load0} -> ${load()}`,
    );
    console.log(`  before lookups (settled ${f0(settleMs / 1000)} s): ${settled.summary}`);
    console.log(`  during lookups: ${looked.summary}`);
    console.log(
      `  lookup (${rows.length} ok, ${failed} failed): median ${f1(pct(lat, 0.5))} ms, p90 ${f1(pct(lat, 0.9))} ms, max ${f1(Math.max(...lat))} ms; ` +
        `rounds median ${pct(rounds, 0.5)} p90 ${pct(rounds, 0.9)} max ${Math.max(...rounds)}; ` +
        `closest answered in round median ${pct(depth, 0.5)} max ${Math.max(...depth)}; ` +
        `peers queried mean ${f1(mean(rows.map((r) => r.queried)))}, errors mean ${f1(mean(rows.map((r) => r.errors)))}`,
    );
    console.log(
      `  success (DHT answer alone): exact true-${Math.min(K, n - 1)} ${rows.filter((r) => r.exact).length}/${rows.length}, ` +
        `recall mean ${(100 * mean(rows.map((r) => r.recall))).toFixed(1)} %, nearest found ${rows.filter((r) => r.nearest).length}/${rows.length}, ` +
        `returned mean ${f1(mean(rows.map((r) => r.closest.length)))}; merged with membership (ControlPlane.closest): ` +
        `exact ${rows.filter((r) => r.withMembers.exact).length}/${rows.length}, recall mean ${(100 * mean(rows.map((r) => r.withMembers.recall))).toFixed(1)} %`,
    );
    for (const [j, r] of joins.entries()) {
      console.log(
        `  new peer ${j + 1}: usable in ${f0(Math.max(r.startMs, r.ownNearestMs, r.findableMs))} ms ` +
          `(start returned ${f0(r.startMs)}, own lookup finds the nearest at ${f0(r.ownNearestMs)}, found by another process at ${f0(r.findableMs)}); ` +
          `own lookup exact at ${f0(r.ownExactMs)} ms`,
      );
    }
    console.log(`  processes together: ${f0(end.cpuMs)} CPU ms, ${f0(end.rssMiB)} MiB RSS at the end; during joins: ${end.summary}`);
  } finally {
    await Promise.all(hosts.map((h) => h.stop()));
  }
}

for (const n of sizes) {
  try {
    await run(n);
  } catch (err) {
    console.log(`DHT ${n} nodes: FAILED: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}
