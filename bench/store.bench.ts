/**
 * The whole store on the embedded default (no network): put and get of a 1 GiB object through
 * PeerStore on a disk volume in a temp dir (fragments fsync'd, 10+6, 4 MiB average chunks), against
 * writing (with fsync) and reading the same bytes as a plain file in the same run.
 * Targets (issue 2): put ≥ 400 MiB/s, get ≥ 800 MiB/s.
 * A second pair of lines runs the same store over an in-memory fragment store: the pipeline's own
 * speed (chunking, MD5, codec, index), without the disk's per-fragment fsync cost.
 * Gets run twice: the first right after the put, the second in a process whose heaps are grown
 * (the object is larger than the chunk cache, so the second get reads every fragment again).
 *   node --import tsx bench/store.bench.ts            (BENCH_GIB=1 by default)
 *   BENCH_RSS_GIB=4 node --import tsx bench/store.bench.ts   instead: max RSS sampled every 100 ms
 *                                                            during a 4 GiB put (target ≤ 300 MiB)
 */
import { open, mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mainThreadCpuNs, measure, randomBytesFast, report, type Measurement } from './lib.js';
import { silentLogger } from '../backend/core/logger.js';
import { DiskFragmentStore } from '../backend/fragments/disk-fragment-store.js';
import { MemoryFragmentStore } from '../backend/fragments/memory-fragment-store.js';
import { LocalPlacement } from '../backend/store/local-placement.js';
import { PeerStore } from '../backend/store/peer-store.js';
import { chunkBuffers } from '../backend/store/cpu-pool.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const PIECE = MiB;
const size = Number(process.env.BENCH_GIB ?? 1) * GiB;
const rssGiB = Number(process.env.BENCH_RSS_GIB ?? 0);

const mainMs = new Map<string, number>();
/** measure() once, also recording the main thread's CPU ms per MiB */
async function timed(name: string, bytes: number, fn: () => unknown | Promise<unknown>): Promise<Measurement> {
  const t0 = mainThreadCpuNs();
  const m = await measure(name, bytes, fn, 1);
  mainMs.set(name, (mainThreadCpuNs() - t0) / 1e6 / (bytes / MiB));
  return m;
}
function show(results: Measurement[], baseline: Measurement): void {
  report(results, baseline);
  for (const r of results) {
    const ms = mainMs.get(r.name);
    if (ms !== undefined && Number.isFinite(ms)) console.log(`  ${r.name.padEnd(42)} main thread ${ms.toFixed(2).padStart(6)} CPU ms/MiB`);
  }
}

const dir = await mkdtemp(join(tmpdir(), 'peerstor-bench-store-'));
const logger = silentLogger();
const fragments = await DiskFragmentStore.open({ volumes: [{ path: join(dir, 'vol'), mode: 'rw' }], logger });
/** an env override, else undefined: PeerStore's own default (what the product runs with) */
const envNumber = (name: string): number | undefined => (process.env[name] === undefined ? undefined : Number(process.env[name]));
const stores = await PeerStore.open(
  { stateDir: join(dir, 'state'), kdfIterations: 1000, maxConcurrentChunks: envNumber('BENCH_CHUNKS_IN_FLIGHT'), readAhead: envNumber('BENCH_READ_AHEAD') },
  { logger, placement: new LocalPlacement({ store: fragments, logger }) },
);
const store = await stores.open({ accessKey: 'bench', secretKey: 'bench-secret' });
await store.createBucket('bench');

async function throughput(): Promise<void> {
  const data = randomBytesFast(size, 2024);
  const pieces = async function* (): AsyncGenerator<Buffer> {
    for (let i = 0; i < data.length; i += PIECE) yield data.subarray(i, i + PIECE);
  };

  const fileWrite = await measure('plain file write + fsync', size, async () => {
    const fh = await open(join(dir, 'plain'), 'w');
    for await (const p of pieces()) await fh.write(p);
    await fh.sync();
    await fh.close();
  }, 1);
  const put = await timed('store put (chunk, seal, RS 10+6, fsync)', size, () => store.putObject('bench', 'big', pieces()));
  const fileRead = await measure('plain file read', size, async () => {
    const fh = await open(join(dir, 'plain'), 'r');
    const buf = Buffer.allocUnsafe(PIECE);
    while ((await fh.read(buf, 0, PIECE)).bytesRead > 0);
    await fh.close();
  }, 1);
  const getAll = async (): Promise<void> => {
    let n = 0;
    for await (const c of (await store.getObject('bench', 'big')).body) n += (c as Buffer).length;
    if (n !== size) throw new Error(`short read: ${n}`);
  };
  const get = await timed('store get', size, getAll);
  // The first get after the put also pays for growing the process's heaps (fresh pages for every
  // plaintext chunk: ~0.5 CPU ms/MiB); a gateway that has served a while reads like the second.
  const again = await timed('store get, again (warm process)', size, getAll);
  show([fileWrite, put], fileWrite);
  show([fileRead, get, again], fileRead);

  {
    const memFragments = new MemoryFragmentStore();
    const memStores = await PeerStore.open(
      { stateDir: join(dir, 'state-mem'), kdfIterations: 1000 },
      { logger, placement: new LocalPlacement({ store: memFragments, logger }) },
    );
    const mem = await memStores.open({ accessKey: 'bench', secretKey: 'bench-secret' });
    await mem.createBucket('bench');
    const memPut = await timed('store put, memory fragments', size, () => mem.putObject('bench', 'big', pieces()));
    const memGet = await timed('store get, memory fragments', size, async () => {
      for await (const c of (await mem.getObject('bench', 'big')).body) void c;
    });
    show([fileWrite, memPut], fileWrite);
    show([fileRead, memGet], fileRead);
    await memStores.close();
    await memFragments.close();
  }

}

