/**
 * Chunk-level I/O for one store: writing a chunk (dedup against the tenant's chunks, else encode
 * and put its n fragments in parallel on the placement's holders) and reading one (data fragments
 * first, parity on failure, decode, LRU cache of plaintext chunks).
 *
 * Writers return a `ChunkHandle`; the caller MUST call `release()` once the index transaction
 * that references the chunk committed (or the operation failed): until then the chunk and its new
 * fragments are pinned against garbage collection.
 */
import { setMaxListeners } from 'node:events';
import { LRUCache } from 'lru-cache';
import { BufferPool } from '../core/buffer-pool.js';
import { StoreError, isStoreError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Placement } from '../core/placement.js';
import type { ChunkRow, MetaIndex, NewChunk } from '../index/meta-index.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ChunkCodec, EncodedChunk } from './chunk-codec.js';
import type { Pins } from './pins.js';

/** What a store shares between its tenants. */
export interface ChunkIoComponents {
  index: MetaIndex;
  placement: Placement;
  pins: Pins;
  logger: Logger;
  /**
   * Optional recording (docs/metrics.md): stages hash / encode / place per written chunk, fetch /
   * decode per read chunk (the codec's worker jobs timed whole from this thread), the `chunk`
   * cache's hits and misses, dedup per chunk written.
   */
  metrics?: Metrics;
}

const since = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

export interface ChunkIoInit {
  /** bytes of decrypted chunks kept in memory (0 = no cache) */
  cacheSize: number;
  /** per fragment operation */
  timeoutMs: number;
  /**
   * Fragments of a chunk that must be stored before its write resolves (default: all n). With
   * fewer, a fragment whose put failed on every holder tried is recorded missing (repair rebuilds
   * it) instead of failing the put. PeerStore keeps it within k+2..n.
   */
  writeQuorum?: number;
}

/** The tenant a chunk belongs to. */
export interface TenantChunks {
  tenant: number;
  codec: ChunkCodec;
  k: number;
  n: number;
}

export interface ChunkHandle {
  chunkId: Buffer;
  plainSize: number;
  /** present when this write stored new fragments (the index row may not exist yet) */
  fresh?: NewChunk;
  /** the chunk was already stored (or being stored by another put): dedup */
  existed: boolean;
  release(): void;
}

export interface ChunkWriteOptions {
  /**
   * Encode before looking the chunk up (one worker round trip and one copy fewer on the main
   * thread for new data; wasted worker time when the chunk turns out to exist). Callers pass
   * true while recent chunks were new, false while they were duplicates.
   */
  encodeFirst?: boolean;
  /**
   * The caller gives up `plain` (it owns the whole ArrayBuffer and never reads
   * it again), so it moves to the worker instead of being copied; `plain` is detached afterwards.
   */
  take?: boolean;
}

/** hedge delay before any fragment read has been timed, and its floor */
const HEDGE_FIRST_MS = 250;
const HEDGE_MIN_MS = 20;
const range = (a: number, b: number): number[] => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);

/**
 * chunks of a get's range checked before its first byte (checkReadable): 4 GiB at the default
 * 4 MiB average chunk, ~3 ms of index time measured on a loaded 2-core machine
 */
const CHECKED_CHUNKS = 1024;
/**
 * One chunk read in this many also recomputes the chunk id from the plaintext (DecodeOptions
 * .checkPlaintext): the GCM tag authenticates every read, and the sample still catches a write-path
 * bug that sealed other bytes than the id names, at a sixteenth of the check's cost (it was a quarter
 * of a get's CPU).
 */
const PLAINTEXT_CHECK_EVERY = 16;
/**
 * Memory fragments are read into (FragmentOpOptions.allocate) and that comes back from the decode
 * (DecodeOptions.recycle), shared by every read of this thread. Fresh memory per fragment was a
 * get's page faults and much of its garbage. Idle: a few read-aheads' worth (5 chunks in flight
 * × 10 fragments × ~0.6 MiB at the default 4 MiB chunk); all of it goes back after 30 s idle.
 */
const fragmentBuffers = new BufferPool({ granule: 64 * 1024, maxIdleBytes: 48 * 2 ** 20, idleTimeoutMs: 30_000 });
const allocateFragment = (length: number): Buffer => fragmentBuffers.take(length);
/** other peers tried for one fragment after its chosen holder failed */
const MAX_REPLACEMENTS = 2;

interface WriteEntry {
  promise: Promise<NewChunk>;
  users: number;
  fragmentIds: string[];
}

