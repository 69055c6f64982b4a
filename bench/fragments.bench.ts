/**
 * DiskFragmentStore put/get against plain `fs` doing the same I/O in the same run (open + write +
 * fdatasync + close for put, readFile for get), 16 fragments in flight. Default fragment: 410 KiB,
 * what RS(10,16) makes of the default 4 MiB average chunk (BENCH_FRAGMENT_KIB to change it; 1638
 * is a 16 MiB chunk's). The store adds: a temp file + rename + directory fsync per put, a directory
 * (mkdir + parent fsync) for most fragments of a young volume, existence/room checks, and SHA-256
 * where the caller does not vouch for the bytes (the composed stack's verify re-hashes on get).
 * Puts run twice: on a fresh volume, and again once their directories exist (a mature volume: its
 * 65,536 leaf directories are all there). Reads come from the page cache for both sides.
 * Besides the usual line it prints user and system CPU ms/MiB (mean of the runs): the disk path
 * is mostly kernel time.
 *
 *   node --import tsx bench/fragments.bench.ts [fragments-per-round=192] [dir=os.tmpdir()]
 *   strace -f -c node --import tsx bench/fragments.bench.ts   for system calls (all phases)
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeFragmentStore } from '../backend/fragments/compose.js';
import { DiskFragmentStore } from '../backend/fragments/disk-fragment-store.js';
import { measure, randomBytesFast, report, type Measurement } from './lib.js';

const MiB = 2 ** 20;
const FRAGMENT = Number(process.env.BENCH_FRAGMENT_KIB ?? 410) * 1024;
const IN_FLIGHT = 16;
const REPEAT = 3;
const perRound = Number(process.argv[2] ?? 192);
const base = await mkdtemp(join(process.argv[3] ?? tmpdir(), 'peerstor-bench-frag-'));

interface Frag {
  id: string;
  data: Buffer;
}

async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

let seed = 1;
function round(): Frag[] {
  return Array.from({ length: perRound }, () => {
    const data = randomBytesFast(FRAGMENT, seed++);
    return { id: createHash('sha256').update(data).digest('hex'), data };
  });
}

/** A fresh set of fragments for each repetition, so no put is an idempotent no-op. */
function rounds(): Frag[][] {
  return Array.from({ length: REPEAT }, round);
}

async function plainWrite(dir: string, f: Frag): Promise<void> {
  const fh = await open(join(dir, f.id), 'w');
  try {
    await fh.writeFile(f.data);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

const split = new Map<string, { user: number; system: number }>();
/** measure() that also sums user and system CPU over its runs */
async function timed(name: string, bytes: number, fn: () => Promise<unknown>): Promise<Measurement> {
  const total = { user: 0, system: 0 };
  const m = await measure(
    name,
    bytes,
    async () => {
      const c0 = process.cpuUsage();
      await fn();
      const c = process.cpuUsage(c0);
      total.user += c.user;
      total.system += c.system;
    },
    REPEAT,
  );
  split.set(name, total);
  return m;
}

function show(results: Measurement[], baseline: Measurement): void {
  report(results, baseline);
  for (const r of results) {
    const s = split.get(r.name);
    const perMiB = (us: number): string => (us / 1000 / REPEAT / (r.bytes / MiB)).toFixed(2).padStart(6);
    if (s) console.log(`  ${r.name.padEnd(42)} user ${perMiB(s.user)}  sys ${perMiB(s.system)} CPU ms/MiB (mean of ${REPEAT})`);
  }
}

const bytes = perRound * FRAGMENT;
try {
  // Baseline: plain fs.
  const plainDir = join(base, 'plain');
  await mkdir(plainDir);
  let sets = rounds();
  let i = 0;
  const plainPut = await timed(`plain write+fdatasync x${IN_FLIGHT}`, bytes, () => pool(sets[i++], IN_FLIGHT, (f) => plainWrite(plainDir, f)));
  const lastPlain = sets[REPEAT - 1];
  const plainGet = await timed(`plain readFile x${IN_FLIGHT}`, bytes, () => pool(lastPlain, IN_FLIGHT, (f) => readFile(join(plainDir, f.id))));

  // The store itself, as the gateway calls it (the codec vouches for ids on put and checks on get).
  const disk = await DiskFragmentStore.open({ volumes: [{ path: join(base, 'vol'), mode: 'rw' }] });
  sets = rounds();
  i = 0;
  const storePut = await timed(`DiskFragmentStore.put x${IN_FLIGHT}, fresh volume`, bytes, () =>
    pool(sets[i++], IN_FLIGHT, (f) => disk.put(f.id, f.data, { idVerified: true })),
  );
  const lastStore = sets[REPEAT - 1];
  const storeGet = await timed(`DiskFragmentStore.get x${IN_FLIGHT}`, bytes, () => pool(lastStore, IN_FLIGHT, (f) => disk.get(f.id, { callerVerifies: true })));
  // the same ids again once deleted: every directory exists now
  for (const set of sets) await pool(set, IN_FLIGHT, (f) => disk.delete(f.id));
  i = 0;
  const storeRePut = await timed(`DiskFragmentStore.put x${IN_FLIGHT}, dirs exist`, bytes, () =>
    pool(sets[i++], IN_FLIGHT, (f) => disk.put(f.id, f.data, { idVerified: true })),
  );

  // The full decorator stack on top, hashing on both paths as for bytes from the network.
  const composed = composeFragmentStore(disk, { verify: true, timeoutMs: 60_000, concurrency: IN_FLIGHT, retry: true, onOp: () => undefined });
  sets = rounds();
  i = 0;
  const compPut = await timed(`composed(disk).put x${IN_FLIGHT}, hashed`, bytes, () => pool(sets[i++], IN_FLIGHT, (f) => composed.put(f.id, f.data)));
  const lastComp = sets[REPEAT - 1];
  const compGet = await timed(`composed(disk, verify).get x${IN_FLIGHT}`, bytes, () => pool(lastComp, IN_FLIGHT, (f) => composed.get(f.id)));
  await composed.close();

  console.log(`fragments of ${(FRAGMENT / 1024).toFixed(0)} KiB, ${perRound} per round, best of ${REPEAT}, dir ${base}`);
  show([plainPut, storePut, storeRePut, compPut], plainPut);
  show([plainGet, storeGet, compGet], plainGet);
} finally {
  await rm(base, { recursive: true, force: true });
}
