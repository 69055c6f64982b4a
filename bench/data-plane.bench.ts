/**
 * Fragment GETs over the data plane, as the gateway does them, without the rest of the cluster:
 * BENCH_PEERS (16) peer processes running only the data plane over a disk store
 * (bench/data-plane-peer.ts: no control plane, so no heartbeat or DHT work in the figures), and
 * this process as the gateway's RemoteFragmentStore. Chunks of 10 fragments of BENCH_FRAG_KIB
 * (410, what 4 MiB chunks give with 10+6 coding) are put on 10 distinct peers; then every chunk
 * is read back BENCH_ROUNDS (3) times, BENCH_LANES (4, the gateway's read-ahead) chunks at a time,
 * each chunk's 10 fragments in parallel, with `callerVerifies`, a per-fragment timeout signal and
 * recycled fragment memory (FragmentOpOptions.allocate) like backend/store/chunk-io.ts; a sample
 * of the bytes is hashed afterwards (not timed) to check them.
 * Baseline in the same run: the same fragments read in this process from one local
 * DiskFragmentStore (no network). Figures: MiB/s of fragment bytes and CPU ms per MiB of this
 * process (client) and of all peers together (/proc), and peer CPU µs per request.
 *
 *   npx tsc -p tsconfig.json --outDir dist-x && node dist-x/bench/data-plane.bench.js
 *   BENCH_MIB=256 (fragment bytes stored, default 256)  BENCH_PERF=FILE (perf record -g of the
 *   peers during the network GETs; with BENCH_NODE_ARGS=--perf-basic-prof JS frames get names)
 *   BENCH_PERF_CLIENT=FILE (the same of this process; run it with node --perf-basic-prof)
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BufferPool } from '../backend/core/buffer-pool.js';
import { silentLogger } from '../backend/core/logger.js';
import { DiskFragmentStore } from '../backend/fragments/disk-fragment-store.js';
import { RemoteFragmentStore } from '../backend/network/remote-fragment-store.js';
import { measure, randomBytesFast, report, type Measurement } from './lib.js';

const MiB = 2 ** 20;
const PEERS = Number(process.env.BENCH_PEERS ?? 16);
const FRAG = Number(process.env.BENCH_FRAG_KIB ?? 410) * 1024;
const K = 10;
const totalMiB = Number(process.env.BENCH_MIB ?? 256);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LANES = Number(process.env.BENCH_LANES ?? 4);
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);
const fromSources = import.meta.url.endsWith('.ts');
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(' ');

/** fragment memory as backend/store/chunk-io.ts has it: taken per read, given back after the decode */
const fragmentBuffers = new BufferPool({ granule: 64 * 1024, maxIdleBytes: 48 * 2 ** 20 });
const allocate = (length: number): Buffer => fragmentBuffers.take(length);

async function cpuMs(pids: number[]): Promise<number> {
  let sum = 0;
  for (const pid of pids) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    sum += (Number(f[11]) + Number(f[12])) * TICK_MS;
  }
  return sum;
}

interface Peer {
  proc: ChildProcess;
  address: string;
  peerId: string;
}

async function startPeer(dir: string, keyHex: string): Promise<Peer> {
  const script = fileURLToPath(new URL(`./data-plane-peer.${fromSources ? 'ts' : 'js'}`, import.meta.url));
  const proc = spawn(process.execPath, [...NODE_ARGS, ...(fromSources ? ['--import', 'tsx'] : []), script, dir, keyHex], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`peer exited with ${code}`)));
  });
  return { proc, ...(JSON.parse(line) as { address: string; peerId: string }) };
}