async function rss(): Promise<void> {
  {
    const total = rssGiB * GiB;
    // generated on the fly (the source must not hold the object either), in fresh 64 KiB pieces
    // as a socket delivers a request body (BENCH_RSS_PIECE_KIB to change)
    const piece = Number(process.env.BENCH_RSS_PIECE_KIB ?? 64) * 1024;
    const source = async function* (): AsyncGenerator<Buffer> {
      for (let i = 0; i < total / piece; i++) yield randomBytesFast(piece, 7 + i);
    };
    const statusRss = async (): Promise<number> => {
      const m = /VmRSS:\s+(\d+) kB/.exec(await readFile('/proc/self/status', 'utf8'));
      return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
    };
    let maxRss = 0;
    let atMax = process.memoryUsage();
    /** chunk pool buffers handed out and not given back (in flight, or being cut) at the max */
    const poolOut = (): number => chunkBuffers.stats.allocated - chunkBuffers.stats.dropped - chunkBuffers.idleBytes;
    let poolAtMax = { out: 0, idle: 0 };
    const trace = process.env.BENCH_RSS_TRACE !== undefined;
    let lastTrace = 0;
    let breakdown = '';
    let lastBreakdown = 0;
    const before = await statusRss();
    const beforeBreakdown = await rssBreakdown();
    const timer = setInterval(
      () =>
        void statusRss().then((r) => {
          if (trace && Date.now() - lastTrace > 2000) {
            lastTrace = Date.now();
            console.log(`  RSS ${(r / MiB).toFixed(0)} MiB, chunk pool out ${(poolOut() / MiB).toFixed(0)} idle ${(chunkBuffers.idleBytes / MiB).toFixed(0)}`);
          }
          if (r > maxRss) {
            maxRss = r;
            atMax = process.memoryUsage();
            poolAtMax = { out: poolOut(), idle: chunkBuffers.idleBytes };
            // smaps is slow to read: at most once a second, near a new maximum
            if (Date.now() - lastBreakdown > 1000) {
              lastBreakdown = Date.now();
              void rssBreakdown().then((b) => (breakdown = b));
            }
          }
        }),
      100,
    );
    const big = await measure(`store put ${rssGiB} GiB (RSS sampled)`, total, () => store.putObject('bench', 'rss', source()), 1);
    clearInterval(timer);
    report([big]);
    const mib = (n: number): string => `${(n / MiB).toFixed(0)} MiB`;
    console.log(`max RSS during the ${rssGiB} GiB put: ${mib(maxRss)} (target ≤ 300 MiB); before the put ${mib(before)}`);
    console.log(`  before the put, resident by mapping: ${beforeBreakdown}`);
    console.log(`  near the max, resident by mapping: ${breakdown}`);
    const pool = chunkBuffers.stats;
    console.log(`  main-thread chunk buffer pool: ${mib(pool.allocated)} allocated, ${mib(pool.reused)} reused, ${mib(pool.dropped)} dropped, ${mib(chunkBuffers.idleBytes)} idle at the end`);
    console.log(`  at the max: chunk pool ${mib(poolAtMax.out)} handed out, ${mib(poolAtMax.idle)} idle`);
    console.log(`  at the max: JS heap ${mib(atMax.heapUsed)} of ${mib(atMax.heapTotal)}, external ${mib(atMax.external)}, array buffers ${mib(atMax.arrayBuffers)}`);
  }
}

/**
 * Resident memory by kind of mapping (Linux /proc/self/smaps): glibc's main heap, its per-thread
 * arenas (64 MiB reservations), large anonymous mappings (mmap'd buffers, V8 spaces), files.
 */
async function rssBreakdown(): Promise<string> {
  let text: string;
  try {
    text = await readFile('/proc/self/smaps', 'utf8');
  } catch {
    return 'n/a';
  }
  const kinds = new Map<string, number>();
  let kind = '';
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const start = parseInt(head[1], 16);
      const name = head[3];
      if (name === '[heap]') kind = 'glibc main heap';
      else if (name.startsWith('[')) kind = 'stacks etc.';
      else if (name !== '') kind = 'files';
      // glibc maps each thread arena as a 64 MiB-aligned reservation
      else if (start % (64 * MiB) === 0) kind = 'thread arenas';
      else kind = 'other anonymous (mmap\'d buffers, V8 heaps)';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) kinds.set(kind, (kinds.get(kind) ?? 0) + Number(rss[1]) * 1024);
  }
  return [...kinds].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / MiB).toFixed(0)}`).join(', ') + ' MiB';
}

try {
  if (rssGiB > 0) await rss();
  else await throughput();
} finally {
  await stores.close();
  await fragments.close();
  await rm(dir, { recursive: true, force: true });
}
