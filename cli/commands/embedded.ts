/** The embedded default (`peerstor` without a subcommand): gateway and storage peer in one process. */
import type { CliConfig } from '../config.js';
import { buildComponents, startEmbedded, type Service } from '../compose.js';
import type { CliIo } from '../io.js';
import { serveUntilStopped } from './serve-until-stopped.js';

export async function runEmbedded(config: CliConfig, io: CliIo): Promise<number> {
  const c = await buildComponents(config, io, { openVolumes: true, users: 'generate', lockState: true });
  c.logger.info({ users: c.users.size, anonymous: config.anonymous, state: config.stateDir }, 'embedded default: gateway and storage peer in one process');
  let services: Service[];
  try {
    services = await startEmbedded(c);
  } catch (err) {
    await c.close();
    throw err;
  }
  return serveUntilStopped(c, services, io);
}
