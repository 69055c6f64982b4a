/**
 * The peer network (issue 4):
 * 1. DHT, quick look: lookup latency and peers queried per lookup for 16 / 50 in-process
 *    control-plane nodes, and the time for a new node to know min(n, 20) peers. The reference DHT
 *    figures (100 nodes, rounds, success against the true XOR closest, join time) come from
 *    bench/dht.bench.ts, which spreads the nodes over processes so that both cores work and no
 *    single event loop starves; sizes above 50 are left to it.
 * 2. Data plane: fan-out of BENCH_MIB (default 1024) MiB of 0.4 MiB fragments to 16 peer processes
 *    (disk stores, fsync), HTTP/2+TLS 1.3 (RemoteFragmentStore) vs plain HTTP/1.1 keep-alive in the
 *    same run. MiB/s; CPU ms/MiB of the sender and of all 16 peers together (from /proc).
 *   node --import tsx bench/network.bench.ts            BENCH_NET_DHT_SIZES=16,50 BENCH_MIB=1024
 */
import './../backend/network/polyfills.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { createHash, randomBytes } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { measure, randomBytesFast, report, type Measurement } from './lib.js';
import { silentLogger } from '../backend/core/logger.js';
import { identityFromKey } from '../backend/network/identity.js';
import { ControlPlane } from '../backend/network/control-plane.js';
import { RemoteFragmentStore } from '../backend/network/remote-fragment-store.js';
import { Cluster } from '../test/network/helpers/cluster.js';

const MiB = 2 ** 20;
// its own variable: BENCH_DHT_SIZES (100 by default) belongs to bench/dht.bench.ts
const sizes = (process.env.BENCH_NET_DHT_SIZES ?? '16,50').split(',').map(Number).filter((n) => n > 0 && n <= 50);
const totalMiB = Number(process.env.BENCH_MIB ?? 1024);
const FRAG = Math.round(0.4 * MiB);

const keep = setInterval(() => undefined, 1000);
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

async function dhtBench(n: number): Promise<void> {
  const networkKey = randomBytes(32);
  const nodes: ControlPlane[] = [];
  const startNode = async (bootstrap: string[]): Promise<ControlPlane> =>
    ControlPlane.start({
      identity: await identityFromKey(await generateKeyPair('Ed25519')),
      networkKey,
      dhtPort: 0,
      bootstrap,
      heartbeatMs: 60_000,
      logger: silentLogger(),
      announce: async () => ({ role: 'peer', dataAddress: '127.0.0.1:1', host: 'bench', capacity: 1, free: 1 }),
    });
  nodes.push(await startNode([]));
  for (let i = 1; i < n; i += 10) {
    const batch = Array.from({ length: Math.min(10, n - i) }, (_, j) => nodes[(i + j) % Math.max(1, Math.min(i, 8))].multiaddrs()[0]);
    nodes.push(...(await Promise.all(batch.map((b) => startNode([b])))));
  }
  await new Promise((r) => setTimeout(r, 3000));
  const lat: number[] = [];
  const queried: number[] = [];
  let found = 0;
  for (let i = 0; i < 30; i++) {
    const from = nodes[(i * 7) % nodes.length];
    const t0 = performance.now();
    const r = await from.closest(randomBytes(32), { dhtOnly: true });
    lat.push(performance.now() - t0);
    queried.push(r.queried);
    found += r.peers.length;
  }
  const t0 = performance.now();
  const fresh = await startNode([nodes[n - 1].multiaddrs()[0]]);
  const want = Math.min(n, 20);
  while (fresh.members().length < want && performance.now() - t0 < 60_000) await new Promise((r) => setTimeout(r, 20));
  const usableMs = performance.now() - t0;
  const probe = await fresh.closest(randomBytes(32), { dhtOnly: true });
  console.log(
    `DHT ${String(n).padStart(3)} nodes: lookup median ${pct(lat, 0.5).toFixed(1)} ms, p95 ${pct(lat, 0.95).toFixed(1)} ms, ` +
      `peers queried mean ${(queried.reduce((a, b) => a + b, 0) / queried.length).toFixed(1)}, closest found mean ${(found / 30).toFixed(1)}; ` +
      `new node usable in ${usableMs.toFixed(0)} ms (knows ${fresh.members().length} peers, lookup found ${probe.peers.length})`,
  );
  await Promise.all([fresh, ...nodes].map((x) => x.stop()));
}

