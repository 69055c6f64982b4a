/**
 * PeerStore: the real TenantStores. Composes the metadata index (stateDir/index.sqlite), the chunk
 * pipeline (chunker → codec → placement → fragment stores) and the multipart spool
 * (stateDir/spool/). One PeerStore per process and state directory.
 *
 * Lifecycle: `PeerStore.open(init, components)` runs index migrations, removes what a crash left
 * (versions still 'uploading', spool files no part references), and is then ready. `close()`
 * closes the index; it does not close the placement's fragment stores (the composition root owns
 * them).
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ObjectStore, TenantStores, TenantUser } from '../core/object-store.js';
import type { Placement } from '../core/placement.js';
import type { FragmentStore } from '../core/fragment-store.js';
import { LocalPlacement } from './local-placement.js';
import { createMasterKey, deriveTenantKeys, unwrapMasterKey, wrapMasterKey, DEFAULT_KDF_ITERATIONS } from '../crypto/keys.js';
import { DEFAULT_ERASURE } from '../erasure/reed-solomon.js';
import { MetaIndex } from '../index/meta-index.js';
import { meterPlacement } from '../metrics/metered-placement.js';
import type { Metrics } from '../metrics/metrics.js';
import { timeChunker } from '../metrics/timed-chunker.js';
import { ChunkCodec } from './chunk-codec.js';
import { ChunkIo } from './chunk-io.js';
import type { CpuPool } from './cpu-pool.js';
import { HEAD_CHUNKS, type SeamInfo } from './multipart.js';
import { rabinChunkerFactory, type ChunkerFactory } from './chunking.js';
import { Pins } from './pins.js';
import { TenantObjectStore, type StoreContext } from './tenant-store.js';

export interface StoreInit {
  /** index and spool live here (created if missing) */
  stateDir: string;
  /** average chunk size of the content-defined chunker (default 4 MiB, `-c`) */
  avgChunkSize?: number;
  /** Reed-Solomon data / total fragments (default 10 / 16) */
  erasure?: { k: number; n: number };
  /** bytes of decrypted chunks cached in memory (default 64 MiB, `--cache-size`) */
  cacheSize?: number;
  /** chunks fetched ahead of a sequential reader (default 4, `--read-ahead`) */
  readAhead?: number;
  /** deflate chunks where it saves ≥ 1/8 (default false, `--enable-compression`) */
  compression?: boolean;
  /** objects up to this many bytes live sealed in the index, not in fragments (default 4096) */
  inlineThreshold?: number;
  /** minimum size of every part but the last (default 5 MiB) */
  minPartSize?: number;
  /** chunks in flight per put (default 4): bounds memory per put */
  maxConcurrentChunks?: number;
  /** per fragment operation (default 30 s, `--timeout`) */
  timeoutMs?: number;
  /**
   * fragments of a chunk stored before a put is acknowledged (default n: all; at least k+2,
   * `--write-quorum`); the rest are recorded missing and rebuilt by repair
   */
  writeQuorum?: number;
  /** PBKDF2 iterations for new tenants' key wrapping (default 600,000; tests use fewer) */
  kdfIterations?: number;
  /** how long unreferenced chunks and unindexed fragment files are kept (default 1 h) */
  gcGraceMs?: number;
  /** largest object or part (EntityTooLarge), default 5 TiB */
  maxObjectSize?: number;
  /** run collectGarbage() this often while open (default 1 h; 0 = only when called) */
  gcIntervalMs?: number;
  /** chunks of each multipart part held back for seam re-chunking (default 3; see multipart.ts) */
  multipartHeadChunks?: number;
}

export interface StoreComponents {
  logger: Logger;
  placement: Placement;
  /** CPU worker pool for the codec (default: the process-wide shared pool) */
  pool?: CpuPool;
  /** the content-defined chunker (default: backend/chunker's keyed Rabin chunker) */
  chunker?: ChunkerFactory;
  /**
   * Fragment stores that hold only this gateway's fragments, swept for orphans by collectGarbage
   * (default: the local peer's store when the placement is a LocalPlacement, else none). Never
   * list a shared remote peer here: fragments other gateways stored there look like orphans.
   */
  ownedStores?: FragmentStore[];
  /**
   * Optional recording (docs/metrics.md): pipeline stages, the chunk cache, dedup, and every
   * fragment operation per peer (the placement's stores are wrapped; use `PeerStore.placement` to
   * have other users of the placement, e.g. repair, counted too). Undefined = nothing recorded.
   */
  metrics?: Metrics;
}

