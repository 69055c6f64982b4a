/**
 * A get decides before its first byte whether the object's chunks can be read (issue 4 item 5):
 * a chunk of the range with fewer than k fragments on peers the placement holds live fails the
 * get with Unavailable (S3 503) instead of a body that breaks after the first chunks. Chunks with
 * ≥ k live holders, chunks outside the range and cached chunks are still served; a holder lost
 * after the check ends the body with an error, never with wrong or missing bytes.
 *
 * Eight in-memory peers behind a placement double that spreads each chunk's n = 4 fragments over
 * a different run of peers (RS k = 2, n = 4, 64 KiB chunks), so one chunk can be lost while the
 * first is not. A "killed" peer is marked unhealthy (as heartbeats would) and fails every read.
 */
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
import { MetaIndex } from '../../backend/index/meta-index.js';
import { PeerStore, type StoreInit } from '../../backend/store/peer-store.js';
import { randomBytesFast } from '../../bench/lib.js';
import { pieces, readAll, testChunker } from './helpers.js';

const K = 2;
const N = 4;
const PEERS = 8;

/** Peers that can be killed (reads fail with Unavailable; with `known`, also marked unhealthy) and count their reads. */
class Peers implements Placement {
  readonly handles: PeerHandle[];
  readonly down = new Set<string>();
  readonly unhealthy = new Set<string>();
  gets = 0;

  constructor() {
    this.handles = Array.from({ length: PEERS }, (_, i) => {
      const id = `peer-${i}`;
      const inner = new MemoryFragmentStore();
      const store: FragmentStore = new Proxy(inner, {
        get: (target, prop, receiver) => {
          if (prop === 'get') {
            return (fid: string, o?: Parameters<FragmentStore['get']>[1]) => {
              this.gets++;
              return this.down.has(id) ? Promise.reject(new StoreError('Unavailable', `${id} is down`)) : target.get(fid, o);
            };
          }
          const v = Reflect.get(target, prop, receiver) as unknown;
          return typeof v === 'function' ? v.bind(target) : v;
        },
      });
      return { id, host: `host-${i}`, store };
    });
  }

  kill(ids: Iterable<string>, known = true): void {
    for (const id of ids) {
      this.down.add(id);
      if (known) this.unhealthy.add(id);
    }
  }

  // each chunk's fragments on a run of `count` peers starting where its key says
  choose(key: Uint8Array, count: number, exclude?: ReadonlySet<string>): PeerHandle[] {
    const ok = this.handles.filter((h) => !exclude?.has(h.id) && !this.unhealthy.has(h.id));
    if (ok.length === 0) return [];
    return Array.from({ length: count }, (_, i) => ok[(key[0] + i) % ok.length]);
  }
  peer(id: string): PeerHandle | undefined {
    return this.handles.find((h) => h.id === id);
  }
  peers(): PeerHandle[] {
    return this.handles;
  }
  reportSuccess(): void {}
  reportFailure(): void {}
  isHealthy(id: string): boolean {
    return !this.unhealthy.has(id);
  }
}

interface Setup {
  peers: Peers;
  peerStore: PeerStore;
  store: ObjectStore;
  data: Buffer;
  /** the object's chunks in offset order, with the peers holding their fragments */
  chunks: { offset: number; size: number; holders: string[] }[];
  close(): Promise<void>;
}

