/**
 * `peerstor scrub`: re-hashes every fragment file on the -v volumes (a stopped gateway's, or a
 * stopped storage peer's: no index is needed) through DiskFragmentStore.scrub, which quarantines
 * files whose bytes no longer hash to their id on writable volumes (read-only volumes keep them
 * and say so in the log). Progress in bytes. Exit 1 when anything was corrupt: the index still
 * names those fragments, so `peerstor repair` (or the running gateway's audit) rebuilds them.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliConfig } from '../config.js';
import { buildComponents } from '../compose.js';
import type { CliIo } from '../io.js';
import { commandProgress, printSummary, InterruptedError, NO_TERMINAL, type Terminal } from './progress.js';

export interface ScrubSummary {
  fragments: number;
  bytes: number;
  corrupt: number;
  /** corrupt files moved to a writable volume's quarantine/ (on read-only volumes they stay) */
  quarantined: number;
  /** ids of the corrupt fragments */
  corruptIds: string[];
}

/** How many of `ids` now have a file `quarantine/<id>.<ms>` on one of the writable volumes. */
async function countQuarantined(config: CliConfig, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const names = new Set<string>();
  for (const v of config.volumes) {
    if (v.mode !== 'rw') continue;
    for (const n of await readdir(join(v.path, 'quarantine')).catch(() => [] as string[])) names.add(n.slice(0, n.lastIndexOf('.')));
  }
  return ids.filter((id) => names.has(id)).length;
}

export async function runScrub(config: CliConfig, io: CliIo, terminal: Terminal = NO_TERMINAL): Promise<number> {
  const c = await buildComponents(config, io, { openVolumes: true, lockState: true });
  try {
    const store = c.fragments;
    if (!store) throw new Error('scrub needs the volumes open (buildComponents openVolumes)');
    const progress = commandProgress(config, io, c.logger, terminal, { label: 'scrub', unit: 'bytes', total: (await store.stat()).used });
    let fragments = 0;
    let bytes = 0;
    let result;
    try {
      result = await store.scrub(
        (p) => {
          fragments = p.checked;
          bytes = p.bytes;
          progress.update(p.bytes);
        },
        { signal: io.signal },
      );
    } catch (err) {
      progress.done({ failed: true });
      if (io.signal.aborted) throw new InterruptedError('scrub');
      throw err;
    }
    progress.done({ message: `${fragments} fragments, ${result.corrupt.length} corrupt` });
    const summary: ScrubSummary = {
      fragments,
      bytes,
      corrupt: result.corrupt.length,
      quarantined: await countQuarantined(config, result.corrupt),
      corruptIds: result.corrupt,
    };
    const lines = [`fragments: ${summary.fragments}`, `bytes: ${summary.bytes}`, `corrupt: ${summary.corrupt}`, `quarantined: ${summary.quarantined}`];
    for (const id of summary.corruptIds) lines.push(`corrupt fragment: ${id}`);
    if (summary.corrupt > 0) lines.push("the store's index still names them: `peerstor repair` (gateway stopped) or the running gateway's audit rebuilds them from the other fragments");
    printSummary(config, io, summary, lines);
    return summary.corrupt > 0 ? 1 : 0;
  } finally {
    await c.close();
  }
}
