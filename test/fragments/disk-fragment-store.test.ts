import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { FragmentStore } from '../../backend/core/fragment-store.js';
import { DiskFragmentStore, type DiskFragmentStoreInit } from '../../backend/fragments/disk-fragment-store.js';
import { tempDirs } from '../helpers/temp-dirs.js';
import { collect, fragment, fragmentStoreSuite, rejectsWith } from '../conformance/fragment-store-suite.js';

const tempRoot = tempDirs('peerstor-frag-');

function fragmentPath(vol: string, id: string): string {
  return join(vol, 'fragments', id.slice(0, 2), id.slice(2, 4), id);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

fragmentStoreSuite('disk, one volume', async () => {
  const root = await tempRoot();
  const store = await DiskFragmentStore.open({ volumes: [{ path: root, mode: 'rw' }] });
  return { store, cleanup: async () => (await store.close(), rm(root, { recursive: true, force: true })) };
});

fragmentStoreSuite('disk, two volumes', async () => {
  const root = await tempRoot();
  const store = await DiskFragmentStore.open({
    volumes: [
      { path: join(root, 'a'), mode: 'rw' },
      { path: join(root, 'b'), mode: 'rw' },
    ],
  });
  return { store, cleanup: async () => (await store.close(), rm(root, { recursive: true, force: true })) };
});

fragmentStoreSuite('disk, one volume with a quota', async () => {
  const root = await tempRoot();
  const store = await DiskFragmentStore.open({ volumes: [{ path: root, mode: 'rw' }], quota: 64 * 2 ** 20 });
  return { store, cleanup: async () => (await store.close(), rm(root, { recursive: true, force: true })) };
});

describe('DiskFragmentStore specifics', () => {
  async function open(init: DiskFragmentStoreInit, use: (store: DiskFragmentStore) => Promise<void>): Promise<void> {
    const store = await DiskFragmentStore.open(init);
    try {
      await use(store);
    } finally {
      await store.close();
    }
  }

  test('files are content-addressed under fragments/<2 hex>/<2 hex>/<id>; nothing left in tmp/', async () => {
    const vol = await tempRoot();
    await open({ volumes: [{ path: vol, mode: 'rw' }] }, async (store) => {
      const f = fragment(5000);
      await store.put(f.id, f.data);
      assert.deepEqual(await readFile(fragmentPath(vol, f.id)), f.data);
      assert.deepEqual(await readdir(join(vol, 'tmp')), []);
    });
  });

  test('a flipped byte on disk → Corrupt, file quarantined, then FragmentNotFound', async () => {
    const vol = await tempRoot();
    await open({ volumes: [{ path: vol, mode: 'rw' }] }, async (store) => {
      const f = fragment(10_000);
      const g = fragment(3000);
      await store.put(f.id, f.data);
      await store.put(g.id, g.data);
      const bad = Buffer.from(f.data);
      bad[1234] ^= 0x80;
      await writeFile(fragmentPath(vol, f.id), bad);
      await rejectsWith(store.get(f.id), 'Corrupt');
      assert.equal(await exists(fragmentPath(vol, f.id)), false);
      const quarantined = await readdir(join(vol, 'quarantine'));
      assert.equal(quarantined.length, 1);
      assert.ok(quarantined[0].startsWith(f.id));
      assert.deepEqual(await readFile(join(vol, 'quarantine', quarantined[0])), bad);
      await rejectsWith(store.get(f.id), 'FragmentNotFound');
      assert.equal(await store.has(f.id), false);
      const s = await store.stat();
      assert.equal(s.fragments, 1);
      assert.equal(s.used, 3000);
      // The good copy can be put back (repair).
      await store.put(f.id, f.data);
      assert.deepEqual(await store.get(f.id), f.data);
    });
  });

  test('a file deleted behind its back → FragmentNotFound', async () => {
    const vol = await tempRoot();
    await open({ volumes: [{ path: vol, mode: 'rw' }] }, async (store) => {
      const f = fragment(100);
      await store.put(f.id, f.data);
      await rm(fragmentPath(vol, f.id));
      await rejectsWith(store.get(f.id), 'FragmentNotFound');
      assert.equal(await store.has(f.id), false);
      await store.delete(f.id);
    });
  });

  test('quota: a put that would exceed it is QuotaExceeded and stores nothing', async () => {
    const vol = await tempRoot();
    await open({ volumes: [{ path: vol, mode: 'rw' }], quota: 10_000 }, async (store) => {
      const a = fragment(6000);
      const b = fragment(5000);
      const c = fragment(4000);
      await store.put(a.id, a.data);
      await rejectsWith(store.put(b.id, b.data), 'QuotaExceeded');
      assert.equal(await store.has(b.id), false);
      assert.deepEqual(await readdir(join(vol, 'tmp')), []);
      await store.put(c.id, c.data);
      assert.deepEqual(await store.stat(), { capacity: 10_000, used: 10_000, free: 0, fragments: 2 });
      await store.delete(a.id);
      await store.put(b.id, b.data);
      assert.equal((await store.stat()).used, 9000);
    });
  });

  test('quota: parallel puts cannot overshoot it together', async () => {
    const vol = await tempRoot();
    await open({ volumes: [{ path: vol, mode: 'rw' }], quota: 10_000 }, async (store) => {
      const frags = Array.from({ length: 10 }, () => fragment(3000));
      const results = await Promise.allSettled(frags.map((f) => store.put(f.id, f.data)));
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      assert.equal(ok, 3);
      const s = await store.stat();
      assert.equal(s.used, 9000);
      assert.equal((await collect(store.list())).length, 3);
    });
  });

  test('quota is remembered across reopen (used bytes scanned at open)', async () => {
    const vol = await tempRoot();
    const a = fragment(7000);
    const b = fragment(7000);
    await open({ volumes: [{ path: vol, mode: 'rw' }], quota: 10_000 }, (store) => store.put(a.id, a.data));
    await open({ volumes: [{ path: vol, mode: 'rw' }], quota: 10_000 }, async (store) => {
      assert.equal((await store.stat()).used, 7000);
      await rejectsWith(store.put(b.id, b.data), 'QuotaExceeded');
    });
  });

  test('a per-volume quota overrides the store-wide one', async () => {
    const vol = await tempRoot();
    await open({ volumes: [{ path: vol, mode: 'rw', quota: 1000 }], quota: 10 ** 9 }, async (store) => {
      const a = fragment(1500);
      await rejectsWith(store.put(a.id, a.data), 'QuotaExceeded');
      assert.equal((await store.stat()).capacity, 1000);
    });
  });

  test('a read-only volume is served but never written; all-ro refuses put and delete', async () => {
    const vol = await tempRoot();
    const a = fragment(300);
    const b = fragment(400);
    await open({ volumes: [{ path: vol, mode: 'rw' }] }, (store) => store.put(a.id, a.data));
    await open({ volumes: [{ path: vol, mode: 'ro' }] }, async (store) => {
      assert.deepEqual(await store.get(a.id), a.data);
      await rejectsWith(store.put(b.id, b.data), 'ReadOnly');
      await rejectsWith(store.delete(a.id), 'ReadOnly');
      assert.equal(await exists(fragmentPath(vol, b.id)), false);
      assert.deepEqual((await collect(store.list())).map((e) => e.id), [a.id]);
      const s = await store.stat();
      assert.equal(s.free, 0);
      assert.equal(s.used, 300);
    });
    assert.equal(await exists(fragmentPath(vol, a.id)), true);
  });

  test('mixed rw + ro: new fragments go to the rw volume; ro fragments cannot be deleted', async () => {
    const root = await tempRoot();
    const ro = join(root, 'old');
    const rw = join(root, 'new');
    const a = fragment(300);
    await open({ volumes: [{ path: ro, mode: 'rw' }] }, (store) => store.put(a.id, a.data));
    await open({ volumes: [{ path: ro, mode: 'ro' }, { path: rw, mode: 'rw' }] }, async (store) => {
      const frags = Array.from({ length: 10 }, () => fragment(100));
      for (const f of frags) await store.put(f.id, f.data);
      for (const f of frags) assert.equal(await exists(fragmentPath(rw, f.id)), true);
      // Already stored on the ro volume: idempotent put, not a second copy.
      await store.put(a.id, a.data);
      assert.equal(await exists(fragmentPath(rw, a.id)), false);
      await rejectsWith(store.delete(a.id), 'ReadOnly');
      assert.equal((await store.stat()).fragments, 11);
    });
  });

  test('two volumes: placement is deterministic, spread, and reads find either', async () => {
    const root = await tempRoot();
    const volumes = [
      { path: join(root, 'a'), mode: 'rw' as const },
      { path: join(root, 'b'), mode: 'rw' as const },
    ];
    const frags = Array.from({ length: 40 }, () => fragment(50));
    const where = new Map<string, string>();
    await open({ volumes }, async (store) => {
      for (const f of frags) await store.put(f.id, f.data);
      for (const f of frags) where.set(f.id, (await exists(fragmentPath(volumes[0].path, f.id))) ? 'a' : 'b');
    });
    const onA = [...where.values()].filter((v) => v === 'a').length;
    assert.ok(onA > 0 && onA < 40, `all 40 fragments landed on one volume (${onA} on a)`);
    // Same ids into fresh volumes (given in the other order) land in the same places.
    await rm(join(root, 'a'), { recursive: true });
    await rm(join(root, 'b'), { recursive: true });
    await open({ volumes: [volumes[1], volumes[0]] }, async (store) => {
      for (const f of frags) await store.put(f.id, f.data);
      for (const f of frags) {
        const v = (await exists(fragmentPath(volumes[0].path, f.id))) ? 'a' : 'b';
        assert.equal(v, where.get(f.id), `fragment ${f.id} moved`);
      }
      for (const f of frags) assert.deepEqual(await store.get(f.id), f.data);
    });
  });

  test('two volumes: when the preferred one is full, the other takes the fragment', async () => {
    const root = await tempRoot();
    const volumes = [
      { path: join(root, 'a'), mode: 'rw' as const, quota: 1000 },
      { path: join(root, 'b'), mode: 'rw' as const, quota: 100_000 },
    ];
    await open({ volumes }, async (store) => {
      const frags = Array.from({ length: 20 }, () => fragment(600));
      for (const f of frags) await store.put(f.id, f.data);
      const s = await store.stat();
      assert.equal(s.fragments, 20);
      assert.equal(s.used, 12_000);
      const onA = (await Promise.all(frags.map((f) => exists(fragmentPath(volumes[0].path, f.id))))).filter(Boolean).length;
      assert.ok(onA <= 1, `${onA} fragments on the 1000-byte volume`);
    });
  });

  test('leftover temp files are removed at open; other things on the volume are untouched', async () => {
    const vol = await tempRoot();
    await mkdir(join(vol, 'tmp'), { recursive: true });
    await writeFile(join(vol, 'tmp', 'abc.123.1'), 'half a fragment');
    await mkdir(join(vol, '.peerstor'), { recursive: true });
    await writeFile(join(vol, '.peerstor', 'index.db'), 'gateway state');
    await open({ volumes: [{ path: vol, mode: 'rw' }] }, async (store) => {
      assert.deepEqual(await readdir(join(vol, 'tmp')), []);
      assert.equal((await store.stat()).fragments, 0);
    });
    assert.equal(await readFile(join(vol, '.peerstor', 'index.db'), 'utf8'), 'gateway state');
    assert.deepEqual((await readdir(vol)).sort(), ['.peerstor', 'fragments', 'quarantine', 'tmp']);
  });

  test('data survives close and reopen', async () => {
    const vol = await tempRoot();
    const frags = Array.from({ length: 8 }, (_, i) => fragment(1000 * (i + 1)));
    await open({ volumes: [{ path: vol, mode: 'rw' }] }, async (store) => {
      for (const f of frags) await store.put(f.id, f.data);
    });
    await open({ volumes: [{ path: vol, mode: 'rw' }] }, async (store: FragmentStore) => {
      for (const f of frags) assert.deepEqual(await store.get(f.id), f.data);
      const s = await store.stat();
      assert.equal(s.fragments, 8);
      assert.equal(s.used, 36_000);
    });
  });

  test('stray files in fragments/ are neither listed nor counted', async () => {
    const vol = await tempRoot();
    const f = fragment(10);
    await mkdir(join(vol, 'fragments', 'zz'), { recursive: true });
    await writeFile(join(vol, 'fragments', 'README'), 'x');
    const wrong = f.id.slice(2, 4) === 'ff' ? 'fe' : 'ff';
    await mkdir(join(vol, 'fragments', f.id.slice(0, 2), wrong), { recursive: true });
    // Right name, wrong directory: not where get would look, so not a fragment.
    await writeFile(join(vol, 'fragments', f.id.slice(0, 2), wrong, f.id), f.data);
    await open({ volumes: [{ path: vol, mode: 'rw' }] }, async (store) => {
      assert.deepEqual(await collect(store.list()), []);
      assert.equal((await store.stat()).fragments, 0);
      assert.equal(await store.has(f.id), false);
    });
  });

  test('scrub re-hashes everything and quarantines the corrupt ones', async () => {
    const vol = await tempRoot();
    await open({ volumes: [{ path: vol, mode: 'rw' }] }, async (store) => {
      const frags = Array.from({ length: 12 }, () => fragment(2000));
      for (const f of frags) await store.put(f.id, f.data);
      for (const i of [3, 7]) {
        const bad = Buffer.from(frags[i].data);
        bad[0] ^= 1;
        await writeFile(fragmentPath(vol, frags[i].id), bad);
      }
      const progress: number[] = [];
      const result = await store.scrub((p) => progress.push(p.checked));
      assert.equal(result.checked, 12);
      assert.deepEqual(new Set(result.corrupt), new Set([frags[3].id, frags[7].id]));
      assert.deepEqual(progress, Array.from({ length: 12 }, (_, i) => i + 1));
      assert.equal((await readdir(join(vol, 'quarantine'))).length, 2);
      const s = await store.stat();
      assert.equal(s.fragments, 10);
      assert.equal(s.used, 20_000);
      await rejectsWith(store.get(frags[3].id), 'FragmentNotFound');
      const again = await store.scrub();
      assert.deepEqual(again, { checked: 10, corrupt: [] });
    });
  });

  test('opening with no volume, the same volume twice, or a missing ro volume fails clearly', async () => {
    const vol = await tempRoot();
    await assert.rejects(DiskFragmentStore.open({ volumes: [] }), RangeError);
    await assert.rejects(
      DiskFragmentStore.open({ volumes: [{ path: vol, mode: 'rw' }, { path: `${vol}/`, mode: 'ro' }] }),
      RangeError,
    );
    await assert.rejects(DiskFragmentStore.open({ volumes: [{ path: join(vol, 'missing'), mode: 'ro' }] }), RangeError);
  });

  test('a closed store refuses new work', async () => {
    const vol = await tempRoot();
    const store = await DiskFragmentStore.open({ volumes: [{ path: vol, mode: 'rw' }] });
    const f = fragment(10);
    const pending = store.put(f.id, f.data);
    await store.close();
    await pending;
    await rejectsWith(store.get(f.id), 'Unavailable');
  });
});
