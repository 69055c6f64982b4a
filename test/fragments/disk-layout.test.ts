// The disk store's directories: volumes laid out by earlier versions (which made each directory on
// first use, with no first-level directories made in advance) stay readable and writable, the
// store copes with its directories vanishing behind its back, and puts sharing a directory (one
// group-committed directory fsync) all land.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { DiskFragmentStore } from '../../backend/fragments/disk-fragment-store.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { collect, fragment } from '../conformance/fragment-store-suite.js';

const tempRoot = tempDirs('peerstor-frag-layout-');

const fragmentPath = (vol: string, id: string): string => join(vol, 'fragments', id.slice(0, 2), id.slice(2, 4), id);

/** A volume as the version before this one left it: fragments/<aa>/<bb>/<id> made on demand only,
 *  a temp file of a put that was killed, and quarantine/. */
async function oldVolume(frags: Array<{ id: string; data: Buffer }>): Promise<string> {
  const vol = await tempRoot();
  for (const f of frags) {
    await mkdir(join(vol, 'fragments', f.id.slice(0, 2), f.id.slice(2, 4)), { recursive: true });
    await writeFile(fragmentPath(vol, f.id), f.data);
  }
  await mkdir(join(vol, 'tmp'));
  await writeFile(join(vol, 'tmp', `${frags[0].id}.4242.7`), frags[0].data.subarray(0, 10));
  await mkdir(join(vol, 'quarantine'));
  return vol;
}

/** `count` fragments whose ids share their first 4 hex characters (one leaf directory). */
function sameLeaf(count: number): Array<{ id: string; data: Buffer }> {
  const out: Array<{ id: string; data: Buffer }> = [];
  let prefix: string | undefined;
  for (let i = 0; out.length < count; i++) {
    const data = Buffer.from(`same-leaf fragment ${i}`);
    const id = createHash('sha256').update(data).digest('hex');
    prefix ??= id.slice(0, 4);
    if (id.startsWith(prefix)) out.push({ id, data });
  }
  return out;
}

test('a volume written by the previous version is read, listed and counted, and takes new puts', async () => {
  const old = Array.from({ length: 6 }, (_, i) => fragment(1000 + i));
  const vol = await oldVolume(old);

  // read-only first: served as it is, and nothing is created on it
  const before = (await readdir(join(vol, 'fragments'))).sort();
  const ro = await DiskFragmentStore.open({ volumes: [{ path: vol, mode: 'ro' }] });
  try {
    for (const f of old) assert.deepEqual(await ro.get(f.id), f.data);
    assert.equal((await ro.stat()).fragments, old.length);
  } finally {
    await ro.close();
  }
  assert.deepEqual((await readdir(join(vol, 'fragments'))).sort(), before, 'a ro volume gets no new directories');
  assert.equal((await readdir(join(vol, 'tmp'))).length, 1, 'nor is its tmp/ emptied');

  const fresh = Array.from({ length: 20 }, (_, i) => fragment(500 + i));
  const store = await DiskFragmentStore.open({ volumes: [{ path: vol, mode: 'rw' }] });
  try {
    assert.deepEqual(await readdir(join(vol, 'tmp')), [], 'the killed put is cleaned up');
    assert.deepEqual((await collect(store.list())).map((e) => e.id).sort(), old.map((f) => f.id).sort());
    for (const f of old) assert.deepEqual(await store.get(f.id), f.data);
    // puts into directories the old version made (idempotent) and into new ones
    await Promise.all([...old, ...fresh].map((f) => store.put(f.id, f.data)));
    assert.equal((await store.stat()).fragments, old.length + fresh.length);
    for (const f of fresh) assert.deepEqual(await readFile(fragmentPath(vol, f.id)), f.data);
    const tops = new Set([...old, ...fresh].map((f) => f.id.slice(0, 2)));
    assert.deepEqual((await readdir(join(vol, 'fragments'))).sort(), [...tops].sort(), 'directories are made only where fragments go');
  } finally {
    await store.close();
  }
  const again = await DiskFragmentStore.open({ volumes: [{ path: vol, mode: 'rw' }] });
  try {
    for (const f of [...old, ...fresh]) assert.deepEqual(await again.get(f.id), f.data);
    assert.equal((await again.stat()).used, [...old, ...fresh].reduce((n, f) => n + f.data.length, 0));
  } finally {
    await again.close();
  }
});

test('directories removed behind the store are made again by the next put', async () => {
  const vol = await tempRoot();
  const store = await DiskFragmentStore.open({ volumes: [{ path: vol, mode: 'rw' }] });
  try {
    const a = fragment(3000);
    await store.put(a.id, a.data);
    // the store remembers this leaf (and every first-level directory) as existing
    await rm(join(vol, 'fragments', a.id.slice(0, 2), a.id.slice(2, 4)), { recursive: true });
    assert.equal(await store.has(a.id), false);
    await store.delete(a.id);
    await store.put(a.id, a.data);
    assert.deepEqual(await readFile(fragmentPath(vol, a.id)), a.data);

    await rm(join(vol, 'fragments'), { recursive: true });
    const c = fragment(4000);
    await store.put(c.id, c.data);
    assert.deepEqual(await store.get(c.id), c.data);
    await store.put(a.id, a.data);
    assert.deepEqual(await readFile(fragmentPath(vol, a.id)), a.data);
  } finally {
    await store.close();
  }
});

test('concurrent puts into one directory all land (their directory fsyncs are shared)', async () => {
  const vol = await tempRoot();
  const frags = sameLeaf(8);
  const store = await DiskFragmentStore.open({ volumes: [{ path: vol, mode: 'rw' }] });
  try {
    await Promise.all(frags.map((f) => store.put(f.id, f.data)));
    const leaf = join(vol, 'fragments', frags[0].id.slice(0, 2), frags[0].id.slice(2, 4));
    assert.deepEqual((await readdir(leaf)).sort(), frags.map((f) => f.id).sort());
    assert.deepEqual(await readdir(join(vol, 'tmp')), []);
  } finally {
    await store.close();
  }
  const again = await DiskFragmentStore.open({ volumes: [{ path: vol, mode: 'rw' }] });
  try {
    for (const f of frags) assert.deepEqual(await again.get(f.id), f.data);
  } finally {
    await again.close();
  }
});