export interface GcResult {
  /** dead chunks whose fragments were deleted */
  chunks: number;
  /** fragment files deleted (of dead chunks and orphans) */
  fragments: number;
  /** fragment files no index row referenced */
  orphans: number;
}

interface OpenTenant {
  secretDigest: Buffer;
  store: TenantObjectStore;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class PeerStore implements TenantStores {
  readonly index: MetaIndex;
  /** the placement the store uses: components.placement, its stores metered when metrics are given */
  readonly placement: Placement;
  readonly #ctx: StoreContext;
  readonly #init: Required<StoreInit>;
  readonly #components: StoreComponents;
  readonly #tenants = new Map<string, Promise<OpenTenant>>();
  #gcRunning: Promise<GcResult> | undefined;
  #gcTimer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(init: Required<StoreInit>, components: StoreComponents, index: MetaIndex, newChunker: ChunkerFactory) {
    this.#init = init;
    this.#components = components;
    this.index = index;
    const { metrics } = components;
    const placement = metrics ? meterPlacement(components.placement, metrics) : components.placement;
    this.placement = placement;
    const pins = new Pins();
    this.#ctx = {
      index,
      pins,
      io: new ChunkIo({ index, placement, pins, logger: components.logger, metrics }, { cacheSize: init.cacheSize, timeoutMs: init.timeoutMs, writeQuorum: init.writeQuorum }),
      logger: components.logger,
      spoolDir: join(init.stateDir, 'spool'),
      newChunker: metrics ? (seed, avg) => timeChunker(newChunker(seed, avg), metrics) : newChunker,
      metrics,
      pool: components.pool,
      avgChunkSize: init.avgChunkSize,
      inlineThreshold: init.inlineThreshold,
      minPartSize: init.minPartSize,
      maxConcurrentChunks: init.maxConcurrentChunks,
      readAhead: init.readAhead,
      maxObjectSize: init.maxObjectSize,
      headChunks: init.multipartHeadChunks,
    };
  }

  static async open(init: StoreInit, components: StoreComponents): Promise<PeerStore> {
    const erasure = init.erasure ?? DEFAULT_ERASURE;
    const full: Required<StoreInit> = {
      stateDir: init.stateDir,
      avgChunkSize: init.avgChunkSize ?? 4 * 2 ** 20,
      erasure,
      cacheSize: init.cacheSize ?? 64 * 2 ** 20,
      readAhead: init.readAhead ?? 4,
      compression: init.compression ?? false,
      inlineThreshold: init.inlineThreshold ?? 4096,
      minPartSize: init.minPartSize ?? 5 * 2 ** 20,
      maxConcurrentChunks: init.maxConcurrentChunks ?? 4,
      timeoutMs: init.timeoutMs ?? 30_000,
      writeQuorum: init.writeQuorum ?? erasure.n,
      kdfIterations: init.kdfIterations ?? DEFAULT_KDF_ITERATIONS,
      gcGraceMs: init.gcGraceMs ?? 3_600_000,
      maxObjectSize: init.maxObjectSize ?? 5 * 2 ** 40,
      gcIntervalMs: init.gcIntervalMs ?? 3_600_000,
      multipartHeadChunks: init.multipartHeadChunks ?? HEAD_CHUNKS,
    };
    const { k, n } = erasure;
    // never below k+2 (issue 4): with k+1 stored, one more loss before repair makes a chunk unreadable
    const minQuorum = Math.min(k + 2, n);
    if (!Number.isInteger(full.writeQuorum) || full.writeQuorum < minQuorum || full.writeQuorum > n) {
      throw new StoreError('InvalidArgument', `write quorum must be a whole number from ${minQuorum} (k+2) to ${n} (n), got ${full.writeQuorum}`);
    }
    await mkdir(join(full.stateDir, 'spool'), { recursive: true });
    const newChunker = components.chunker ?? (await rabinChunkerFactory());
    const index = MetaIndex.open(join(full.stateDir, 'index.sqlite'));
    const store = new PeerStore(full, components, index, newChunker);
    await store.#recover();
    if (full.gcIntervalMs > 0) {
      store.#gcTimer = setInterval(() => {
        store.collectGarbage().catch((err: unknown) => components.logger.error({ err }, 'garbage collection failed'));
      }, full.gcIntervalMs);
      store.#gcTimer.unref();
    }
    return store;
  }

  /** Removes what a crash left behind: puts still 'uploading', spool files of unrecorded parts. */
  async #recover(): Promise<void> {
    const now = Date.now();
    const stale = this.index.notLive().filter((v) => v.state === 0);
    this.index.tx(() => {
      for (const v of stale) this.index.dropVersion(v.id, now);
    });
    const known = new Set(this.index.allSeams().map((s) => (JSON.parse(s) as SeamInfo).spool));
    let spoolRemoved = 0;
    for (const name of await readdir(this.#ctx.spoolDir)) {
      if (!known.has(name)) {
        await rm(join(this.#ctx.spoolDir, name), { force: true });
        spoolRemoved++;
      }
    }
    if (stale.length > 0 || spoolRemoved > 0) {
      this.#components.logger.info({ interruptedPuts: stale.length, spoolFiles: spoolRemoved }, 'cleaned up after an interrupted run');
    }
  }

  async open(user: TenantUser): Promise<ObjectStore> {
    if (this.#closed) throw new StoreError('Unavailable', 'the store is closed');
    const d = digest(user.secretKey);
    const cached = this.#tenants.get(user.accessKey);
    if (cached) {
      const t = await cached.catch(() => undefined);
      if (t && t.secretDigest.equals(d)) return t.store;
    }
    const p = this.#openTenant(user, d);
    this.#tenants.set(user.accessKey, p);
    try {
      return (await p).store;
    } catch (err) {
      if (this.#tenants.get(user.accessKey) === p) this.#tenants.delete(user.accessKey);
      throw err;
    }
  }

  async #openTenant(user: TenantUser, secretDigest: Buffer): Promise<OpenTenant> {
    let row = this.index.tenant(user.accessKey);
    if (!row) {
      const wrapped = await wrapMasterKey(createMasterKey(), user.secretKey, this.#init.kdfIterations);
      row = this.index.createTenant(user.accessKey, wrapped, Date.now());
    }
    // AccessDenied on a wrong secret; also covers a concurrent first open that won createTenant
    const master = await unwrapMasterKey(row.wrappedKey, user.secretKey);
    const keys = deriveTenantKeys(master);
    master.fill(0);
    const { k, n } = this.#init.erasure;
    const codec = new ChunkCodec({ keys, erasure: { k, n }, compression: this.#init.compression, pool: this.#components.pool });
    const store = new TenantObjectStore(this.#ctx, { id: row.id, keys, chunks: { tenant: row.id, codec, k, n } });
    return { secretDigest, store };
  }

  /** Re-wraps a tenant's master key under a new secret; no data is re-encrypted. AccessDenied on a wrong old secret. */
  async rekeyTenant(accessKey: string, oldSecret: string, newSecret: string): Promise<void> {
    const row = this.index.tenant(accessKey);
    if (!row) throw new StoreError('AccessDenied', `no tenant "${accessKey}"`);
    const master = await unwrapMasterKey(row.wrappedKey, oldSecret);
    const wrapped = await wrapMasterKey(master, newSecret, this.#init.kdfIterations);
    master.fill(0);
    this.index.setTenantKey(row.id, wrapped);
    this.#tenants.delete(accessKey);
  }

  async capacity(): Promise<{ total: number; free: number }> {
    const seen = new Set<unknown>();
    let total = 0;
    let free = 0;
    for (const p of this.placement.peers()) {
      if (seen.has(p.store)) continue;
      seen.add(p.store);
      try {
        const s = await p.store.stat();
        total += s.capacity;
        free += s.free;
      } catch {
        // an unreachable peer contributes nothing
      }
    }
    return { total, free };
  }

  /**
   * Deletes the fragments of chunks unreferenced for longer than the grace period, then fragment
   * files no index row references (orphans of interrupted puts) older than the grace period.
   * Chunks and fragments pinned by operations in flight are skipped. One run at a time.
   */
  collectGarbage(options: { graceMs?: number } = {}): Promise<GcResult> {
    if (this.#closed) return Promise.reject(new StoreError('Unavailable', 'the store is closed'));
    this.#gcRunning ??= this.#collect(options.graceMs ?? this.#init.gcGraceMs).finally(() => {
      this.#gcRunning = undefined;
    });
    return this.#gcRunning;
  }

  async #collect(graceMs: number): Promise<GcResult> {
    const { index, pins, logger } = this.#ctx;
    const placement = this.placement;
    const result: GcResult = { chunks: 0, fragments: 0, orphans: 0 };
    const cutoff = Date.now() - graceMs;
    const deleteFragment = async (peerId: string | undefined, store: FragmentStore | undefined, id: string): Promise<void> => {
      const s = store ?? (peerId !== undefined ? placement.peer(peerId)?.store : undefined);
      if (!s) return;
      const p = s.delete(id, { signal: AbortSignal.timeout(this.#init.timeoutMs) });
      pins.deleting(id, p);
      await p;
      result.fragments++;
    };
    // 1. dead chunks
    while (true) {
      const dead = index.deadChunks(cutoff, 256);
      if (dead.length === 0) break;
      const jobs: Promise<void>[] = [];
      let progressed = false;
      for (const c of dead) {
        if (pins.chunkPinned(ChunkIo.key(c.tenant, c.chunkId))) continue;
        // synchronous with the pin check above: a put either pinned first or will not find the row
        const frags = index.deleteDeadChunk(c.id);
        if (!frags) continue;
        progressed = true;
        result.chunks++;
        for (const f of frags) {
          if (pins.fragmentPinned(f.fragmentId)) continue;
          jobs.push(deleteFragment(f.peer, undefined, f.fragmentId).catch((err: unknown) => {
            logger.warn({ fragment: f.fragmentId, err: (err as Error).message }, 'could not delete a dead fragment; left for the orphan sweep');
          }));
        }
      }
      await Promise.all(jobs);
      if (!progressed) break;
    }
    // 2. orphans: fragment files no index row references, on stores only this gateway writes to
    const owned = this.#components.ownedStores ?? (this.#components.placement instanceof LocalPlacement ? placement.peers().map((p) => p.store) : []);
    for (const store of new Set(owned)) {
      const jobs: Promise<void>[] = [];
      try {
        for await (const e of store.list()) {
          if (e.mtimeMs > cutoff) continue;
          if (pins.fragmentPinned(e.id) || pins.isDeleting(e.id) || index.hasFragment(e.id)) continue;
          result.orphans++;
          jobs.push(deleteFragment(undefined, store, e.id).catch((err: unknown) => {
            logger.warn({ fragment: e.id, err: (err as Error).message }, 'could not delete an orphan fragment');
          }));
          if (jobs.length >= 64) await Promise.all(jobs.splice(0));
        }
      } catch (err) {
        logger.warn({ err: (err as Error).message }, 'could not list a fragment store for garbage collection');
      }
      await Promise.all(jobs);
    }
    if (result.chunks > 0 || result.fragments > 0) logger.info(result, 'garbage collected');
    return result;
  }

  /** Bytes on disk a test or operator can compare: index counts. */
  stats(): { chunks: number; fragments: number; objects: number; refs: number } {
    return this.index.stats();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#gcTimer);
    await this.#gcRunning?.catch(() => undefined);
    this.#ctx.io.clearCache();
    this.#tenants.clear();
    this.index.close();
  }
}

/** Sum of fragment bytes under a directory tree (tests and benches compare stores by it). */
export async function bytesOnDisk(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir, { recursive: true })) {
    const s = await stat(join(dir, name)).catch(() => undefined);
    if (s?.isFile()) total += s.size;
  }
  return total;
}
