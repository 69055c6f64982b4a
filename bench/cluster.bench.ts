/**
 * The peer network end to end (issue 4, "Measure" bullets 1 and 2): a real `peerstor` gateway
 * process without -v (it stores no fragments; index in --state) bootstrapped to 16 storage-peer
 * processes (test/network/helpers/cluster.ts; disk volumes, every fragment fdatasync'd), driven
 * by the AWS SDK v3 from this process:
 *   1. PUT of BENCH_MIB (default 1024) MiB as a real client does it (lib-storage Upload, 16 MiB
 *      parts, 4 in flight) and a streamed GET whose SHA-256 is checked. Baselines in the same run:
 *      the same bytes written to a plain file + fsync, and read back + SHA-256.
 *   2. Degraded GETs with 10 / 20 / 30 / 50 % of the peers SIGKILLed, cumulative; of 16 that is
 *      round(p·16) = 2, 3, 5, 8 peers (12.5, 18.75, 31.25, 50 %). MiB/s as a fraction of the healthy
 *      GET. With 10+6 coding, 8 dead of 16 leaves every chunk 8 < 10 fragments: the right answer is
 *      a clean 503, and the figure is the time to that error.
 *   3. Only with BENCH_WIDE_PEERS=N (e.g. 24; a second cluster start costs minutes on a loaded
 *      machine): a fresh cluster of N peers, BENCH_WIDE_MIB (default 256) MiB put, half the peers
 *      SIGKILLed: chunks readable by the gateway's own count (/-/status) and by ranged GETs of
 *      1 MiB every 8 MiB, and what a whole-object GET does.
 * Every figure: MiB/s, and CPU ms/MiB of the gateway, of all peers together (/proc/<pid>/stat
 * utime+stime) and of this client (SDK, SigV4, SHA-256); "net" columns subtract the idle
 * background (heartbeats, DHT, upkeep) sampled for 5 s before the PUT, which dominates when a phase
 * runs slowly. The machine's load average is printed with each phase; the machine is shared, so
 * CPU ms/MiB is the steadier number.
 *
 * The gateway runs with --cache-size 0 so that every GET really reads fragments from the peers
 * (a 1 GiB sequential read would not hit a 256 MiB LRU anyway; a smaller BENCH_MIB would).
 * Its own upkeep (audit + repair every 30 s) is left on, as in production: the gateway's log lines
 * for repair passes and fragment-read warnings are counted per phase and printed with it.
 *
 *   node --import tsx bench/cluster.bench.ts
 *   BENCH_MIB=256 node --import tsx bench/cluster.bench.ts      quicker
 *   BENCH_WIDE_PEERS=24 node --import tsx bench/cluster.bench.ts   with the wide 50 % run
 *   BENCH_WIDE_PEERS=24 BENCH_WIDE_ONLY=1 …                      only the wide run
 *   BENCH_DEGRADED=0 …                                          PUT and healthy GET only (no kills)
 *   BENCH_NODE_ARGS="--perf-basic-prof" …     node flags for gateway and peers (default: bin/peerstor.js's)
 *   BENCH_READ_AHEAD=N …                                        the gateway's --read-ahead
 *   BENCH_GET_REPEAT=N …                                        N healthy GETs (one row each; CPU ms/MiB
 *      varies ±15 % run to run on this shared machine, so several rows say more than one)
 *   BENCH_PERF=DIR …   `perf record -g` of the gateway and of all peers during the healthy GETs,
 *      into DIR/gateway.data and DIR/peers.data; with BENCH_NODE_ARGS=--perf-basic-prof the JS
 *      frames get names (`perf report -i DIR/peers.data --no-children --sort sym`)
 *   BENCH_PROFILE=1 node --import tsx bench/cluster.bench.ts   instead: PUT only, gateway under
 *      --cpu-prof; prints where its CPU went during the PUT (self time by function and by module,
 *      main thread and worker threads apart)
 */
