/**
 * The store's side of repair and status: `RepairIndex` (what backend/network/repair.ts's
 * RepairWorker walks) and `ChunkHealthSource` (what collectStatus counts) over the MetaIndex,
 * plus the gateway's fragment audit, which turns fragments a live holder no longer has (dropped by
 * its scrub, deleted, corrupt) into rows marked missing so the next repair pass rebuilds them.
 *
 * The chunk key handed to repair is the index row id as a decimal string: opaque to the worker,
 * never sent to a peer, and it orders the pages (`after`).
 */
import { isStoreError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Placement } from '../core/placement.js';
import type { MetaIndex } from '../index/meta-index.js';
import type { DegradedChunk, RepairIndex } from '../network/repair.js';
import type { ChunkHealth, ChunkHealthSource } from '../network/status.js';

export class MetaRepairIndex implements RepairIndex, ChunkHealthSource {
  readonly #index: MetaIndex;

  constructor(index: MetaIndex) {
    this.#index = index;
  }

  degradedChunks(limit: number, deadPeers: ReadonlySet<string>, after?: string): Promise<DegradedChunk[]> {
    const rows = this.#index.degradedChunks(limit, [...deadPeers], after === undefined ? 0 : Number(after));
    return Promise.resolve(
      rows.map((c) => ({
        chunkId: String(c.id),
        k: c.k,
        n: c.n,
        fragments: this.#index.fragments(c.id).map((f) => ({ index: f.idx, fragmentId: f.fragmentId, peerId: f.state === 0 ? f.peer : undefined })),
      })),
    );
  }

  /** A chunk collected while it was being repaired has no row left: nothing to record, not an error. */
  recordFragment(chunkId: string, index: number, fragmentId: string, peerId: string): Promise<void> {
    this.#index.moveFragment(Number(chunkId), index, fragmentId, peerId);
    return Promise.resolve();
  }

  chunkHealth(deadPeers: ReadonlySet<string>): Promise<ChunkHealth> {
    return Promise.resolve(this.#index.chunkHealth([...deadPeers]));
  }
}

export interface AuditInit {
  /** fragment rows checked per call (default 256) */
  limit?: number;
  /** GET and re-hash each fragment (catches silent corruption) instead of HEAD (default false) */
  verify?: boolean;
  /** only rows held by this peer */
  peer?: string;
  /** per request (default 30 s) */
  timeoutMs?: number;
}

export interface AuditComponents {
  index: MetaIndex;
  placement: Placement;
  logger: Logger;
}

export interface AuditResult {
  checked: number;
  missing: number;
  /** rows skipped because their holder is unknown or unhealthy (repair handles dead peers) */
  skipped: number;
  /** true when the cursor wrapped around: every stored row was visited since the last wrap */
  wrapped: boolean;
}

/**
 * Walks the stored fragment rows with a cursor, `limit` per call, asking each live holder whether
 * it still has (or, with `verify`, still serves intact) the fragment. A holder answering
 * FragmentNotFound / Corrupt / false gets its row marked missing. Transport errors only feed
 * placement health: the peer may be down, which repair handles through the dead-peer set.
 */
export class FragmentAudit {
  readonly #c: AuditComponents;
  #cursor = { chunk: 0, idx: -1 };

  constructor(components: AuditComponents) {
    this.#c = components;
  }

  async run(init: AuditInit = {}): Promise<AuditResult> {
    const { index, placement, logger } = this.#c;
    const limit = init.limit ?? 256;
    const result: AuditResult = { checked: 0, missing: 0, skipped: 0, wrapped: false };
    while (result.checked + result.skipped < limit) {
      const page = index.storedFragments(this.#cursor, Math.min(256, limit));
      const rows = page.filter((r) => init.peer === undefined || r.peer === init.peer);
      if (page.length === 0) {
        this.#cursor = { chunk: 0, idx: -1 };
        result.wrapped = true;
        break;
      }
      const last = page[page.length - 1];
      this.#cursor = { chunk: last.chunk, idx: last.idx };
      await Promise.all(
        rows.map(async (r) => {
          const peer = placement.peer(r.peer);
          if (!peer || !placement.isHealthy(peer.id)) {
            result.skipped++;
            return;
          }
          const signal = AbortSignal.timeout(init.timeoutMs ?? 30_000);
          let gone = false;
          try {
            if (init.verify) await peer.store.get(r.fragmentId, { signal });
            else gone = !(await peer.store.has(r.fragmentId, { signal }));
          } catch (err) {
            if (isStoreError(err, 'FragmentNotFound') || isStoreError(err, 'Corrupt')) gone = true;
            else {
              placement.reportFailure(peer.id, err);
              result.skipped++;
              return;
            }
          }
          result.checked++;
          if (gone && index.markFragmentMissing(r.chunk, r.idx, r.fragmentId)) {
            result.missing++;
            logger.warn({ fragment: r.fragmentId, peer: r.peer }, 'audit: a holder lost a fragment; marked for repair');
          }
        }),
      );
      if (page.length < Math.min(256, limit)) {
        this.#cursor = { chunk: 0, idx: -1 };
        result.wrapped = true;
        break;
      }
    }
    return result;
  }
}
