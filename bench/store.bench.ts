/**
 * The whole store on the embedded default (no network): put and get of a 1 GiB object through
 * PeerStore on a disk volume in a temp dir (fragments fsync'd, 10+6, 4 MiB average chunks), against
 * writing (with fsync) and reading the same bytes as a plain file in the same run.
 * Targets (issue 2): put ≥ 400 MiB/s, get ≥ 800 MiB/s.
 * A second pair of lines runs the same store over an in-memory fragment store: the pipeline's own
 * speed (chunking, MD5, codec, index), without the disk's per-fragment fsync cost.
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
const stores = await PeerStore.open({ stateDir: join(dir, 'state'), kdfIterations: 1000, maxConcurrentChunks: Number(process.env.BENCH_CHUNKS_IN_FLIGHT ?? 4) }, { logger, placement: new LocalPlacement({ store: fragments, logger }) });
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
  const get = await timed('store get', size, async () => {
    let n = 0;
    for await (const c of (await store.getObject('bench', 'big')).body) n += (c as Buffer).length;
    if (n !== size) throw new Error(`short read: ${n}`);
  });
  show([fileWrite, put], fileWrite);
  show([fileRead, get], fileRead);

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
    // generated on the fly (the source must not hold the object either), new bytes per MiB
    const source = async function* (): AsyncGenerator<Buffer> {
      for (let i = 0; i < total / PIECE; i++) yield randomBytesFast(PIECE, 7 + i);
    };
    const statusRss = async (): Promise<number> => {
      const m = /VmRSS:\s+(\d+) kB/.exec(await readFile('/proc/self/status', 'utf8'));
      return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
    };
    let maxRss = 0;
    let atMax = process.memoryUsage();
    const before = await statusRss();
    const timer = setInterval(
      () =>
        void statusRss().then((r) => {
          if (r > maxRss) {
            maxRss = r;
            atMax = process.memoryUsage();
          }
        }),
      100,
    );
    const big = await measure(`store put ${rssGiB} GiB (RSS sampled)`, total, () => store.putObject('bench', 'rss', source()), 1);
    clearInterval(timer);
    report([big]);
    const mib = (n: number): string => `${(n / MiB).toFixed(0)} MiB`;
    console.log(`max RSS during the ${rssGiB} GiB put: ${mib(maxRss)} (target ≤ 300 MiB); before the put ${mib(before)}`);
    console.log(`  at the max: JS heap ${mib(atMax.heapUsed)} of ${mib(atMax.heapTotal)}, external ${mib(atMax.external)}, array buffers ${mib(atMax.arrayBuffers)}`);
  }
}

try {
  if (rssGiB > 0) await rss();
  else await throughput();
} finally {
  await stores.close();
  await fragments.close();
  await rm(dir, { recursive: true, force: true });
}
