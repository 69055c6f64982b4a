/**
 * DiskFragmentStore put/get of 1.6 MiB fragments (the size RS(10,16) makes of a 16 MiB chunk), 16 in
 * flight, against plain `fs` doing the same I/O in the same run: open+write+fdatasync+close for
 * put, readFile for get. The store adds: SHA-256 on both paths, a temp file + rename + directory
 * fsync per put, and existence/room checks. Reads come from the page cache for both sides.
 *
 *   node --import tsx bench/fragments.bench.ts [fragments-per-round=48] [dir=os.tmpdir()]
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { composeFragmentStore } from '../backend/fragments/compose.js';
import { DiskFragmentStore } from '../backend/fragments/disk-fragment-store.js';
import { measure, randomBytesFast, report } from './lib.js';

const FRAGMENT = Math.round(1.6 * 2 ** 20);
const IN_FLIGHT = 16;
const REPEAT = 3;
const perRound = Number(process.argv[2] ?? 48);
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

const bytes = perRound * FRAGMENT;
try {
  // Baseline: plain fs.
  const plainDir = join(base, 'plain');
  await mkdir(plainDir);
  let sets = rounds();
  let i = 0;
  const plainPut = await measure(`plain write+fdatasync x${IN_FLIGHT}`, bytes, () => pool(sets[i++], IN_FLIGHT, (f) => plainWrite(plainDir, f)), REPEAT);
  const lastPlain = sets[REPEAT - 1];
  const plainGet = await measure(`plain readFile x${IN_FLIGHT}`, bytes, () => pool(lastPlain, IN_FLIGHT, (f) => readFile(join(plainDir, f.id))), REPEAT);

  // The store itself.
  const disk = await DiskFragmentStore.open({ volumes: [{ path: join(base, 'vol'), mode: 'rw' }] });
  sets = rounds();
  i = 0;
  const storePut = await measure(`DiskFragmentStore.put x${IN_FLIGHT}`, bytes, () => pool(sets[i++], IN_FLIGHT, (f) => disk.put(f.id, f.data)), REPEAT);
  const lastStore = sets[REPEAT - 1];
  const storeGet = await measure(`DiskFragmentStore.get x${IN_FLIGHT}`, bytes, () => pool(lastStore, IN_FLIGHT, (f) => disk.get(f.id)), REPEAT);

  // The full decorator stack on top (verify re-hashes on get: a second SHA-256).
  const composed = composeFragmentStore(disk, { verify: true, timeoutMs: 60_000, concurrency: IN_FLIGHT, retry: true, onOp: () => undefined });
  sets = rounds();
  i = 0;
  const compPut = await measure(`composed(disk).put x${IN_FLIGHT}`, bytes, () => pool(sets[i++], IN_FLIGHT, (f) => composed.put(f.id, f.data)), REPEAT);
  const lastComp = sets[REPEAT - 1];
  const compGet = await measure(`composed(disk, verify).get x${IN_FLIGHT}`, bytes, () => pool(lastComp, IN_FLIGHT, (f) => composed.get(f.id)), REPEAT);
  await composed.close();

  console.log(`fragments of ${(FRAGMENT / 2 ** 20).toFixed(1)} MiB, ${perRound} per round, best of ${REPEAT}, dir ${base}`);
  report([plainPut, storePut, compPut], plainPut);
  report([plainGet, storeGet, compGet], plainGet);
} finally {
  await rm(base, { recursive: true, force: true });
}
