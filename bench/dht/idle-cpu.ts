/**
 * Idle CPU of a meshed network, and how soon a new peer becomes usable by the gateway:
 * 16 storage-peer processes (test/network/helpers/cluster.ts, heartbeat 2 s as in the cluster
 * test and bench) and a real `peerstor` gateway process without -v (its default heartbeat).
 *
 * 1. Start, wait until the gateway's /-/status shows every peer healthy, let it settle.
 * 2. Idle CPU: utime+stime from /proc/<pid>/stat of every process over IDLE_SECONDS, as CPU ms per
 *    wall second: each peer (min / median / max / sum) and the gateway.
 * 3. Join: start JOINS more peers one at a time (bootstrapping from the first two peers, as
 *    users do); per peer, seconds from its process's spawn to (a) its ready line and (b) the
 *    gateway's /-/status listing it healthy (what placement needs to choose it).
 * With IDLE_PROFILE=1 the first peer and the gateway run under --cpu-prof; their samples in the
 * idle window are summarised by function and by module.
 *
 *   node --import tsx bench/dht/idle-cpu.ts
 * Env: IDLE_PEERS=16 IDLE_SECONDS=30 IDLE_SETTLE_S=10 IDLE_JOINS=3 IDLE_PROFILE=0
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from '../../test/network/helpers/cluster.js';
import { startGateway, type GatewayProc } from '../../test/network/helpers/gateway-proc.js';

const env = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? dflt);
  return Number.isFinite(v) && v >= 0 ? v : dflt;
};
const PEERS = env('IDLE_PEERS', 16);
const SECONDS = env('IDLE_SECONDS', 30);
const SETTLE_S = env('IDLE_SETTLE_S', 10);
const JOINS = env('IDLE_JOINS', 3);
const PROFILE = process.env.IDLE_PROFILE === '1';
const CLK_TCK = 100;

const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** utime+stime of a process in ms, undefined once it is gone */
async function cpuMs(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // fields after the command name (which may hold spaces), 1-based field 14 = utime, 15 = stime
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Self-time shares of the samples in the last `windowS` seconds before `endSkipS` from the end. */
async function summarise(label: string, dir: string, windowS: number, endSkipS: number): Promise<void> {
  const files = (await readdir(dir).catch(() => [])).filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  if (files.length === 0) return void console.log(`  ${label}: no main-thread profile written`);
  const p = JSON.parse(await readFile(join(dir, files[0]), 'utf8')) as Profile;
  const t1 = p.endTime - endSkipS * 1e6;
  const t0 = t1 - windowS * 1e6;
  const short = (url: string): string => {
    const u = url.replace(/^file:\/\//, '');
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
    if (nm) return `npm:${nm[1]}`;
    if (u.startsWith('node:')) return u.replace(/^node:internal\//, 'node:');
    const repo = u.indexOf('/main/');
    return repo >= 0 ? u.slice(repo + 6) : u || '(native)';
  };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const byFn = new Map<string, number>();
  const byMod = new Map<string, number>();
  let total = 0;
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i];
    t += dt;
    if (t < t0 || t > t1) continue;
    const n = byId.get(p.samples[i]);
    if (!n || n.callFrame.functionName === '(idle)') continue;
    const fn = `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + dt);
    byMod.set(short(n.callFrame.url), (byMod.get(short(n.callFrame.url)) ?? 0) + dt);
    total += dt;
  }
  // sample weights are wall intervals (a descheduled thread keeps its last stack): shares, not CPU ms
  console.log(`  ${label}: ${(total / 1000).toFixed(0)} ms of non-idle samples in the last ${windowS} s of idle; share by self time:`);
  for (const [k, v] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, 16)) console.log(`    ${((v / total) * 100).toFixed(1).padStart(5)} %  ${k}`);
  console.log(`    by module: ${[...byMod].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([k, v]) => `${k} ${((v / total) * 100).toFixed(0)} %`).join(', ')}`);
}

async function healthyIn(gw: GatewayProc, id: string): Promise<boolean> {
  const st = await gw.status().catch(() => undefined);
  return st?.peers.some((p) => p.id === id && p.healthy) ?? false;
}

const profDir = PROFILE ? await mkdtemp(join(tmpdir(), 'peerstor-idle-prof-')) : undefined;
const peerProf = profDir ? join(profDir, 'peer') : undefined;
const gwProf = profDir ? join(profDir, 'gateway') : undefined;
const t0 = performance.now();
console.log(`idle CPU: ${PEERS} peers (heartbeat 2 s) + gateway; load ${load()}`);
const cluster = await Cluster.start({ peers: 1, heartbeatMs: 2000 });
let gw: GatewayProc | undefined;
try {
  if (peerProf) {
    // profile the seed (the peer everyone bootstraps from): restart it under --cpu-prof
    await cluster.peers[0].stop();
    await rm(cluster.peers[0].dir, { recursive: true, force: true });
    cluster.peers.splice(0, 1);
    await cluster.add(1, { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', peerProf], bootstrap: [] });
  }
  await cluster.add(PEERS - 1);
  gw = await startGateway({
    networkKeyFile: cluster.networkKeyFile,
    bootstrap: cluster.bootstrap,
    user: { accessKey: 'idle', secretKey: 'idle-secret-key' },
    nodeArgs: gwProf ? ['--cpu-prof', '--cpu-prof-dir', gwProf] : undefined,
  });
  await gw.waitHealthyPeers(PEERS);
  console.log(`meshed in ${((performance.now() - t0) / 1000).toFixed(1)} s; settling ${SETTLE_S} s (load ${load()})`);
  await sleep(SETTLE_S * 1000);

  const pids = cluster.peers.map((p) => p.proc.pid!);
  const a = await Promise.all([...pids, gw.pid].map(cpuMs));
  const w0 = performance.now();
  await sleep(SECONDS * 1000);
  const b = await Promise.all([...pids, gw.pid].map(cpuMs));
  const wall = (performance.now() - w0) / 1000;
  const rates = b.map((v, i) => ((v ?? NaN) - (a[i] ?? NaN)) / wall);
  const peerRates = rates.slice(0, pids.length).sort((x, y) => x - y);
  const sum = peerRates.reduce((s, x) => s + x, 0);
  console.log(
    `idle over ${wall.toFixed(1)} s (load ${load()}): per peer min ${peerRates[0].toFixed(1)} / median ${peerRates[peerRates.length >> 1].toFixed(1)} / ` +
      `max ${peerRates[peerRates.length - 1].toFixed(1)} CPU ms/s; ${pids.length} peers together ${sum.toFixed(1)}; gateway ${rates[pids.length].toFixed(1)}`,
  );
  console.log(`  first peer (the seed, bootstrap of the others): ${rates[0].toFixed(1)} CPU ms/s`);

  if (profDir) {
    await cluster.peers[0].stop();
    await gw.stop();
    await summarise('peer 0 (seed)', peerProf!, SECONDS - 2, 1);
    await summarise('gateway', gwProf!, SECONDS - 2, 3);
  } else {
    for (let j = 0; j < JOINS; j++) {
      const s = performance.now();
      const [p] = await cluster.add(1);
      const ready = (performance.now() - s) / 1000;
      for (;;) {
        if (await healthyIn(gw, p.id)) break;
        if (performance.now() - s > 120_000) throw new Error('new peer not healthy at the gateway within 120 s');
        await sleep(50);
      }
      console.log(`join ${j + 1}: ready line ${ready.toFixed(2)} s after spawn, healthy in the gateway's status ${((performance.now() - s) / 1000).toFixed(2)} s after spawn (load ${load()})`);
      await sleep(3000);
    }
  }
} finally {
  await gw?.stop();
  await cluster.stop();
  if (profDir) await rm(profDir, { recursive: true, force: true });
}