/** `perf record -g` of `pids` into `file` until the returned stop() (SIGINT; perf writes its file then). */
function perfRecord(file: string, pids: number[]): () => Promise<void> {
  const perf = spawn('perf', ['record', '-g', '-F', '999', '-o', file, '-p', pids.join(',')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => perf.once('exit', () => resolve()));
  return async () => {
    perf.kill('SIGINT');
    await exited;
  };
}

async function main(): Promise<void> {
  console.log(`data-plane GET bench: ${PEERS} peers, ${FRAG / 1024} KiB fragments, ${totalMiB} MiB × ${ROUNDS} rounds, ${LANES} chunks of ${K} in flight; load ${load()}`);
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-bench-dp-'));
  const key = randomBytes(32);
  const peers: Peer[] = [];
  const remotes: RemoteFragmentStore[] = [];
  try {
    for (let i = 0; i < PEERS; i++) peers.push(await startPeer(join(dir, `peer-${i}`), key.toString('hex')));
    for (const p of peers) remotes.push(new RemoteFragmentStore({ address: p.address, peerId: p.peerId, networkKey: key }));
    const local = await DiskFragmentStore.open({ volumes: [{ path: join(dir, 'local'), mode: 'rw' }], logger: silentLogger() });
    // chunks of K distinct fragments on K distinct peers (rotating), also on the local store
    const chunks: { id: string; peer: number }[][] = [];
    const count = Math.ceil((totalMiB * MiB) / FRAG / K);
    const base = randomBytesFast(FRAG, 11);
    for (let c = 0; c < count; c++) {
      const chunk: { id: string; peer: number }[] = [];
      await Promise.all(
        Array.from({ length: K }, async (_, j) => {
          const data = Buffer.from(base);
          data.writeUInt32LE(c, 0);
          data.writeUInt32LE(j, 4);
          const id = createHash('sha256').update(data).digest('hex');
          const peer = (c + j) % PEERS;
          chunk.push({ id, peer });
          await remotes[peer].put(id, data);
          await local.put(id, data, { idVerified: true });
        }),
      );
      chunks.push(chunk);
    }
    const bytes = count * K * FRAG * ROUNDS;
    const pids = peers.map((p) => p.proc.pid!);

    /** reads every chunk ROUNDS times, LANES at a time; get() of one fragment */
    const readAll = async (get: (f: { id: string; peer: number }, signal: AbortSignal) => Promise<Buffer>): Promise<Buffer[]> => {
      const sample: Buffer[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        let next = 0;
        const lane = async (): Promise<void> => {
          while (next < chunks.length) {
            const chunk = chunks[next++];
            // as chunk-io does: a timeout per fragment joined with the read's own cancel signal
            const done = new AbortController();
            const bufs = await Promise.all(chunk.map((f) => get(f, AbortSignal.any([AbortSignal.timeout(30_000), done.signal]))));
            done.abort();
            if (sample.length < K) sample.push(...bufs);
            // the decode's recycling: the memory goes back for the next chunk's fragments
            else for (const b of bufs) if (fragmentBuffers.owns(b)) fragmentBuffers.give(b.buffer);
          }
        };
        await Promise.all(Array.from({ length: LANES }, lane));
      }
      return sample;
    };
    const check = (sample: Buffer[]): void => {
      const want = new Set(chunks.flat().map((f) => f.id));
      for (const b of sample) if (!want.has(createHash('sha256').update(b).digest('hex'))) throw new Error('a fragment came back with the wrong bytes');
    };

    let sample: Buffer[] = [];
    const baseline = await measure(`local DiskFragmentStore get, ${K}×${LANES} in flight`, bytes, async () => {
      sample = await readAll((f, signal) => local.get(f.id, { signal, callerVerifies: true, allocate }));
    }, 1);
    check(sample);
    // one warm-up round through every session (TLS handshakes, JIT) before the measured one
    await readAll((f, signal) => remotes[f.peer].get(f.id, { signal, callerVerifies: true, allocate }));
    const stopPerf: (() => Promise<void>)[] = [];
    if (process.env.BENCH_PERF) stopPerf.push(perfRecord(process.env.BENCH_PERF, pids));
    if (process.env.BENCH_PERF_CLIENT) stopPerf.push(perfRecord(process.env.BENCH_PERF_CLIENT, [process.pid]));
    const peers0 = await cpuMs(pids);
    let net: Measurement | undefined;
    try {
      net = await measure(`HTTP/2 + TLS GET from ${PEERS} peer processes`, bytes, async () => {
        sample = await readAll((f, signal) => remotes[f.peer].get(f.id, { signal, callerVerifies: true, allocate }));
      }, 1);
    } finally {
      for (const stop of stopPerf) await stop();
    }
    const peersMs = (await cpuMs(pids)) - peers0;
    check(sample);
    report([baseline, net], baseline);
    const requests = count * K * ROUNDS;
    console.log(
      `  peers together: ${(peersMs / (bytes / MiB)).toFixed(2)} CPU ms/MiB, ${((peersMs * 1000) / requests).toFixed(0)} µs per fragment GET; ` +
        `client: ${net.cpuMsPerMiB.toFixed(2)} CPU ms/MiB, ${((net.cpuMs * 1000) / requests).toFixed(0)} µs per fragment GET; ${requests} GETs; load ${load()}`,
    );
    await local.close();
  } finally {
    await Promise.all(remotes.map((r) => r.close()));
    await Promise.all(
      peers.map(
        (p) =>
          new Promise<void>((resolve) => {
            p.proc.once('exit', () => resolve());
            p.proc.kill('SIGTERM');
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
