/**
 * `peerstor repair`: for a stopped single-peer gateway (its --state and -v volumes), in two steps:
 * 1. audit: every stored fragment row of the index is read back from the volumes and re-hashed
 *    (FragmentAudit with verify; the disk store quarantines a corrupt file); rows whose fragment is
 *    gone or corrupt are marked missing. Progress in fragments.
 * 2. repair: every degraded chunk (a fragment marked missing) is rebuilt by the library's
 *    RepairWorker.repairChunk from any k good fragments, and the rebuilt fragments are written to
 *    the volumes and recorded. Progress in chunks.
 * Local volumes only: a store on the peer network is refused (openOfflineStore) — its fragments are
 * on other peers, which this offline command does not join; its running gateway audits and repairs
 * every 30 s (SIGUSR2: now). Exit 1 when a chunk could not be rebuilt (fewer than k good fragments).
 */
import { FragmentAudit, MetaRepairIndex } from '../../backend/store/repair-index.js';
import { RepairWorker, type RepairStats } from '../../backend/network/repair.js';
import type { CliConfig } from '../config.js';
import { buildComponents, openOfflineStore } from '../compose.js';
import type { CliIo } from '../io.js';
import { commandProgress, printSummary, NO_TERMINAL, throwIfInterrupted, type Terminal } from './progress.js';

export interface RepairSummary {
  /** fragment rows read back and re-hashed */
  fragmentsChecked: number;
  /** rows found gone or corrupt by the audit (now marked missing) */
  fragmentsMissing: number;
  /** chunks with fewer than n good fragments before the repair */
  chunksDegraded: number;
  chunksRepaired: number;
  fragmentsWritten: number;
  /** chunks with fewer than k good fragments: their objects cannot be read */
  chunksLost: number;
  /** chunks whose repair failed for another reason (see the log) */
  chunksFailed: number;
}

/** fragment rows audited per call: they are read in parallel, so this bounds memory */
const AUDIT_BATCH = 32;
const REPAIR_PAGE = 64;

export async function runRepair(config: CliConfig, io: CliIo, terminal: Terminal = NO_TERMINAL): Promise<number> {
  const c = await buildComponents(config, io, { openVolumes: true, lockState: true });
  try {
    const { store, placement } = await openOfflineStore(c, 'repair', { cacheSize: 0 });
    try {
      const { index } = store;
      const summary: RepairSummary = {
        fragmentsChecked: 0,
        fragmentsMissing: 0,
        chunksDegraded: 0,
        chunksRepaired: 0,
        fragmentsWritten: 0,
        chunksLost: 0,
        chunksFailed: 0,
      };

      // 1. audit every stored fragment row (the cursor wraps once all were visited)
      const audit = new FragmentAudit({ index, placement, logger: c.logger });
      const checking = commandProgress(config, io, c.logger, terminal, { label: 'repair: fragments checked', unit: 'items', total: index.stats().fragments });
      try {
        for (;;) {
          throwIfInterrupted(io, 'repair');
          const r = await audit.run({ limit: AUDIT_BATCH, verify: true, timeoutMs: config.timeoutMs });
          summary.fragmentsChecked += r.checked;
          summary.fragmentsMissing += r.missing;
          checking.add(r.checked + r.skipped);
          if (r.wrapped) break;
        }
      } catch (err) {
        checking.done({ failed: true });
        throw err;
      }
      checking.done({ message: `${summary.fragmentsMissing} missing or corrupt` });

      // 2. rebuild the degraded chunks, one page of the index at a time
      const repairIndex = new MetaRepairIndex(index);
      const health = index.chunkHealth([]);
      summary.chunksDegraded = health.degraded + health.lost;
      // offline nothing competes for the disk: no byte budget worth the name
      const worker = new RepairWorker({ logger: c.logger, bytesPerSecond: 2 ** 50 }, { index: repairIndex, placement });
      const stats: RepairStats = { chunks: 0, repaired: 0, fragmentsWritten: 0, lost: [], failed: 0, bytes: 0 };
      const repairing = commandProgress(config, io, c.logger, terminal, { label: 'repair: chunks', unit: 'items', total: summary.chunksDegraded });
      try {
        let after: string | undefined;
        for (;;) {
          const page = await repairIndex.degradedChunks(REPAIR_PAGE, new Set(), after);
          if (page.length === 0) break;
          after = page[page.length - 1].chunkId;
          for (const chunk of page) {
            throwIfInterrupted(io, 'repair');
            stats.chunks++;
            try {
              const written = await worker.repairChunk(chunk, stats);
              if (written >= 0) {
                stats.repaired++;
                stats.fragmentsWritten += written;
              }
            } catch (err) {
              stats.failed++;
              c.logger.warn({ err, chunk: chunk.chunkId }, 'repair: rebuilding a chunk failed');
            }
            repairing.add(1);
          }
          if (page.length < REPAIR_PAGE) break;
        }
      } catch (err) {
        repairing.done({ failed: true });
        throw err;
      }
      summary.chunksRepaired = stats.repaired;
      summary.fragmentsWritten = stats.fragmentsWritten;
      summary.chunksLost = stats.lost.length;
      summary.chunksFailed = stats.failed;
      repairing.done({ message: `${stats.repaired} repaired, ${stats.fragmentsWritten} fragments written, ${stats.lost.length} lost` });
      if (summary.chunksLost > 0) c.logger.error({ chunks: stats.lost }, 'repair: chunks with fewer than k good fragments cannot be rebuilt; the objects holding them are damaged (peerstor verify lists them)');

      printSummary(config, io, summary);
      return summary.chunksLost > 0 || summary.chunksFailed > 0 ? 1 : 0;
    } finally {
      await store.close();
    }
  } finally {
    await c.close();
  }
}
