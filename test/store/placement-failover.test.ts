import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStoreError, StoreError } from '../../backend/core/errors.js';
import { silentLogger } from '../../backend/core/logger.js';
import type { FragmentStore } from '../../backend/core/fragment-store.js';
import type { ObjectStore } from '../../backend/core/object-store.js';
import type { PeerHandle, Placement } from '../../backend/core/placement.js';
import { MemoryFragmentStore } from '../../backend/fragments/memory-fragment-store.js';
import { PeerStore, type StoreInit } from '../../backend/store/peer-store.js';
import { MetaRepairIndex } from '../../backend/store/repair-index.js';
import { randomBytesFast } from '../../bench/lib.js';
import { pieces, readAll, testChunker } from './helpers.js';

/** n peers in a fixed order; `choose` skips excluded ones and wraps around. */
class ListPlacement implements Placement {
  constructor(readonly handles: PeerHandle[]) {}
  choose(_key: Uint8Array, count: number, exclude?: ReadonlySet<string>): PeerHandle[] {
    const ok = this.handles.filter((h) => !exclude?.has(h.id));
    return ok.length === 0 ? [] : Array.from({ length: count }, (_, i) => ok[i % ok.length]);
  }
  peer(id: string): PeerHandle | undefined {
    return this.handles.find((h) => h.id === id);
  }
  peers(): PeerHandle[] {
    return this.handles;
  }
  reportSuccess(): void {}
  reportFailure(_id: string, _err?: unknown): void {}
  isHealthy(_id: string): boolean {
    return true;
  }
}