export class ChunkIo {
  readonly #c: ChunkIoComponents;
  readonly #init: ChunkIoInit;
  /** running average of fragment read latency (ms), for the hedge delay */
  #latencyMs: number | undefined;
  readonly #cache: LRUCache<string, Buffer> | undefined;
  /** chunk writes in flight, shared by concurrent puts of the same chunk */
  readonly #writes = new Map<string, WriteEntry>();
  readonly #reads = new Map<string, Promise<Buffer>>();
  /** chunk decodes so far, for PLAINTEXT_CHECK_EVERY */
  #decodes = 0;

  constructor(components: ChunkIoComponents, init: ChunkIoInit) {
    this.#c = components;
    this.#init = init;
    this.#cache =
      init.cacheSize > 0
        ? new LRUCache<string, Buffer>({ maxSize: init.cacheSize, sizeCalculation: (b) => Math.max(1, b.length) })
        : undefined;
  }

  static key(tenant: number, chunkId: Buffer): string {
    return `${tenant}:${chunkId.toString('hex')}`;
  }

  /** Stores one chunk (or finds it already stored). Resolves once its fragments are durable. */
  async write(t: TenantChunks, plain: Buffer, options: ChunkWriteOptions = {}): Promise<ChunkHandle> {
    const { index, pins, metrics } = this.#c;
    const plainSize = plain.length;
    let encoded: EncodedChunk | undefined;
    let chunkId: Buffer;
    const t0 = metrics ? process.hrtime.bigint() : 0n;
    if (options.encodeFirst) {
      encoded = await t.codec.encode(plain, undefined, { take: options.take });
      chunkId = encoded.id;
      metrics?.observeStage('encode', since(t0), plainSize);
    } else {
      chunkId = await t.codec.chunkId(plain);
      metrics?.observeStage('hash', since(t0), plainSize);
    }
    const key = ChunkIo.key(t.tenant, chunkId);
    // Pin and look up in the same turn: collectGarbage either deleted the row before (we re-store
    // it) or sees the pin (it keeps the row).
    pins.pinChunk(key);
    let released = false;
    const releaseChunk = (): void => {
      if (!released) pins.unpinChunk(key);
      released = true;
    };
    if (index.chunk(t.tenant, chunkId)) {
      metrics?.addDedup(plainSize, 0);
      return { chunkId, plainSize, existed: true, release: releaseChunk };
    }
    let entry = this.#writes.get(key);
    const existed = entry !== undefined;
    // a chunk another put is storing right now is a duplicate too: its bytes are stored once
    metrics?.addDedup(plainSize, existed ? 0 : plainSize);
    if (!entry) {
      const e: WriteEntry = { promise: undefined as unknown as Promise<NewChunk>, users: 0, fragmentIds: [] };
      e.promise = this.#store(t, chunkId, plain, plainSize, e, encoded, options.take === true);
      // a failed write must not fail puts that arrive later for the same chunk: they retry
      e.promise.catch(() => {
        if (this.#writes.get(key) === e) this.#writes.delete(key);
      });
      entry = e;
      this.#writes.set(key, e);
    }
    entry.users++;
    const e = entry;
    const release = (): void => {
      if (released) return;
      releaseChunk();
      if (--e.users === 0) {
        if (this.#writes.get(key) === e) this.#writes.delete(key);
        pins.unpinFragments(e.fragmentIds);
      }
    };
    try {
      const fresh = await e.promise;
      return { chunkId, plainSize, fresh, existed, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  async #store(t: TenantChunks, chunkId: Buffer, plain: Buffer, plainSize: number, entry: WriteEntry, encoded: EncodedChunk | undefined, take: boolean): Promise<NewChunk> {
    const { placement, pins, metrics } = this.#c;
    let enc = encoded;
    if (!enc) {
      const t0 = metrics ? process.hrtime.bigint() : 0n;
      enc = await t.codec.encode(plain, chunkId, { take });
      metrics?.observeStage('encode', since(t0), plainSize);
    }
    entry.fragmentIds = enc.fragments.map((f) => f.id);
    pins.pinFragments(entry.fragmentIds);
    const holders = placement.choose(chunkId, enc.fragments.length);
    if (holders.length < enc.fragments.length) {
      throw new StoreError('Unavailable', `no storage peers to hold the fragments of a chunk (${holders.length} known)`);
    }
    // A holder that fails a put is replaced by the next healthy peer the placement offers (a
    // single-peer placement has none: the put fails), at most MAX_REPLACEMENTS times per fragment.
    const failed = new Set<string>();
    const chosen = holders.map((h) => h.id);
    // The codec hashed every fragment on a worker thread; in-process stores need not do it again.
    const putOptions = { signal: AbortSignal.timeout(this.#init.timeoutMs), idVerified: true };
    // One timeout for the chunk's n fragment puts: each (and each store layer) listens on it, which is
    // expected here and not the listener leak Node's default limit of 10 warns about.
    setMaxListeners(4 * enc.fragments.length + 8, putOptions.signal);
    const tPlace = metrics ? process.hrtime.bigint() : 0n;
    /** a put failed somewhere: its attempt may still be reading the bytes, so they are not recycled */
    let retried = false;
    const quorum = Math.min(enc.fragments.length, this.#init.writeQuorum ?? enc.fragments.length);
    /** per fragment: stored, or the error its last holder gave */
    const outcome = await Promise.all(
      enc.fragments.map(async (f, i): Promise<true | Error> => {
        let peer = holders[i];
        await pins.settled(f.id);
        for (let attempt = 0; ; attempt++) {
          const t0 = Date.now();
          try {
            await peer.store.put(f.id, f.bytes, attempt === 0 ? putOptions : { ...putOptions, signal: AbortSignal.timeout(this.#init.timeoutMs) });
            placement.reportSuccess(peer.id, Date.now() - t0);
            chosen[i] = peer.id;
            return true;
          } catch (err) {
            retried = true;
            placement.reportFailure(peer.id, err);
            failed.add(peer.id);
            const alternatives = placement.choose(chunkId, enc.fragments.length, failed);
            const next = alternatives.find((p) => !chosen.includes(p.id)) ?? alternatives[i];
            if (!next || attempt >= MAX_REPLACEMENTS) {
              // below quorum the whole put fails at once, as it always did with every fragment required
              if (quorum === enc.fragments.length) throw err;
              chosen[i] = peer.id;
              return err instanceof Error ? err : new Error(String(err));
            }
            this.#c.logger.warn({ fragment: f.id, peer: peer.id, next: next.id, err: (err as Error).message }, 'fragment put failed; trying another peer');
            peer = next;
          }
        }
      }),
    );
    const storedCount = outcome.filter((o) => o === true).length;
    const firstError = outcome.find((o): o is Error => o !== true);
    if (storedCount < quorum) {
      throw new StoreError('Unavailable', `only ${storedCount} of the ${quorum} fragments a chunk needs stored could be stored (--write-quorum)`, { cause: firstError });
    }
    if (firstError) {
      this.#c.logger.warn(
        { chunk: chunkId.toString('hex').slice(0, 16), stored: storedCount, n: enc.fragments.length, err: firstError.message },
        'chunk stored below n fragments (write quorum met); the rest are recorded missing for repair',
      );
    }
    const fragments = enc.fragments;
    metrics?.observeStage('place', since(tPlace), fragments.reduce((s, f) => s + f.bytes.length, 0));
    const stored: NewChunk = {
      chunkId,
      plainSize,
      sealedSize: enc.sealedSize,
      compressed: enc.compressed,
      k: t.k,
      n: enc.fragments.length,
      fragments: enc.fragments.map((f, i) => ({ idx: f.index, fragmentId: f.id, size: f.bytes.length, peer: chosen[i], missing: outcome[i] !== true })),
    };
    // Every put resolved, so no store reads the bytes any more (FragmentStore.put): their memory
    // goes back to the codec (fresh memory per chunk was most of a put's RSS and page faults).
    if (!retried) t.codec.recycle(enc);
    return stored;
  }

  /** Plaintext of a stored chunk, from the cache or its fragments. */
  read(t: TenantChunks, chunk: ChunkRow): Promise<Buffer> {
    const key = ChunkIo.key(t.tenant, chunk.chunkId);
    const hit = this.#cache?.get(key);
    if (hit) {
      this.#c.metrics?.countCache('chunk', true);
      return Promise.resolve(hit);
    }
    let p = this.#reads.get(key);
    // a miss = this read goes to the fragments; joining a fetch already in flight is a hit
    this.#c.metrics?.countCache('chunk', p !== undefined);
    if (!p) {
      p = this.#fetch(t, chunk).then((plain) => {
        this.#cache?.set(key, plain);
        return plain;
      });
      const done = p;
      this.#reads.set(key, p);
      void p.then(
        () => this.#reads.delete(key),
        () => this.#reads.delete(key),
      );
      return done;
    }
    return p;
  }

  /**
   * Throws Unavailable when a chunk of a version's bytes [start, end] cannot be read as things
   * stand: fewer than k of its fragments are stored on peers the placement knows and holds
   * healthy, and its plaintext is not cached. Callers run it before a response's first byte, so a
   * read that must fail fails with an error reply instead of a broken body. A chunk with ≥ k such
   * holders passes (a degraded read decodes it); a holder believed live that turns out dead is
   * still found by the read itself.
   * Bounded: only the range's first CHECKED_CHUNKS chunks are examined. The check costs one index
   * statement (a few µs per chunk) and a pass over the placement's peers, no network; past the
   * bound a read takes long enough that the health seen now says little about those chunks, and
   * a chunk found lost there still ends the body with an error, never with wrong bytes.
   */
  checkReadable(t: TenantChunks, version: number, start: number, end: number): void {
    const { index, placement } = this.#c;
    const live = placement.peers().flatMap((p) => (placement.isHealthy(p.id) ? [p.id] : []));
    const lost = index.unreadableChunks(version, start, end, live, CHECKED_CHUNKS).find((r) => !this.#cache?.has(ChunkIo.key(t.tenant, r.chunkId)));
    if (lost) {
      const have = index.fragments(lost.id).filter((f) => f.state === 0 && live.includes(f.peer)).length;
      throw new StoreError('Unavailable', `a chunk at byte ${lost.offset} has ${have} of the ${lost.k} fragments needed on peers believed live`);
    }
  }

  /**
   * One fragment, or null when it cannot be had. `check`: the store hashes it (else the codec does).
   * `cancel`: the read no longer needs it (a hedged request won the race); not the peer's fault.
   */
  async #get(peerId: string, fragmentId: string, check: boolean, cancel?: AbortSignal): Promise<Buffer | null> {
    const { placement, logger } = this.#c;
    const peer = placement.peer(peerId);
    if (!peer) return null;
    const t0 = Date.now();
    const timeout = AbortSignal.timeout(this.#init.timeoutMs);
    try {
      const b = await peer.store.get(fragmentId, { signal: cancel ? AbortSignal.any([timeout, cancel]) : timeout, callerVerifies: !check, allocate: allocateFragment });
      const ms = Date.now() - t0;
      placement.reportSuccess(peer.id, ms);
      this.#latencyMs = this.#latencyMs === undefined ? ms : 0.9 * this.#latencyMs + 0.1 * ms;
      return b;
    } catch (err) {
      if (cancel?.aborted && !timeout.aborted) return null;
      // A missing or corrupt fragment is the peer telling the truth; anything else is ill health.
      if (!isStoreError(err, 'FragmentNotFound') && !isStoreError(err, 'Corrupt')) placement.reportFailure(peer.id, err);
      logger.warn({ fragment: fragmentId, peer: peerId, err: (err as Error).message }, 'fragment read failed; using others');
      return null;
    }
  }

  /**
   * How long the first round of a chunk read may take before its slow tail is hedged: four times
   * the running average of fragment reads, at least HEDGE_MIN_MS (a fast local disk should not
   * double its reads), at most half the timeout.
   */
  #hedgeDelayMs(): number {
    const delay = this.#latencyMs === undefined ? HEDGE_FIRST_MS : 4 * this.#latencyMs;
    return Math.min(this.#init.timeoutMs / 2, Math.max(HEDGE_MIN_MS, delay));
  }

  /**
   * Reads k fragments (data first, on healthy holders first; parity for what is missing or slow)
   * without the store's hash check;
   * the codec hashes the k it uses on a worker, then opens the chunk and checks its id. A fragment
   * that does not match is read once more with the store checking (which quarantines a bad copy
   * and may find a good one on another volume); if that still does not match, parity replaces it.
   */
  async #fetch(t: TenantChunks, chunk: ChunkRow): Promise<Buffer> {
    const frags = new Map(this.#c.index.fragments(chunk.id).map((f) => [f.idx, f]));
    const ids: (string | null)[] = range(0, chunk.n).map((i) => frags.get(i)?.fragmentId ?? null);
    const bufs: (Buffer | null)[] = new Array<Buffer | null>(chunk.n).fill(null);
    const tried = new Set<number>();
    /** fragments read again with the store's own check */
    const rechecked = new Set<number>();
    /** aborted when the read is over: drops hedged stragglers */
    const done = new AbortController();
    const one = async (i: number, check: boolean): Promise<void> => {
      tried.add(i);
      const f = frags.get(i);
      const b = f ? await this.#get(f.peer, f.fragmentId, check, done.signal) : null;
      if (!done.signal.aborted) bufs[i] = b;
      // a hedged straggler, or an answer for a read that already failed: its memory goes back
      else if (b && fragmentBuffers.owns(b)) fragmentBuffers.give(b.buffer);
    };
    const fetch = async (idxs: number[], check: boolean): Promise<void> => {
      await Promise.all(idxs.map((i) => one(i, check)));
    };
    const present = (): number => bufs.filter(Boolean).length;
    // Fragments on holders the placement thinks healthy first (data before parity: all k data
    // fragments make decoding a concatenation), holders marked dead last: a known-dead holder
    // costs a failed request and a second round trip per chunk, so it is only asked when the
    // healthy ones are not enough. sort is stable: index order within each group.
    const holderOf = (i: number): string | undefined => frags.get(i)?.peer;
    const healthy = (i: number): boolean => {
      const peer = holderOf(i);
      return peer !== undefined && this.#c.placement.isHealthy(peer);
    };
    const order = range(0, chunk.n).sort((a, b) => Number(!healthy(a)) - Number(!healthy(b)));
    // then only as many untried fragments as are missing, more if some of those fail too
    const topUp = async (): Promise<void> => {
      for (let next = 0; present() < chunk.k && next < chunk.n; ) {
        const batch: number[] = [];
        for (; next < chunk.n && batch.length < chunk.k - present(); next++) if (!tried.has(order[next])) batch.push(order[next]);
        if (batch.length === 0) break;
        await fetch(batch, false);
      }
    };
    const metrics = this.#c.metrics;
    let tFetch = metrics ? process.hrtime.bigint() : 0n;
    // The first round asks the k best fragments. If some are not back within the hedge delay, as
    // many more healthy ones are asked as are outstanding, and the read goes on as soon as k are
    // present (or everything asked has answered); the stragglers are cancelled when the read ends.
    const firstRound = async (): Promise<void> => {
      const first = order.slice(0, chunk.k);
      const outstanding = new Set(first);
      const round = first.map((i) => one(i, false).finally(() => outstanding.delete(i)));
      let timer: NodeJS.Timeout | undefined;
      const late = await Promise.race([
        Promise.all(round).then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), this.#hedgeDelayMs()))),
      ]);
      clearTimeout(timer);
      // only holders other than the slow ones: on a single peer (the embedded default) a hedge
      // would just queue more reads on the same disk
      const slow = new Set([...outstanding].map(holderOf));
      const extra = late ? order.filter((i) => !tried.has(i) && healthy(i) && !slow.has(holderOf(i))).slice(0, outstanding.size) : [];
      if (extra.length === 0) {
        await Promise.all(round);
        return;
      }
      this.#c.logger.debug({ chunk: chunk.id, slow: [...outstanding], hedged: extra }, 'chunk read: hedging slow fragment reads');
      const asked = [...round, ...extra.map((i) => one(i, false))];
      await new Promise<void>((resolve) => {
        for (const p of asked) void p.then(() => present() >= chunk.k && resolve());
        void Promise.all(asked).then(() => resolve());
      });
    };
    try {
      await firstRound();
      for (;;) {
        await topUp();
        const have = present();
        if (have < chunk.k) {
          throw new StoreError('Unavailable', `only ${have} of the ${chunk.k} fragments needed for a chunk are reachable`);
        }
        const used = bufs.flatMap((b, i) => (b ? [i] : []));
        let tDecode = 0n;
        if (metrics) {
          tDecode = process.hrtime.bigint();
          metrics.observeStage('fetch', Number(tDecode - tFetch) / 1e9, used.reduce((s, i) => s + bufs[i]!.length, 0));
        }
        // take: the fragment buffers move to the worker (no copy on this thread)
        const checkPlaintext = this.#decodes++ % PLAINTEXT_CHECK_EVERY === 0;
        const r = await t.codec.decodeChecked(chunk.chunkId, chunk.sealedSize, chunk.compressed, bufs, ids, { take: true, recycle: fragmentBuffers, erasure: { k: chunk.k, n: chunk.n }, checkPlaintext });
        if (metrics) {
          metrics.observeStage('decode', since(tDecode), r.plain?.length);
          tFetch = process.hrtime.bigint();
        }
        if (r.plain) return r.plain;
        // The moved buffers are gone: the good ones are read again (rare: only after corruption).
        const bad = new Set(r.bad!);
        const again = r.bad!.filter((i) => !rechecked.has(i));
        for (const i of used) {
          bufs[i] = null;
          if (!bad.has(i)) tried.delete(i);
        }
        for (const i of again) rechecked.add(i);
        if (again.length > 0) await fetch(again, true);
      }
    } finally {
      done.abort();
    }
  }

  /** Drops a tenant's cached plaintext (after its keys changed hands, e.g. on close). */
  clearCache(): void {
    this.#cache?.clear();
  }
}
