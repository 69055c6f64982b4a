/**
 * The repair worker's algorithm, against a small index interface the store implements.
 *
 * For each degraded chunk (some recorded holder dead, or a fragment known missing): fetch
 * fragments from live recorded holders until k verified ones are in hand (RemoteFragmentStore
 * re-hashes every fragment), rebuild the missing shards with ErasureCoder.reconstruct, and put
 * each rebuilt fragment on a NEW healthy peer (distinct from the chunk's live holders, spread by
 * placement), then record it in the index. Rebuilt fragments have the same bytes, hence the same
 * id, as the originals (RS is deterministic). Fewer than k reachable → the chunk is reported lost
 * and left alone (never guessed at).
 *
 * Rate-limited by a byte budget per second (fetched + written) and a fixed number of chunks in
 * flight, so repair never starves foreground traffic.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Placement } from '../core/placement.js';
import type { Logger } from '../core/logger.js';
import { isStoreError } from '../core/errors.js';
import { ErasureCoder } from '../erasure/reed-solomon.js';
import { decodeFragment, encodeFragment, fragmentIdOf } from '../erasure/fragment.js';
import type { Metrics } from '../metrics/metrics.js';

export interface FragmentLocation {
  /** shard index 0..n-1 */
  index: number;
  fragmentId: string;
  /** recorded holder; undefined when the fragment is known lost (dropped as corrupt, never stored) */
  peerId?: string;
}

export interface DegradedChunk {
  /** the index's opaque chunk key (never sent to peers) */
  chunkId: string;
  k: number;
  n: number;
  /** every recorded fragment of the chunk, at most one per index */
  fragments: FragmentLocation[];
}

/**
 * What repair needs from the metadata index. Contract:
 * - degradedChunks: up to `limit` chunks with fewer than n fragments on peers NOT in `deadPeers`
 *   (or with a fragment recorded lost), each at most once per call, oldest degradation first;
 *   `after` is the last chunkId of the previous page (paging; undefined = from the start).
 * - recordFragment: atomically moves fragment `index` of the chunk to `peerId` (replacing the old
 *   holder); durable before it resolves.
 */
export interface RepairIndex {
  degradedChunks(limit: number, deadPeers: ReadonlySet<string>, after?: string): Promise<DegradedChunk[]>;
  recordFragment(chunkId: string, index: number, fragmentId: string, peerId: string): Promise<void>;
}

export interface RepairInit {
  /** bytes per second of fetch + write traffic; default 64 MiB/s */
  bytesPerSecond?: number;
  /** chunks repaired concurrently; default 2 */
  concurrency?: number;
  /** chunks read from the index per page; default 64 */
  pageSize?: number;
  logger: Logger;
}

export interface RepairComponents {
  index: RepairIndex;
  placement: Placement;
  /** optional: queue length (chunks of the current page not yet started), chunks in progress, results */
  metrics?: Metrics;
}

export interface RepairStats {
  chunks: number;
  repaired: number;
  fragmentsWritten: number;
  lost: string[];
  failed: number;
  bytes: number;
}