import { createHash } from 'node:crypto';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { CreateBucketCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { measure, randomBytesFast, report, type BenchTick, type Measurement } from './lib.js';
import { benchS3Client } from './s3-client.js';
import { Cluster } from '../test/network/helpers/cluster.js';
import { startGateway, type GatewayProc, type LogLine } from '../test/network/helpers/gateway-proc.js';

const MiB = 2 ** 20;
const totalMiB = Number(process.env.BENCH_MIB ?? 1024);
const SIZE = totalMiB * MiB;
const PEERS = 16;
const LOSSES = [0.1, 0.2, 0.3, 0.5];
const widePeers = Number(process.env.BENCH_WIDE_PEERS ?? 0);
const wideMiB = Number(process.env.BENCH_WIDE_MIB ?? 256);
const PROFILE = process.env.BENCH_PROFILE === '1';
const wideOnly = process.env.BENCH_WIDE_ONLY === '1';
const degraded = process.env.BENCH_DEGRADED !== '0';
const getRepeat = Math.max(1, Number(process.env.BENCH_GET_REPEAT ?? 1));
const perfDir = process.env.BENCH_PERF;
const PART = 16 * MiB;
const QUEUE = 4;
const USER = { accessKey: 'BENCHCLUSTERKEY', secretKey: 'bench-cluster-secret-0123456789' };
const BUCKET = 'bench';
const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);