/** `inner` with the members `hook` returns a replacement for (called on every member access). */
function intercept(inner: FragmentStore, hook: (prop: string | symbol) => unknown): FragmentStore {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const replaced = hook(prop);
      if (replaced !== undefined) return replaced;
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

const refusing = (inner: FragmentStore): FragmentStore =>
  intercept(inner, (prop) => (prop === 'put' ? async () => Promise.reject(new StoreError('Unavailable', 'peer down')) : undefined));

/** A PeerStore (RS k=2, n=4, 64 KiB chunks) over `placement`, a tenant with bucket `bkt`, and its cleanup. */
async function storeOver(placement: Placement, init: Partial<StoreInit> = {}): Promise<{ peerStore: PeerStore; store: ObjectStore; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-failover-'));
  const peerStore = await PeerStore.open(
    { stateDir: join(dir, 'state'), kdfIterations: 1000, erasure: { k: 2, n: 4 }, avgChunkSize: 64 * 1024, gcIntervalMs: 0, ...init },
    { logger: silentLogger(), placement, chunker: await testChunker(), ownedStores: [] },
  ).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  const store = await peerStore.open({ accessKey: 'tenant', secretKey: 'tenant-secret' });
  await store.createBucket('bkt');
  return {
    peerStore,
    store,
    async close() {
      await peerStore.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

test('a holder that refuses fragments is replaced by another peer, and placements record who holds what', async () => {
  const stores = [0, 1, 2, 3].map(() => new MemoryFragmentStore());
  const handles: PeerHandle[] = stores.map((store, i) => ({ id: `peer-${i}`, host: `host-${i}`, store: i === 1 ? refusing(store) : store }));
  const { peerStore, store, close } = await storeOver(new ListPlacement(handles));
  try {
    const data = randomBytesFast(400 * 1024, 4);
    await store.putObject('bkt', 'k', pieces(data));
    const peersUsed = peerStore.index.db.prepare('SELECT DISTINCT peer FROM fragments ORDER BY peer').all() as { peer: string }[];
    assert.deepEqual(peersUsed.map((r) => r.peer), ['peer-0', 'peer-2', 'peer-3'], 'nothing is recorded on the refusing peer');
    assert.equal((await stores[1].stat()).fragments, 0);
    assert.ok((await readAll((await store.getObject('bkt', 'k')).body)).equals(data));
  } finally {
    await close();
  }
});

test('reads ask holders marked unhealthy only when the healthy ones are not enough', async () => {
  const stores = [0, 1, 2, 3].map(() => new MemoryFragmentStore());
  const gets = new Map<string, number>();
  const counting = (id: string, inner: FragmentStore): FragmentStore =>
    intercept(inner, (prop) => {
      if (prop === 'get') gets.set(id, (gets.get(id) ?? 0) + 1);
      return undefined;
    });
  const handles: PeerHandle[] = stores.map((store, i) => ({ id: `peer-${i}`, host: `host-${i}`, store: counting(`peer-${i}`, store) }));
  const unhealthy = new Set<string>();
  const placement = new (class extends ListPlacement {
    override isHealthy(id: string): boolean {
      return !unhealthy.has(id);
    }
  })(handles);
  const { store, close } = await storeOver(placement, { cacheSize: 0 });
  try {
    const data = randomBytesFast(400 * 1024, 5);
    await store.putObject('bkt', 'k', pieces(data));
    // ≥ 6 chunks (at most 256 KiB each): some are read after the first and the read-ahead
    const big = randomBytesFast(1536 * 1024, 6);
    await store.putObject('bkt', 'big', pieces(big));
    // peer-0 holds data fragment 0 of every chunk; marked unhealthy, parity replaces it up front
    unhealthy.add('peer-0');
    gets.clear();
    assert.ok((await readAll((await store.getObject('bkt', 'k')).body)).equals(data));
    assert.equal(gets.get('peer-0'), undefined, 'the unhealthy holder was not asked');
    // with two holders unhealthy only two are left: the healthy ones, never a failed first round
    unhealthy.add('peer-1');
    gets.clear();
    assert.ok((await readAll((await store.getObject('bkt', 'k')).body)).equals(data));
    assert.deepEqual([...gets.keys()].sort(), ['peer-2', 'peer-3']);
    // all but one unhealthy before the get: fewer than k holders are believed live, so the get
    // fails before its first byte (tenant-store checks the range) and asks nobody
    unhealthy.add('peer-2');
    gets.clear();
    await assert.rejects(store.getObject('bkt', 'k'), (err) => isStoreError(err, 'Unavailable'));
    assert.equal(gets.size, 0);
    // marked once the body is streaming: the marks are only a preference, the data still comes back
    unhealthy.clear();
    const streaming = await store.getObject('bkt', 'big');
    for (const id of ['peer-0', 'peer-1', 'peer-2']) unhealthy.add(id);
    gets.clear();
    assert.ok((await readAll(streaming.body)).equals(big));
    assert.ok((gets.get('peer-3') ?? 0) > 0);
  } finally {
    await close();
  }
});

// without the hedge these reads wait on the hour-long (unref'd) timeout: node:test reports the test
// cancelled (not ok) as soon as nothing else keeps the event loop alive, or at its own 60 s timeout
test('a holder that hangs is hedged: the read takes a parity fragment instead, cancels the slow request and blames nobody', { timeout: 60_000 }, async () => {
  const stores = [0, 1, 2, 3].map(() => new MemoryFragmentStore());
  let hang = false;
  const cancelled: unknown[] = [];
  const hanging = (inner: FragmentStore): FragmentStore =>
    intercept(inner, (prop) =>
      prop === 'get' && hang
        ? // answers only when aborted, like a peer that accepted the request and went quiet
          (_id: string, options?: { signal?: AbortSignal }) =>
            new Promise((_resolve, reject) => {
              options?.signal?.addEventListener('abort', () => {
                cancelled.push(options.signal!.reason);
                reject(options.signal!.reason as Error);
              });
            })
        : undefined,
    );
  const handles: PeerHandle[] = stores.map((store, i) => ({ id: `peer-${i}`, host: `host-${i}`, store: i === 0 ? hanging(store) : store }));
  const failures: string[] = [];
  const placement = new (class extends ListPlacement {
    override reportFailure(id: string): void {
      failures.push(id);
    }
  })(handles);
  // a timeout far beyond the test's: only the hedge can end these reads in time
  const { peerStore, store, close } = await storeOver(placement, { cacheSize: 0, timeoutMs: 3_600_000 });
  try {
    const data = randomBytesFast(400 * 1024, 6);
    await store.putObject('bkt', 'k', pieces(data));
    const chunks = (peerStore.index.db.prepare('SELECT COUNT(*) AS n FROM chunks').get() as { n: number }).n;
    assert.ok(chunks >= 2);
    hang = true;
    assert.ok((await readAll((await store.getObject('bkt', 'k')).body)).equals(data));
    assert.equal(cancelled.length, chunks, 'each chunk’s request to the hung holder was cancelled when the read ended');
    for (const reason of cancelled) assert.notEqual((reason as Error).name, 'TimeoutError', 'cancelled by the read, not by its timeout');
    assert.deepEqual(failures, [], 'a cancelled request is not the peer’s failure');
  } finally {
    await close();
  }
});

/** `inner` refusing the puts of fragments whose header names one of `indexes` (on any peer). */
const refusingIndexes = (inner: FragmentStore, indexes: number[]): FragmentStore =>
  intercept(inner, (prop) =>
    prop === 'put'
      ? async (id: string, bytes: Uint8Array, options?: unknown) =>
          indexes.includes(bytes[3]) ? Promise.reject(new StoreError('Unavailable', 'disk full')) : inner.put(id, bytes, options as never)
      : undefined,
  );

test('--write-quorum: a put is acknowledged with ≥ quorum fragments stored, the rest recorded missing for repair; never below it', async () => {
  const E = { k: 2, n: 6 };
  const peers = () => [0, 1, 2, 3, 4, 5].map((i) => ({ id: `peer-${i}`, host: `host-${i}`, store: refusingIndexes(new MemoryFragmentStore(), [4, 5]) }));
  const data = randomBytesFast(400 * 1024, 5);

  // quorum 4 = k+2: fragments 4 and 5 fail on every holder tried, the put still succeeds
  const q4 = await storeOver(new ListPlacement(peers()), { erasure: E, writeQuorum: 4 });
  try {
    await q4.store.putObject('bkt', 'k', pieces(data));
    const rows = q4.peerStore.index.db.prepare('SELECT idx, state, count(*) AS n FROM fragments GROUP BY idx, state ORDER BY idx').all() as { idx: number; state: number; n: number }[];
    const chunks = (q4.peerStore.index.db.prepare('SELECT count(*) AS n FROM chunks').get() as { n: number }).n;
    assert.ok(chunks >= 3, `several chunks (${chunks})`);
    assert.deepEqual(
      rows.map((r) => [r.idx, r.state, r.n]),
      [0, 1, 2, 3, 4, 5].map((idx) => [idx, idx >= 4 ? 1 : 0, chunks]),
      'fragments 4 and 5 of every chunk are recorded missing (state 1), the others stored',
    );
    const degraded = await new MetaRepairIndex(q4.peerStore.index).degradedChunks(100, new Set());
    assert.equal(degraded.length, chunks, 'repair finds every chunk degraded');
    assert.ok((await readAll((await q4.store.getObject('bkt', 'k')).body)).equals(data));
  } finally {
    await q4.close();
  }

  // quorum 5 and the default (all 6): the same put fails with 503 and leaves no object
  for (const init of [{ erasure: E, writeQuorum: 5 }, { erasure: E }]) {
    const s = await storeOver(new ListPlacement(peers()), init);
    try {
      await assert.rejects(s.store.putObject('bkt', 'k', pieces(data)), (e) => isStoreError(e, 'Unavailable'), JSON.stringify(init));
      await assert.rejects(s.store.getObject('bkt', 'k'), (e) => isStoreError(e, 'NoSuchKey'));
    } finally {
      await s.close();
    }
  }

  // outside k+2 .. n is refused when the store opens
  for (const writeQuorum of [3, 7, 4.5]) {
    await assert.rejects(storeOver(new ListPlacement(peers()), { erasure: E, writeQuorum }), (e) => isStoreError(e, 'InvalidArgument'), String(writeQuorum));
  }
});