/** A token bucket over bytes: waits so that the long-run rate stays under `rate`. */
class ByteBudget {
  #available: number;
  #last = performance.now();
  constructor(readonly rate: number) {
    this.#available = rate;
  }
  async take(bytes: number): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.#available = Math.min(this.rate, this.#available + ((now - this.#last) / 1000) * this.rate);
      this.#last = now;
      if (this.#available >= Math.min(bytes, this.rate)) {
        this.#available -= bytes;
        return;
      }
      await sleep(Math.ceil(((Math.min(bytes, this.rate) - this.#available) / this.rate) * 1000));
    }
  }
}

export class RepairWorker {
  readonly #init: RepairInit;
  readonly #c: RepairComponents;
  readonly #budget: ByteBudget;
  readonly #coders = new Map<string, ErasureCoder>();
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<RepairStats> | undefined;
  #stopped = false;

  constructor(init: RepairInit, components: RepairComponents) {
    this.#init = init;
    this.#c = components;
    this.#budget = new ByteBudget(init.bytesPerSecond ?? 64 * 2 ** 20);
    this.#log = init.logger.child({ component: 'repair' });
  }

  #coder(k: number, n: number): ErasureCoder {
    const key = `${k}/${n}`;
    let c = this.#coders.get(key);
    if (!c) this.#coders.set(key, (c = new ErasureCoder({ k, n })));
    return c;
  }

  #deadPeers(): Set<string> {
    return new Set(this.#c.placement.peers().filter((p) => !this.#c.placement.isHealthy(p.id)).map((p) => p.id));
  }

  /** One pass over every degraded chunk. Concurrent calls share the running pass. */
  runOnce(): Promise<RepairStats> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #pass(): Promise<RepairStats> {
    const stats: RepairStats = { chunks: 0, repaired: 0, fragmentsWritten: 0, lost: [], failed: 0, bytes: 0 };
    const dead = this.#deadPeers();
    const pageSize = this.#init.pageSize ?? 64;
    const metrics = this.#c.metrics;
    let after: string | undefined;
    let active = 0;
    while (!this.#stopped) {
      const page = await this.#c.index.degradedChunks(pageSize, dead, after);
      if (page.length === 0) break;
      after = page[page.length - 1].chunkId;
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < page.length && !this.#stopped) {
          const chunk = page[next++];
          stats.chunks++;
          metrics?.setRepairQueue(page.length - next, ++active);
          try {
            const written = await this.repairChunk(chunk, stats);
            if (written >= 0) {
              stats.repaired++;
              stats.fragmentsWritten += written;
            }
            // a chunk with nothing missing after all is no repair; a lost one (< k reachable) failed
            if (written > 0) metrics?.countRepair('repaired');
            else if (written < 0) metrics?.countRepair('failed');
          } catch (err) {
            stats.failed++;
            metrics?.countRepair('failed');
            this.#log.warn({ err, chunk: chunk.chunkId }, 'chunk repair failed; will retry next pass');
          } finally {
            metrics?.setRepairQueue(page.length - next, --active);
          }
        }
      };
      await Promise.all(Array.from({ length: this.#init.concurrency ?? 2 }, lane));
      if (page.length < pageSize) break;
    }
    metrics?.setRepairQueue(0, 0);
    if (stats.chunks > 0) this.#log.info({ ...stats, lost: stats.lost.length }, 'repair pass done');
    return stats;
  }

  /**
   * Rebuilds the missing fragments of one chunk. Returns the number of fragments written, or -1
   * when fewer than k fragments could be fetched (the chunk id is added to stats.lost).
   */
  async repairChunk(chunk: DegradedChunk, stats: RepairStats): Promise<number> {
    const { k, n } = chunk;
    const placement = this.#c.placement;
    const shards: (Buffer | null)[] = Array.from({ length: n }, () => null);
    const byIndex = new Map(chunk.fragments.map((f) => [f.index, f]));
    const liveHolders = new Set<string>();
    // healthy holders first, the rest only if needed (a peer marked dead may be back)
    const order = [...chunk.fragments].filter((f) => f.peerId).sort((a, b) => Number(!placement.isHealthy(a.peerId!)) - Number(!placement.isHealthy(b.peerId!)));
    let got = 0;
    const present = new Set<number>();
    for (const f of order) {
      if (got >= k) {
        // enough to decode; still learn whether this holder is alive so we don't rebuild onto it
        continue;
      }
      const peer = placement.peer(f.peerId!);
      if (!peer || !placement.isHealthy(peer.id)) continue;
      try {
        const bytes = await peer.store.get(f.fragmentId);
        await this.#budget.take(bytes.length);
        stats.bytes += bytes.length;
        const frag = decodeFragment(bytes);
        if (frag.index !== f.index || frag.k !== k || frag.n !== n) continue;
        shards[f.index] = frag.shard;
        present.add(f.index);
        liveHolders.add(peer.id);
        got++;
      } catch (err) {
        if (!isStoreError(err, 'FragmentNotFound') && !isStoreError(err, 'Corrupt')) placement.reportFailure(peer.id, err);
      }
    }
    if (got < k) {
      stats.lost.push(chunk.chunkId);
      return -1;
    }
    // fragments we did not fetch are fine if their holder is healthy and has them
    const missing: number[] = [];
    for (let i = 0; i < n; i++) {
      if (present.has(i)) continue;
      const f = byIndex.get(i);
      const holder = f?.peerId ? placement.peer(f.peerId) : undefined;
      if (f && holder && placement.isHealthy(holder.id)) {
        try {
          if (await holder.store.has(f.fragmentId)) {
            liveHolders.add(holder.id);
            continue;
          }
        } catch (err) {
          placement.reportFailure(holder.id, err);
        }
      }
      missing.push(i);
    }
    if (missing.length === 0) return 0;
    const all = await this.#coder(k, n).reconstruct(shards);
    let written = 0;
    for (const i of missing) {
      const bytes = encodeFragment({ k, n, index: i }, all[i]);
      const id = fragmentIdOf(bytes);
      const expected = byIndex.get(i)?.fragmentId;
      if (expected && expected !== id) throw new Error(`rebuilt fragment ${i} of ${chunk.chunkId} does not match its recorded id`);
      // a new holder distinct from the chunk's others; with too few peers left, any healthy one
      const target = placement.choose(Buffer.from(id, 'hex'), 1, liveHolders)[0] ?? placement.choose(Buffer.from(id, 'hex'), 1)[0];
      if (!target) throw new Error('no healthy peer to place a rebuilt fragment on');
      await this.#budget.take(bytes.length);
      await target.store.put(id, bytes);
      stats.bytes += bytes.length;
      await this.#c.index.recordFragment(chunk.chunkId, i, id, target.id);
      liveHolders.add(target.id);
      written++;
    }
    return written;
  }

  /** Runs a pass every `intervalMs` until stop(). */
  start(intervalMs: number): void {
    const tick = (): void => {
      if (this.#stopped) return;
      this.runOnce()
        .catch((err: unknown) => this.#log.error({ err }, 'repair pass failed'))
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(tick, intervalMs).unref();
        });
    };
    this.#timer = setTimeout(tick, intervalMs).unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running?.catch(() => undefined);
  }
}