const fromSources = import.meta.url.endsWith('.ts');
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** utime+stime in ms of one process, or of one thread with `tid`; undefined once it is gone */
async function cpuMs(pid: number, tid?: number): Promise<number | undefined> {
  try {
    const stat = await readFile(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

/** CPU ms of each thread of `pid` */
async function threadCpu(pid: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const t of await readdir(`/proc/${pid}/task`).catch(() => [] as string[])) {
    const ms = await cpuMs(pid, Number(t));
    if (ms !== undefined) out.set(Number(t), ms);
  }
  return out;
}

interface Snapshot {
  gw: number;
  gwThreads: Map<number, number>;
  peers: Map<number, number>;
}

async function snapshot(gw: GatewayProc, peerPids: number[]): Promise<Snapshot> {
  const peers = new Map<number, number>();
  for (const pid of peerPids) {
    const ms = await cpuMs(pid);
    if (ms !== undefined) peers.set(pid, ms);
  }
  return { gw: (await cpuMs(gw.pid)) ?? NaN, gwThreads: await threadCpu(gw.pid), peers };
}

/** CPU ms per wall second of the gateway and of all peers while nothing is transferred (heartbeats, DHT, upkeep) */
interface Idle {
  gw: number;
  peers: number;
}

/** Samples the background CPU rate over `ms`, so phases can report CPU net of it. */
async function idleRate(gw: GatewayProc, peerPids: number[], ms: number): Promise<Idle> {
  const a = await snapshot(gw, peerPids);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const b = await snapshot(gw, peerPids);
  const s = (performance.now() - t0) / 1000;
  let peers = 0;
  for (const [pid, v] of b.peers) peers += v - (a.peers.get(pid) ?? v);
  return { gw: (b.gw - a.gw) / s, peers: peers / s };
}

interface Phase {
  m: Measurement;
  gwMsPerMiB: number;
  peersMsPerMiB: number;
  /** the same, less the idle background over the phase's wall time */
  gwNetMsPerMiB: number;
  peersNetMsPerMiB: number;
  /** gateway main thread, and the busiest other threads (CPU ms/MiB each) */
  mainMsPerMiB: number;
  otherThreads: number[];
  load: string;
  logs: Record<string, number>;
  repairs: LogLine[];
}

/**
 * Gateway log lines worth counting per phase: repair passes (they move load and heal chunks under
 * a degraded read), fragment-read and put warnings, errors.
 */
function watchLogs(gw: GatewayProc): { take(): { counts: Record<string, number>; repairs: LogLine[] } } {
  let counts: Record<string, number> = {};
  let repairs: LogLine[] = [];
  gw.onLog((l) => {
    const msg = String(l.msg ?? '');
    // errors are rare and say why a request failed: shown as they come
    if ((l.level ?? 0) >= 50 || process.env.BENCH_LOG === '1') console.error(`gateway: ${JSON.stringify(l).slice(0, 2000)}`);
    if (msg === 'repair pass done') repairs.push(l);
    if ((l.level ?? 0) >= 40) counts[msg] = (counts[msg] ?? 0) + 1;
  });
  return {
    take() {
      const out = { counts, repairs };
      counts = {};
      repairs = [];
      return out;
    },
  };
}

async function phase(name: string, bytes: number, gw: GatewayProc, peerPids: number[], logs: ReturnType<typeof watchLogs>, idle: Idle, fn: (tick: BenchTick) => Promise<unknown>): Promise<Phase> {
  logs.take();
  const before = await snapshot(gw, peerPids);
  const m = await measure(name, bytes, fn, 1);
  const after = await snapshot(gw, peerPids);
  const mib = bytes / MiB;
  let peerMs = 0;
  for (const [pid, ms] of after.peers) peerMs += ms - (before.peers.get(pid) ?? ms);
  // a peer killed during the phase took its last figures with it; its share before the kill is lost
  const threads = [...after.gwThreads].map(([tid, ms]) => ({ tid, ms: ms - (before.gwThreads.get(tid) ?? 0) }));
  const main = threads.find((t) => t.tid === gw.pid)?.ms ?? NaN;
  const others = threads.filter((t) => t.tid !== gw.pid && t.ms > 0).sort((a, b) => b.ms - a.ms);
  const taken = logs.take();
  const wallS = m.wallMs / 1000;
  // idle background of the peers still alive at the end of the phase
  const peersIdle = (idle.peers * after.peers.size) / Math.max(1, peerPids.length);
  return {
    m,
    gwMsPerMiB: (after.gw - before.gw) / mib,
    peersMsPerMiB: peerMs / mib,
    gwNetMsPerMiB: (after.gw - before.gw - idle.gw * wallS) / mib,
    peersNetMsPerMiB: (peerMs - peersIdle * wallS) / mib,
    mainMsPerMiB: main / mib,
    otherThreads: others.slice(0, 6).map((t) => t.ms / mib),
    load: load(),
    logs: taken.counts,
    repairs: taken.repairs,
  };
}

// one attempt: a 503 or a broken stream must show in the figures, not be retried away
const client = (url: string): S3Client => benchS3Client(url, USER, { maxAttempts: 1 });

async function put(s3: S3Client, key: string, data: Buffer, tick?: BenchTick): Promise<void> {
  const up = new Upload({ client: s3, params: { Bucket: BUCKET, Key: key, Body: data }, partSize: PART, queueSize: QUEUE });
  let sent = 0;
  up.on('httpUploadProgress', (p) => {
    if (p.loaded === undefined || !tick) return;
    tick.add(Math.max(0, p.loaded - sent));
    sent = Math.max(sent, p.loaded);
  });
  await up.done();
}

interface GetResult {
  bytes: number;
  sha: string;
  /** set when the GET failed: HTTP status (0 = the stream broke after the headers) and error name */
  error?: { status: number; name: string; afterBytes: number; ms: number };
}

async function get(s3: S3Client, key: string, range?: string, tick?: BenchTick): Promise<GetResult> {
  const t0 = performance.now();
  const hash = createHash('sha256');
  let n = 0;
  try {
    const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: range }));
    for await (const c of r.Body as Readable) {
      hash.update(c as Buffer);
      n += (c as Buffer).length;
      tick?.add((c as Buffer).length);
    }
    return { bytes: n, sha: hash.digest('hex') };
  } catch (err) {
    const e = err as { $metadata?: { httpStatusCode?: number }; name?: string; code?: string };
    return { bytes: n, sha: '', error: { status: e.$metadata?.httpStatusCode ?? 0, name: e.name ?? e.code ?? String(err), afterBytes: n, ms: performance.now() - t0 } };
  }
}

