/**
 * `peerstor gc`: one garbage-collection pass over the index and the volumes (never under a running
 * gateway). Progress counts the fragment files the orphan sweep examines, out of those on the volumes.
 */
import type { FragmentEntry, FragmentStore } from '../../backend/core/fragment-store.js';
import type { Progress } from '../../backend/core/progress.js';
import type { CliConfig } from '../config.js';
import { buildComponents, runGarbageCollection } from '../compose.js';
import type { CliIo } from '../io.js';
import { commandProgress, printSummary, NO_TERMINAL, type Terminal } from './progress.js';

/** The store as gc sees it: the sweep's listing starts a progress (`start`) and counts into it. */
function countingListings(inner: FragmentStore, start: (total: number) => Progress): FragmentStore {
  return {
    put: (id, data, o) => inner.put(id, data, o),
    get: (id, o) => inner.get(id, o),
    has: (id, o) => inner.has(id, o),
    delete: (id, o) => inner.delete(id, o),
    stat: (o) => inner.stat(o),
    close: () => inner.close(),
    async *list(o): AsyncIterable<FragmentEntry> {
      // the count of files at the start of the sweep, after the dead chunks' fragments are gone
      const progress = start((await inner.stat(o)).fragments);
      for await (const e of inner.list(o)) {
        progress.add(1);
        yield e;
      }
    },
  };
}

export async function runGc(config: CliConfig, io: CliIo, terminal: Terminal = NO_TERMINAL): Promise<number> {
  const c = await buildComponents(config, io, { openVolumes: true, lockState: true });
  let progress: Progress | undefined;
  const start = (total: number): Progress => {
    progress?.done();
    progress = commandProgress(config, io, c.logger, terminal, { label: 'gc: fragment files swept', unit: 'items', total });
    return progress;
  };
  try {
    const summary = await runGarbageCollection(c, (store) => countingListings(store, start));
    progress?.done({ message: `${summary.chunks} dead chunks, ${summary.fragments} fragment files deleted (${summary.orphans} orphans)` });
    printSummary(config, io, summary);
    return 0;
  } catch (err) {
    progress?.done({ failed: true });
    throw err;
  } finally {
    await c.close();
  }
}
