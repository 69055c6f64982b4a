/** The embedded default (`peerstor` without a subcommand): gateway and storage peer in one process. */
import type { CliConfig } from '../config.js';
import { buildComponents, NotWiredError, startEmbedded, type Service } from '../compose.js';
import type { CliIo } from '../io.js';
import { serveUntilStopped } from './serve-until-stopped.js';

export async function runEmbedded(config: CliConfig, io: CliIo): Promise<number> {
  const c = await buildComponents(config, io, { openVolumes: true, users: 'generate' });
  const { listen, tlsCert } = config;
  const base = `${tlsCert ? 'https' : 'http'}://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
  c.logger.info(
    {
      s3: base,
      webdav: `${base}/d/`,
      web: `${base}/`,
      sftp: config.sftpListen ? `${config.sftpListen.host}:${config.sftpListen.port}` : undefined,
      ftp: config.ftpListen ? `${config.ftpListen.host}:${config.ftpListen.port}` : undefined,
      users: c.users.size,
      anonymous: config.anonymous,
    },
    'embedded default: gateway and storage peer in one process',
  );
  if (config.bootstrap.length === 0) {
    c.logger.warn(
      `single-peer network: all ${config.erasure.n} fragments of every chunk stay on this machine's volumes; ` +
        'this protects against bit rot, not against losing the machine (join peers with --bootstrap)',
    );
  }
  if (c.users.size === 0 && !config.anonymous) c.logger.warn('no users (--user, --credentials) and no --anonymous: every request will be refused');
  let services: Service[];
  try {
    services = await startEmbedded(c);
  } catch (err) {
    await c.close();
    if (err instanceof NotWiredError) {
      c.logger.error(err.message);
      io.stderr(`peerstor: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  return serveUntilStopped(c, services, io);
}