function printPhases(rows: { label: string; p: Phase; extra?: string }[]): void {
  console.log(
    `${'phase'.padEnd(30)} ${'MiB/s'.padStart(6)} ${'wall s'.padStart(6)}  CPU ms/MiB: ${'gateway'.padStart(7)} ${'net'.padStart(6)} ${'(main'.padStart(6)} ${'others)'.padEnd(24)} ${'peers'.padStart(6)} ${'net'.padStart(6)} ${'client'.padStart(6)}  load`,
  );
  const f = (x: number, w = 6): string => x.toFixed(2).padStart(w);
  for (const { label, p, extra } of rows) {
    console.log(
      `${label.padEnd(30)} ${p.m.mibPerSec.toFixed(1).padStart(6)} ${(p.m.wallMs / 1000).toFixed(1).padStart(6)}              ` +
        `${f(p.gwMsPerMiB, 7)} ${f(p.gwNetMsPerMiB)} ${f(p.mainMsPerMiB)} ${p.otherThreads.map((x) => x.toFixed(2)).join(' ').padEnd(24)} ` +
        `${f(p.peersMsPerMiB)} ${f(p.peersNetMsPerMiB)} ${f(p.m.cpuMsPerMiB)}  ${p.load}${extra ? `  ${extra}` : ''}`,
    );
    const logs = Object.entries(p.logs).map(([k, v]) => `${v}× "${k}"`);
    const repairs = p.repairs.map((r) => `repair pass: ${String(r.chunks)} chunks, ${String(r.repaired)} repaired, ${String(r.fragmentsWritten)} fragments written, ${String(r.lost)} lost`);
    if (logs.length + repairs.length > 0) console.log(`    gateway log: ${[...repairs, ...logs].join('; ')}`);
  }
}