function procCpuMs(pids: number[]): Promise<number> {
  return Promise.all(
    pids.map(async (pid) => {
      try {
        const f = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
        return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
      } catch {
        return 0;
      }
    }),
  ).then((xs) => xs.reduce((a, b) => a + b, 0));
}

async function fanOut(name: string, put: (peer: number, id: string, data: Buffer) => Promise<void>, peers: number, pids: number[]): Promise<Measurement & { peerCpuMsPerMiB: number }> {
  // distinct fragments so no put is a no-op; a pool of buffers reused with a counter in front
  const count = Math.ceil((totalMiB * MiB) / FRAG);
  const base = randomBytesFast(FRAG, 7);
  const cpu0 = await procCpuMs(pids);
  const m = await measure(
    name,
    count * FRAG,
    async () => {
      let next = 0;
      const salt = randomBytes(8);
      const lane = async (): Promise<void> => {
        while (next < count) {
          const i = next++;
          const data = Buffer.from(base);
          salt.copy(data, 0);
          data.writeUInt32LE(i, 8);
          const id = createHash('sha256').update(data).digest('hex');
          await put(i % peers, id, data);
        }
      };
      await Promise.all(Array.from({ length: peers * 4 }, lane));
    },
    1,
  );
  const peerCpu = (await procCpuMs(pids)) - cpu0;
  return { ...m, peerCpuMsPerMiB: peerCpu / (m.bytes / MiB) };
}

async function dataPlaneBench(): Promise<void> {
  const PEERS = 16;
  const cluster = await Cluster.start({ peers: PEERS, heartbeatMs: 5000 });
  const networkKey = Buffer.from((await readFile(cluster.networkKeyFile, 'utf8')).split('\n')[2], 'hex');
  const remotes = cluster.peers.map((p) => new RemoteFragmentStore({ address: p.info.dataAddress, peerId: p.id, networkKey }));
  const h1dir = await mkdtemp(join(tmpdir(), 'peerstor-bench-h1-'));
  const h1: { proc: ChildProcess; port: number }[] = [];
  for (let i = 0; i < PEERS; i++) {
    const proc = spawn(process.execPath, ['--import', 'tsx', new URL('./network-h1-peer.ts', import.meta.url).pathname, join(h1dir, String(i))], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve) => createInterface({ input: proc.stdout! }).once('line', resolve));
    h1.push({ proc, port: (JSON.parse(line) as { port: number }).port });
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const h1put = (peer: number, id: string, data: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: h1[peer].port, method: 'PUT', path: `/f/${id}`, agent, headers: { 'content-length': data.length } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 204 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(data);
    });
  try {
    const base = await fanOut(`HTTP/1.1 plain, ${totalMiB} MiB → 16 peers`, h1put, PEERS, h1.map((x) => x.proc.pid!));
    const h2 = await fanOut(`HTTP/2 + TLS 1.3, ${totalMiB} MiB → 16 peers`, (p, id, d) => remotes[p].put(id, d), PEERS, cluster.peers.map((p) => p.proc.pid!));
    report([base, h2], base);
    for (const m of [base, h2]) console.log(`  ${m.name}: peers' CPU ${m.peerCpuMsPerMiB.toFixed(2)} ms/MiB (16 processes together)`);
  } finally {
    agent.destroy();
    await Promise.all(remotes.map((r) => r.close()));
    for (const x of h1) x.proc.kill('SIGTERM');
    await cluster.stop();
    await rm(h1dir, { recursive: true, force: true });
  }
}

try {
  for (const n of sizes) await dhtBench(n);
  if (totalMiB > 0) await dataPlaneBench();
} finally {
  clearInterval(keep);
}
