/**
 * The FragmentStore contract (backend/core/fragment-store.ts) as node:test tests, run against every
 * implementation: disk, memory, decorated stacks, and the remote store of backend/network/.
 *
 * `factory` returns a fresh, empty, writable store; `cleanup` MUST close it and release whatever it
 * holds (temp dirs, servers). Each test gets its own store, so tests may run in any order.
 */
import { createHash, randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isStoreError, type ErrorCode } from '../../backend/core/errors.js';
import type { FragmentEntry, FragmentStore } from '../../backend/core/fragment-store.js';

export interface FragmentStoreFixture {
  store: FragmentStore;
  cleanup(): Promise<void>;
}

export function fragment(size: number): { id: string; data: Buffer } {
  const data = randomBytes(size);
  return { id: createHash('sha256').update(data).digest('hex'), data };
}

export async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isStoreError(err), `expected a StoreError ${code}, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

export async function collect(entries: AsyncIterable<FragmentEntry>): Promise<FragmentEntry[]> {
  const out: FragmentEntry[] = [];
  for await (const e of entries) out.push(e);
  return out;
}

export function fragmentStoreSuite(name: string, factory: () => Promise<FragmentStoreFixture>): void {
  const withStore = (fn: (store: FragmentStore) => Promise<void>) => async () => {
    const { store, cleanup } = await factory();
    try {
      await fn(store);
    } finally {
      await cleanup();
    }
  };

  describe(`FragmentStore conformance: ${name}`, () => {
    test('put then get returns the same bytes; has and stat see it', withStore(async (store) => {
      const f = fragment(4096);
      assert.equal(await store.has(f.id), false);
      await store.put(f.id, f.data);
      assert.equal(await store.has(f.id), true);
      assert.deepEqual(await store.get(f.id), f.data);
      const s = await store.stat();
      assert.equal(s.fragments, 1);
      assert.equal(s.used, 4096);
      assert.ok(s.capacity >= s.used, `capacity ${s.capacity} < used ${s.used}`);
      assert.ok(s.free >= 0 && s.free <= s.capacity, `free ${s.free} outside 0..${s.capacity}`);
    }));

    test('get of an absent id is FragmentNotFound; has is false; delete succeeds', withStore(async (store) => {
      const f = fragment(100);
      await rejectsWith(store.get(f.id), 'FragmentNotFound');
      assert.equal(await store.has(f.id), false);
      await store.delete(f.id);
      assert.equal(await store.has(f.id), false);
    }));

    test('put is idempotent: stored once, counted once', withStore(async (store) => {
      const f = fragment(1000);
      await store.put(f.id, f.data);
      await store.put(f.id, f.data);
      await store.put(f.id, Buffer.from(f.data));
      const entries = await collect(store.list());
      assert.deepEqual(entries.map((e) => e.id), [f.id]);
      const s = await store.stat();
      assert.equal(s.fragments, 1);
      assert.equal(s.used, 1000);
    }));

    test('BadDigest: bytes that do not hash to the id leave nothing behind', withStore(async (store) => {
      const f = fragment(2048);
      const other = fragment(2048);
      await rejectsWith(store.put(f.id, other.data), 'BadDigest');
      const flipped = Buffer.from(f.data);
      flipped[7] ^= 1;
      await rejectsWith(store.put(f.id, flipped), 'BadDigest');
      assert.equal(await store.has(f.id), false);
      assert.equal(await store.has(other.id), false);
      await rejectsWith(store.get(f.id), 'FragmentNotFound');
      assert.deepEqual(await collect(store.list()), []);
      const s = await store.stat();
      assert.equal(s.fragments, 0);
      assert.equal(s.used, 0);
      // A correct put of the same id still works afterwards.
      await store.put(f.id, f.data);
      assert.deepEqual(await store.get(f.id), f.data);
    }));

    test('malformed ids are InvalidArgument everywhere (no path escapes)', withStore(async (store) => {
      const f = fragment(10);
      const bad = ['', '../../../../etc/passwd', f.id.toUpperCase(), f.id.slice(1), `${f.id}0`, `${f.id.slice(0, 62)}/x`, `../${f.id.slice(3)}`];
      for (const id of bad) {
        await rejectsWith(store.put(id, f.data), 'InvalidArgument');
        await rejectsWith(store.get(id), 'InvalidArgument');
        await rejectsWith(store.has(id), 'InvalidArgument');
        await rejectsWith(store.delete(id), 'InvalidArgument');
      }
      assert.deepEqual(await collect(store.list()), []);
    }));

    test('delete removes; deleting again succeeds; re-put works', withStore(async (store) => {
      const a = fragment(500);
      const b = fragment(700);
      await store.put(a.id, a.data);
      await store.put(b.id, b.data);
      await store.delete(a.id);
      await store.delete(a.id);
      assert.equal(await store.has(a.id), false);
      await rejectsWith(store.get(a.id), 'FragmentNotFound');
      assert.deepEqual(await store.get(b.id), b.data);
      let s = await store.stat();
      assert.equal(s.fragments, 1);
      assert.equal(s.used, 700);
      await store.put(a.id, a.data);
      assert.deepEqual(await store.get(a.id), a.data);
      s = await store.stat();
      assert.equal(s.fragments, 2);
      assert.equal(s.used, 1200);
    }));

    test('list yields every stored id once with its size and mtime', withStore(async (store) => {
      const before = Date.now();
      const frags = Array.from({ length: 40 }, (_, i) => fragment(100 + i * 37));
      for (const f of frags) await store.put(f.id, f.data);
      await store.delete(frags[0].id);
      const expected = new Map(frags.slice(1).map((f) => [f.id, f.data.length]));
      const entries = await collect(store.list());
      assert.equal(entries.length, expected.size);
      assert.equal(new Set(entries.map((e) => e.id)).size, entries.length, 'an id was listed twice');
      for (const e of entries) {
        assert.equal(e.size, expected.get(e.id), `size of ${e.id}`);
        // File systems may round mtimes down to their granularity; allow 2 s either way.
        assert.ok(e.mtimeMs >= before - 2000 && e.mtimeMs <= Date.now() + 2000, `mtime ${e.mtimeMs} of ${e.id}`);
      }
    }));

    test('breaking out of a listing early is fine and the store still works', withStore(async (store) => {
      const frags = Array.from({ length: 5 }, () => fragment(64));
      for (const f of frags) await store.put(f.id, f.data);
      let seen = 0;
      for await (const _e of store.list()) {
        if (++seen === 2) break;
      }
      assert.equal(seen, 2);
      assert.equal((await collect(store.list())).length, 5);
    }));

    test('concurrent puts of the same id all succeed and store it once', withStore(async (store) => {
      const f = fragment(256 * 1024);
      await Promise.all(Array.from({ length: 12 }, () => store.put(f.id, f.data)));
      assert.deepEqual(await store.get(f.id), f.data);
      const entries = await collect(store.list());
      assert.deepEqual(entries.map((e) => e.id), [f.id]);
      const s = await store.stat();
      assert.equal(s.fragments, 1);
      assert.equal(s.used, f.data.length);
    }));

    test('concurrent puts, gets and deletes of different ids', withStore(async (store) => {
      const frags = Array.from({ length: 48 }, (_, i) => fragment(1000 + i));
      await Promise.all(frags.map((f) => store.put(f.id, f.data)));
      const got = await Promise.all(frags.map((f) => store.get(f.id)));
      got.forEach((g, i) => assert.deepEqual(g, frags[i].data));
      await Promise.all(frags.filter((_, i) => i % 2 === 0).map((f) => store.delete(f.id)));
      const ids = new Set((await collect(store.list())).map((e) => e.id));
      assert.deepEqual(ids, new Set(frags.filter((_, i) => i % 2 === 1).map((f) => f.id)));
      const s = await store.stat();
      assert.equal(s.fragments, 24);
      assert.equal(s.used, frags.filter((_, i) => i % 2 === 1).reduce((n, f) => n + f.data.length, 0));
    }));

    test('large fragments (2 MiB) round-trip', withStore(async (store) => {
      const f = fragment(2 * 1024 * 1024);
      await store.put(f.id, f.data);
      const back = await store.get(f.id);
      assert.equal(back.length, f.data.length);
      assert.ok(back.equals(f.data));
    }));

    test('get with allocate: the same bytes, in the caller\'s buffer when the store uses it', withStore(async (store) => {
      const f = fragment(300_000);
      await store.put(f.id, f.data);
      const given: Buffer[] = [];
      const allocate = (length: number): Buffer => {
        const b = Buffer.alloc(length + 100).subarray(0, length);
        given.push(b);
        return b;
      };
      const back = await store.get(f.id, { allocate });
      assert.ok(back.equals(f.data));
      // honouring it is optional; a store that asked for memory returns exactly that memory
      if (given.length > 0) {
        assert.equal(given[given.length - 1].length, f.data.length);
        assert.equal(back.buffer, given[given.length - 1].buffer);
      }
      await rejectsWith(store.get(fragment(10).id, { allocate }), 'FragmentNotFound');
    }));

    test('an empty fragment is a fragment like any other', withStore(async (store) => {
      const f = fragment(0);
      await store.put(f.id, f.data);
      assert.equal(await store.has(f.id), true);
      assert.equal((await store.get(f.id)).length, 0);
      assert.deepEqual((await collect(store.list())).map((e) => [e.id, e.size]), [[f.id, 0]]);
    }));

    test('a Uint8Array view into a larger buffer is hashed and stored by its own bytes', withStore(async (store) => {
      const f = fragment(3000);
      const big = new Uint8Array(5000);
      big.set(f.data, 1000);
      const view = big.subarray(1000, 4000);
      await store.put(f.id, view);
      assert.deepEqual(await store.get(f.id), f.data);
    }));

    test('stored bytes are independent of the caller’s buffers', withStore(async (store) => {
      const f = fragment(1024);
      const mine = Buffer.from(f.data);
      await store.put(f.id, mine);
      mine.fill(0);
      const first = await store.get(f.id);
      assert.deepEqual(first, f.data);
      first.fill(0);
      assert.deepEqual(await store.get(f.id), f.data);
    }));

    test('an already aborted signal stops an operation', withStore(async (store) => {
      const f = fragment(128);
      const signal = AbortSignal.abort();
      // Honouring signals is optional for implementations, so only the effect is checked: if the
      // put was refused, nothing may have been stored; if it went through, the fragment is intact.
      const refused = await store.put(f.id, f.data, { signal }).then(
        () => false,
        () => true,
      );
      if (refused) assert.equal(await store.has(f.id), false);
      else assert.deepEqual(await store.get(f.id), f.data);
    }));
  });
}
