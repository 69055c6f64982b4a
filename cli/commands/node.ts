/** `peerstor node`: a storage peer only (it opens the -v volumes itself). */
import type { CliConfig } from '../config.js';
import { buildComponents, NotWiredError, startStoragePeer, type Service } from '../compose.js';
import type { CliIo } from '../io.js';
import { serveUntilStopped } from './serve-until-stopped.js';

export async function runNode(config: CliConfig, io: CliIo): Promise<number> {
  const c = await buildComponents(config, io, { openVolumes: false, lockState: true });
  let services: Service[];
  try {
    services = await startStoragePeer(c);
  } catch (err) {
    await c.close();
    if (err instanceof NotWiredError) {
      c.logger.error(err.message);
      io.stderr(`peerstor: node: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  return serveUntilStopped(c, services, io);
}