/** `perf record -g` of `pids` into `file` until the returned stop() (SIGINT; perf writes its file then). */
function perfRecord(file: string, pids: number[]): () => Promise<void> {
  const proc: ChildProcess = spawn('perf', ['record', '-g', '-F', '499', '-o', file, '-p', pids.join(',')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return async () => {
    proc.kill('SIGINT');
    await exited;
  };
}

/** Baselines on the same bytes in this process: plain file write + fsync, read back + SHA-256. */
async function baselines(dir: string, data: Buffer): Promise<{ write: Measurement; read: Measurement }> {
  const file = join(dir, 'plain');
  const write = await measure(`plain file write + fsync, ${totalMiB} MiB`, data.length, async () => {
    const fh = await open(file, 'w');
    for (let i = 0; i < data.length; i += PART) await fh.write(data.subarray(i, i + PART));
    await fh.sync();
    await fh.close();
  }, 1);
  const read = await measure(`plain file read + SHA-256`, data.length, async () => {
    const fh = await open(file, 'r');
    const h = createHash('sha256');
    const buf = Buffer.allocUnsafe(PART);
    for (let r; (r = await fh.read(buf, 0, PART)).bytesRead > 0; ) h.update(buf.subarray(0, r.bytesRead));
    await fh.close();
    h.digest();
  }, 1);
  await rm(file, { force: true });
  return { write, read };
}

/** Self time by function and by module from .cpuprofile files, within [t0, t1] (µs, CLOCK_MONOTONIC). */
async function summarizeProfiles(dir: string, gwPid: number, t0: number, t1: number): Promise<void> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${gwPid}.`));
  interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; }
  interface Profile { nodes: Node[]; startTime: number; samples: number[]; timeDeltas: number[] }
  const groups: { label: string; byFn: Map<string, number>; byModule: Map<string, number>; total: number }[] = [
    { label: 'main thread', byFn: new Map(), byModule: new Map(), total: 0 },
    { label: 'worker threads', byFn: new Map(), byModule: new Map(), total: 0 },
  ];
  const short = (url: string): string => {
    if (!url) return '(native / V8)';
    const u = url.replace(/^file:\/\//, '');
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
    if (nm) return `npm:${nm[1]}`;
    if (u.startsWith('node:')) return u.replace(/^node:internal\//, 'node:');
    const repo = u.indexOf('/main/');
    return repo >= 0 ? u.slice(repo + 6) : u;
  };
  let windowed = true;
  for (const f of files) {
    const p = JSON.parse(await readFile(join(dir, f), 'utf8')) as Profile;
    // Node names the main thread's profile CPU.<date>.<pid>.0.<seq>; workers carry their thread id
    const isMain = /\.\d+\.0\.\d+\.cpuprofile$/.test(f);
    const g = groups[isMain ? 0 : 1];
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    let t = p.startTime;
    const inWindow = p.samples.some((_, i) => (t += p.timeDeltas[i]) >= t0 && t <= t1);
    if (!inWindow) windowed = false;
    t = p.startTime;
    for (let i = 0; i < p.samples.length; i++) {
      const dt = p.timeDeltas[i];
      t += dt;
      if (inWindow && (t < t0 || t > t1)) continue;
      const n = byId.get(p.samples[i]);
      if (!n || n.callFrame.functionName === '(idle)') continue;
      const fn = `${n.callFrame.functionName || '(anonymous)'} ${short(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
      g.byFn.set(fn, (g.byFn.get(fn) ?? 0) + dt);
      const mod = short(n.callFrame.url);
      g.byModule.set(mod, (g.byModule.get(mod) ?? 0) + dt);
      g.total += dt;
    }
  }
  console.log(
    `gateway --cpu-prof, ${files.length} profiles, ${windowed ? 'samples within the PUT' : 'whole process life (the PUT window matched no samples)'}` +
      `${fromSources ? ' (under tsx: worker start-up compiles TypeScript, the esm/hooks and realm items; a build from dist/ has none)' : ''}:`,
  );
  for (const g of groups) {
    if (g.total === 0) continue;
    // sample weights are wall intervals (a descheduled thread keeps its last stack): shares, not CPU ms
    console.log(`  ${g.label}: ${(g.total / 1000).toFixed(0)} ms of non-idle samples; share of them by self time:`);
    for (const [k, v] of [...g.byFn].sort((a, b) => b[1] - a[1]).slice(0, 14)) console.log(`    ${((v / g.total) * 100).toFixed(1).padStart(5)} %  ${k}`);
    console.log(`    by module: ${[...g.byModule].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${((v / g.total) * 100).toFixed(0)} %`).join(', ')}`);
  }
}

/** The node flags in bin/peerstor.js's shebang (`#!/usr/bin/env -S node FLAGS`): what the product runs with. */
function launcherNodeArgs(): string {
  const bin = fileURLToPath(new URL(fromSources ? '../bin/peerstor.js' : '../../bin/peerstor.js', import.meta.url));
  return readFileSync(bin, 'utf8').split('\n', 1)[0].replace(/^#!.*?\bnode\b/, '').trim();
}

/**
 * BENCH_NODE_ARGS: node flags for the gateway and every peer. Default: the launcher's (read from
 * its shebang, so the processes measured are the ones users run); BENCH_NODE_ARGS="" measures
 * node's defaults.
 */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? launcherNodeArgs()).split(' ').filter((a) => a !== '');

async function withCluster<T>(peers: number, gwInit: { nodeArgs?: string[] }, fn: (c: Cluster, gw: GatewayProc, s3: S3Client, idle: Idle) => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const cluster = await Cluster.start({ peers, heartbeatMs: 2000, nodeArgs: NODE_ARGS });
  let gw: GatewayProc | undefined;
  let s3: S3Client | undefined;
  try {
    gw = await startGateway({
      networkKeyFile: cluster.networkKeyFile,
      bootstrap: cluster.bootstrap,
      user: USER,
      nodeArgs: [...NODE_ARGS, ...(gwInit.nodeArgs ?? [])],
      args: ['--cache-size', '0', ...(process.env.BENCH_READ_AHEAD ? ['--read-ahead', process.env.BENCH_READ_AHEAD] : [])],
    });
    await gw.waitHealthyPeers(peers);
    console.log(`${peers} peers and the gateway up and meshed in ${((performance.now() - t0) / 1000).toFixed(1)} s (load ${load()})`);
    s3 = client(gw.url);
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const idle = await idleRate(gw, cluster.peers.map((p) => p.proc.pid!), 5000);
    console.log(`idle background: gateway ${idle.gw.toFixed(1)} CPU ms/s, ${peers} peers together ${idle.peers.toFixed(1)} CPU ms/s ("net" columns subtract it)`);
    return await fn(cluster, gw, s3, idle);
  } finally {
    s3?.destroy();
    await gw?.stop();
    await cluster.stop();
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  console.log(`cluster bench: ${totalMiB} MiB, ${PEERS} peers, RS 10+6, load ${load()}`);
  const data = randomBytesFast(SIZE, 4242);
  const want = sha256(data);
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-bench-cluster-'));
  try {
    if (PROFILE) {
      const profDir = join(dir, 'prof');
      await withCluster(PEERS, { nodeArgs: ['--cpu-prof', '--cpu-prof-dir', profDir] }, async (cluster, gw, s3, idle) => {
        const logs = watchLogs(gw);
        const pids = cluster.peers.map((p) => p.proc.pid!);
        const t0 = Number(process.hrtime.bigint() / 1000n);
        const p = await phase(`PUT under --cpu-prof`, SIZE, gw, pids, logs, idle, (tick) => put(s3, 'big', data, tick));
        const t1 = Number(process.hrtime.bigint() / 1000n);
        printPhases([{ label: p.m.name, p }]);
        await gw.stop();
        await summarizeProfiles(profDir, gw.pid, t0, t1);
      });
      return;
    }

    if (!wideOnly) await mainRun(dir, data, want);
    if (widePeers > 0) await wideRun(data);
  } finally {
    await rm(dir, { recursive: true, force: true });
    console.log(`total bench time ${((performance.now() - started) / 1000).toFixed(0)} s, load ${load()}`);
  }
}

/** 16 peers: baselines, PUT, healthy GET, degraded GETs. */
async function mainRun(dir: string, data: Buffer, want: string): Promise<void> {
  const base = await baselines(dir, data);
  await withCluster(PEERS, {}, async (cluster, gw, s3, idle) => {
    const logs = watchLogs(gw);
    const pids = cluster.peers.map((p) => p.proc.pid!);
    const rows: { label: string; p: Phase; extra?: string }[] = [];
    const putP = await phase(`PUT ${totalMiB} MiB (Upload, ${PART / MiB} MiB × ${QUEUE})`, SIZE, gw, pids, logs, idle, (tick) => put(s3, 'big', data, tick));
    rows.push({ label: 'PUT', p: putP });
    const ok = (r: GetResult | undefined): string => (r?.error ? `FAILED ${r.error.status} ${r.error.name} after ${r.error.afterBytes} B` : r?.sha === want ? 'SHA-256 ok' : 'SHA-256 MISMATCH');
    const stopPerf = perfDir ? [perfRecord(join(perfDir, 'gateway.data'), [gw.pid]), perfRecord(join(perfDir, 'peers.data'), pids)] : [];
    // the first healthy GET is the baseline of the degraded ones
    let getP: Phase | undefined;
    for (let i = 1; i <= getRepeat; i++) {
      let healthy: GetResult | undefined;
      const p = await phase(`GET ${totalMiB} MiB, healthy${getRepeat > 1 ? ` #${i}` : ''}`, SIZE, gw, pids, logs, idle, async (tick) => {
        healthy = await get(s3, 'big', undefined, tick);
      });
      getP ??= p;
      rows.push({ label: `GET healthy${getRepeat > 1 ? ` #${i}` : ''}`, p, extra: ok(healthy) });
    }
    for (const stop of stopPerf) await stop();
    if (!getP) throw new Error('no healthy GET ran');
    report([base.write, putP.m], base.write);
    report([base.read, getP.m], base.read);

    let killed = 0;
    for (const loss of degraded ? LOSSES : []) {
      const target = Math.round(loss * PEERS);
      const victims = cluster.peers.slice(PEERS - target, PEERS - killed);
      await Promise.all(victims.map((v) => v.kill('SIGKILL')));
      killed = target;
      const before = await gw.status();
      let r: GetResult | undefined;
      const p = await phase(`GET, ${killed} of ${PEERS} peers killed`, SIZE, gw, pids, logs, idle, async (tick) => {
        r = await get(s3, 'big', undefined, tick);
      });
      const chunks = `status before: ${before.chunks.healthy}/${before.chunks.degraded}/${before.chunks.lost} healthy/degraded/lost of ${before.chunks.total}`;
      if (r?.error) {
        rows.push({ label: `GET ${killed}/${PEERS} killed (${(loss * 100).toFixed(0)} %)`, p, extra: `${ok(r)} in ${(r.error.ms / 1000).toFixed(2)} s; ${chunks}` });
      } else {
        const frac = p.m.mibPerSec / getP.m.mibPerSec;
        rows.push({ label: `GET ${killed}/${PEERS} killed (${(loss * 100).toFixed(0)} %)`, p, extra: `${(frac * 100).toFixed(0)} % of healthy; ${ok(r)}; ${chunks}` });
      }
    }
    console.log(`\nper phase (client = this process: SDK, SigV4, SHA-256; "others" = the gateway's busiest non-main threads):`);
    printPhases(rows);
  });
}

/** BENCH_WIDE_PEERS peers, half of them killed: what stays readable when chunks spread. */
async function wideRun(data: Buffer): Promise<void> {
  const size = Math.min(SIZE, wideMiB * MiB);
  const wide = data.subarray(0, size);
  const wantWide = sha256(wide);
  console.log(`\nwide: ${widePeers} peers, ${size / MiB} MiB, then ${widePeers / 2} killed`);
  await withCluster(widePeers, {}, async (cluster, gw, s3, idle) => {
    const logs = watchLogs(gw);
    const pids = cluster.peers.map((p) => p.proc.pid!);
    const putP = await phase(`PUT ${size / MiB} MiB`, size, gw, pids, logs, idle, (tick) => put(s3, 'wide', wide, tick));
    let r: GetResult | undefined;
    const getP = await phase(`GET healthy`, size, gw, pids, logs, idle, async (tick) => {
      r = await get(s3, 'wide', undefined, tick);
    });
    const killedN = Math.floor(widePeers / 2);
    // where placement put the fragments: files per peer volume, the ones about to die last
    const perPeer = await Promise.all(
      cluster.peers.map(async (p) => (await readdir(join(p.dir, 'fragments'), { recursive: true, withFileTypes: true }).catch(() => [])).filter((d) => d.isFile()).length),
    );
    const dying = perPeer.slice(widePeers - killedN).reduce((a, b) => a + b, 0);
    console.log(`  fragments per peer: ${perPeer.join(' ')}; the ${killedN} to be killed hold ${dying} of ${perPeer.reduce((a, b) => a + b, 0)}`);
    await Promise.all(cluster.peers.slice(widePeers - killedN).map((p) => p.kill('SIGKILL')));
    // the gateway's own count, once it has noticed every dead peer (missed heartbeats)
    const t0 = performance.now();
    let st = await gw.status();
    while (st.peers.filter((p) => p.healthy).length > widePeers - killedN && performance.now() - t0 < 60_000) {
      await new Promise((res) => setTimeout(res, 500));
      st = await gw.status();
    }
    const noticedS = (performance.now() - t0) / 1000;
    let whole: GetResult | undefined;
    const wholeP = await phase(`GET whole object, ${killedN} killed`, size, gw, pids, logs, idle, async (tick) => {
      whole = await get(s3, 'wide', undefined, tick);
    });
    const STEP = 8 * MiB;
    let readable = 0;
    let probes = 0;
    const t1 = performance.now();
    for (let off = 0; off < size; off += STEP, probes++) {
      const g = await get(s3, 'wide', `bytes=${off}-${Math.min(size, off + MiB) - 1}`);
      if (!g.error && g.sha === sha256(wide.subarray(off, Math.min(size, off + MiB)))) readable++;
    }
    const probeS = (performance.now() - t1) / 1000;
    printPhases([
      { label: 'PUT', p: putP },
      { label: 'GET healthy', p: getP, extra: r?.sha === wantWide ? 'SHA-256 ok' : `FAILED ${JSON.stringify(r?.error)}` },
      {
        label: `GET ${killedN}/${widePeers} killed (50 %)`,
        p: wholeP,
        extra: whole?.error ? `error ${whole.error.status} ${whole.error.name} after ${whole.error.afterBytes} B in ${(whole.error.ms / 1000).toFixed(2)} s` : whole?.sha === wantWide ? 'SHA-256 ok (every chunk readable)' : 'SHA-256 MISMATCH',
      },
    ]);
    const c = st.chunks;
    console.log(
      `  gateway noticed the ${killedN} dead peers in ${noticedS.toFixed(1)} s; /-/status chunks: ${c.healthy} healthy, ${c.degraded} degraded, ${c.lost} lost of ${c.total} ` +
        `→ readable ${(((c.healthy + c.degraded) / Math.max(1, c.total)) * 100).toFixed(0)} %; ranged GETs of 1 MiB every 8 MiB: ${readable}/${probes} right bytes (${probeS.toFixed(1)} s)`,
    );
  });
}

await main();
