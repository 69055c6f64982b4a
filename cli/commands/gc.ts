/** `peerstor gc`: one garbage-collection pass over the index and the volumes (never under a running gateway). */
import type { CliConfig } from '../config.js';
import { buildComponents, runGarbageCollection } from '../compose.js';
import type { CliIo } from '../io.js';

export async function runGc(config: CliConfig, io: CliIo): Promise<number> {
  const c = await buildComponents(config, io, { openVolumes: true, lockState: true });
  try {
    const summary = await runGarbageCollection(c);
    io.stdout(config.json ? JSON.stringify(summary) + '\n' : Object.entries(summary).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n');
    return 0;
  } finally {
    await c.close();
  }
}