async function setup(init: Partial<StoreInit> = {}): Promise<Setup> {
  const peers = new Peers();
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-read-avail-'));
  const peerStore = await PeerStore.open(
    { stateDir: join(dir, 'state'), kdfIterations: 1000, erasure: { k: K, n: N }, avgChunkSize: 64 * 1024, gcIntervalMs: 0, cacheSize: 0, ...init },
    { logger: silentLogger(), placement: peers, chunker: await testChunker(), ownedStores: [] },
  );
  const store = await peerStore.open({ accessKey: 'tenant', secretKey: 'tenant-secret' });
  await store.createBucket('bkt');
  const data = randomBytesFast(1536 * 1024, 11);
  await store.putObject('bkt', 'obj', pieces(data));
  const rows = peerStore.index.db
    .prepare(`SELECT vc.offset AS offset, c.plain_size AS size, f.peer AS peer FROM version_chunks vc
      JOIN chunks c ON c.id = vc.chunk JOIN fragments f ON f.chunk = vc.chunk ORDER BY vc.offset, f.idx`)
    .all() as { offset: number; size: number; peer: string }[];
  const chunks: Setup['chunks'] = [];
  for (const r of rows) {
    if (chunks.at(-1)?.offset !== r.offset) chunks.push({ offset: r.offset, size: r.size, holders: [] });
    chunks.at(-1)!.holders.push(r.peer);
  }
  assert.ok(chunks.length >= 8, `enough chunks to lose a later one (${chunks.length})`);
  return {
    peers,
    peerStore,
    store,
    data,
    chunks,
    async close() {
      await peerStore.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Peers whose loss leaves chunk `target` with fewer than k live holders while every chunk in
 * `keep` still has k: its holders not in `keep` first, then shared ones while `keep` can spare them.
 */
function lose(s: Setup, target: number, keep: number[]): string[] | undefined {
  const kept = keep.map((i) => new Set(s.chunks[i].holders));
  const holders = [...new Set(s.chunks[target].holders)];
  const others = holders.filter((p) => !kept.some((h) => h.has(p)));
  const shared = holders.filter((p) => kept.some((h) => h.has(p)));
  const dead = [...others];
  const live = (i: number): number => s.chunks[i].holders.filter((p) => !dead.includes(p)).length;
  for (const p of shared) {
    if (live(target) < K) break;
    dead.push(p);
    if (keep.some((i) => live(i) < K)) dead.pop();
  }
  return live(target) < K ? dead : undefined;
}

/** A later chunk that can be lost while the first stays readable, and the peers to kill for it. */
function laterLoss(s: Setup): { target: number; dead: string[] } {
  for (let target = s.chunks.length - 1; target > 0; target--) {
    const dead = lose(s, target, [0]);
    if (dead) return { target, dead };
  }
  throw new Error('no chunk can be lost without the first (placement spread too little)');
}

test('a get whose later chunk has fewer than k live holders fails with Unavailable before a body exists, without asking any peer', async () => {
  const s = await setup();
  try {
    const { target, dead } = laterLoss(s);
    s.peers.kill(dead);
    s.peers.gets = 0;
    // without the check the get resolves (the first chunk is fine) and its body breaks at `target`
    await assert.rejects(s.store.getObject('bkt', 'obj'), (err) => isStoreError(err, 'Unavailable'));
    assert.equal(s.peers.gets, 0, 'decided from the index and the placement alone');
    // a range that ends before the first lost chunk is served (killing `dead` may lose others than `target`)
    const firstLost = s.chunks.findIndex((c) => c.holders.filter((h) => !dead.includes(h)).length < K);
    assert.ok(firstLost > 0 && firstLost <= target);
    const end = s.chunks[firstLost].offset - 1;
    const r = await s.store.getObject('bkt', 'obj', { range: { start: 0, end } });
    assert.ok((await readAll(r.body)).equals(s.data.subarray(0, end + 1)));
    // a range that only touches the lost chunk's last byte is not
    const last = s.chunks[target].offset + s.chunks[target].size - 1;
    await assert.rejects(s.store.getObject('bkt', 'obj', { range: { start: last, end: last } }), (err) => isStoreError(err, 'Unavailable'));
  } finally {
    await s.close();
  }
});

test('chunks left with exactly k live holders are still served, decoded from what is left', async () => {
  const s = await setup();
  try {
    // kill n − k holders of the last chunk (and whatever that costs other chunks, as long as each keeps k)
    const lastHolders = [...new Set(s.chunks.at(-1)!.holders)];
    const dead: string[] = [];
    for (const p of lastHolders) {
      if (dead.length === N - K) break;
      const after = [...dead, p];
      if (s.chunks.every((c) => c.holders.filter((h) => !after.includes(h)).length >= K)) dead.push(p);
    }
    assert.ok(dead.length > 0);
    s.peers.kill(dead);
    assert.ok(s.chunks.some((c) => c.holders.filter((h) => !dead.includes(h)).length < N), 'some chunk is degraded');
    const got = await readAll((await s.store.getObject('bkt', 'obj')).body);
    assert.ok(got.equals(s.data));
  } finally {
    await s.close();
  }
});

test('a lost chunk whose plaintext is cached is served from the cache', async () => {
  const s = await setup({ cacheSize: 64 * 2 ** 20 });
  try {
    const { dead } = laterLoss(s);
    assert.ok((await readAll((await s.store.getObject('bkt', 'obj')).body)).equals(s.data));
    s.peers.kill(dead);
    assert.ok((await readAll((await s.store.getObject('bkt', 'obj')).body)).equals(s.data));
  } finally {
    await s.close();
  }
});

test('holders lost after the get started end the body with an error: the bytes before it are right, none after', async () => {
  const s = await setup({ readAhead: 1 });
  try {
    const { target, dead } = laterLoss(s);
    assert.ok(target >= 3, `the lost chunk (${target}) lies beyond the first chunk and the read-ahead`);
    const r = await s.store.getObject('bkt', 'obj');
    const got: Buffer[] = [];
    let failure: unknown;
    try {
      for await (const piece of r.body) {
        got.push(Buffer.from(piece as Uint8Array));
        // the gateway has not noticed (no heartbeat missed yet): the check passed, the read finds out
        if (got.length === 1) s.peers.kill(dead, false);
      }
    } catch (err) {
      failure = err;
    }
    assert.ok(isStoreError(failure, 'Unavailable'), `the body ended with ${String(failure)}`);
    const bytes = Buffer.concat(got);
    assert.ok(bytes.length < s.data.length && bytes.length <= s.chunks[target].offset, `${bytes.length} bytes before the error`);
    assert.ok(bytes.equals(s.data.subarray(0, bytes.length)), 'every byte before the error is right');
  } finally {
    await s.close();
  }
});

test('the index check: chunks overlapping the range with fewer than k stored fragments on live peers, among the first maxChunks only', () => {
  const index = MetaIndex.open(':memory:');
  try {
    const tenant = index.createTenant('t', Buffer.alloc(8), 0).id;
    index.createBucket(tenant, 'b', 0);
    const bucket = index.bucket(tenant, 'b')!.id;
    const SIZE = 100;
    const COUNT = 1100;
    const holders = ['p0', 'p1', 'p2', 'p3'];
    const chunks: { offset: number; chunk: number }[] = [];
    index.tx(() => {
      for (let i = 0; i < COUNT; i++) {
        // chunk 5 and the last one: only p0 holds a stored fragment; chunk 7: two of them missing (state 1)
        const on = i === 5 || i === COUNT - 1 ? ['p0', 'p0', 'p0', 'p0'] : holders;
        const chunkId = Buffer.alloc(32);
        chunkId.writeUInt32BE(i);
        const chunk = index.ensureChunk(tenant, { chunkId, plainSize: SIZE, sealedSize: SIZE, compressed: false, k: K, n: N, fragments: on.map((peer, idx) => ({ idx, fragmentId: `${i}-${idx}`, size: 1, peer })) });
        if (i === 7) for (const idx of [0, 1, 2]) index.markFragmentMissing(chunk, idx, `${i}-${idx}`);
        chunks.push({ offset: i * SIZE, chunk });
      }
    });
    const version = index.commitVersion({ bucket, key: Buffer.from('k'), size: COUNT * SIZE, etag: 'e', meta: '{}', inlineData: null, chunks, now: 0 });
    const lostAt = (start: number, end: number, live: string[], max = 2000): number[] =>
      index.unreadableChunks(version, start, end, live, max).map((r) => r.offset / SIZE);
    assert.deepEqual(lostAt(0, COUNT * SIZE - 1, holders), [7], 'p0 alone is not k holders, but p0 is live here: only the chunk with missing fragments');
    assert.deepEqual(lostAt(0, COUNT * SIZE - 1, ['p1', 'p2', 'p3']), [5, 7, COUNT - 1]);
    assert.deepEqual(lostAt(0, COUNT * SIZE - 1, ['p2', 'p3']), [5, 7, COUNT - 1], 'exactly k live holders is readable');
    assert.equal(lostAt(0, COUNT * SIZE - 1, ['p3']).length, COUNT);
    // the chunk containing `start` and the one containing `end` count; their neighbours do not
    assert.deepEqual(lostAt(5 * SIZE + 99, 5 * SIZE + 99, ['p1', 'p2']), [5]);
    assert.deepEqual(lostAt(6 * SIZE, 7 * SIZE - 1, ['p1', 'p2']), []);
    assert.deepEqual(lostAt(4 * SIZE + 50, 5 * SIZE, ['p1', 'p2']), [5]);
    // bounded: the lost last chunk lies past the first 1024 of the range
    assert.deepEqual(lostAt(10 * SIZE, COUNT * SIZE - 1, ['p1', 'p2'], 1024), []);
    assert.deepEqual(lostAt(80 * SIZE, COUNT * SIZE - 1, ['p1', 'p2'], 1024), [COUNT - 1]);
  } finally {
    index.close();
  }
});
