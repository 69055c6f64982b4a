/** `peerstor gc`: one garbage-collection pass over the index and the volumes. */
import type { CliConfig } from '../config.js';
import { buildComponents, NotWiredError, runGarbageCollection } from '../compose.js';
import type { CliIo } from '../io.js';

export async function runGc(config: CliConfig, io: CliIo): Promise<number> {
  // The volumes are opened by the integrated collector itself: opening them here would empty
  // their tmp/ directories under a gateway that may be running.
  const c = await buildComponents(config, io, { openVolumes: false });
  try {
    const summary = await runGarbageCollection(c);
    io.stdout(config.json ? JSON.stringify(summary) + '\n' : Object.entries(summary).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n');
    return 0;
  } catch (err) {
    if (err instanceof NotWiredError) {
      io.stderr(`peerstor: gc: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await c.close();
  }
}
