/**
 * The composition root: the ONE place that turns a CliConfig into running components. Subcommand
 * handlers (cli/commands/) call into it and never construct backend or gateway pieces themselves.
 *
 * What is wired today: logger, CPU affinity, the user list (--user, --credentials), the state
 * directory, and the local volumes (DiskFragmentStore with --quota).
 *
 * ─── INTEGRATION POINTS ───────────────────────────────────────────────────────────────────────
 * The three functions marked `INTEGRATION` below are where the integrator plugs in the pieces
 * other helpers are building; until then each throws NotWiredError, which the command reports
 * truthfully (exit status 1) instead of pretending to serve. When wiring a flag, delete its
 * `pending` note in cli/flags.ts so --help and the warnings stop calling it "not yet effective".
 */
import { mkdir, readFile } from 'node:fs/promises';
import { createLogger, type Logger } from '../backend/core/logger.js';
import { DiskFragmentStore } from '../backend/fragments/disk-fragment-store.js';
import { UserRegistry } from '../gateway/common/users.js';
import type { CliConfig } from './config.js';
import { applyCpuAffinity } from './cpu-affinity.js';
import { FLAGS } from './flags.js';
import { UsageError } from './usage-error.js';
import { parseUserPair } from './values.js';

/** Something started that must be stopped on shutdown. */
export interface Service {
  name: string;
  close(): Promise<void>;
}

export interface CliComponents {
  config: CliConfig;
  logger: Logger;
  users: UserRegistry;
  /** the local volumes; present for the embedded default and `node` */
  fragments?: DiskFragmentStore;
  /** releases everything above (not the services started from it) */
  close(): Promise<void>;
}

/** A piece the integrator has not plugged in yet: reported as such, never faked. */
export class NotWiredError extends Error {
  constructor(readonly what: string) {
    super(`not wired into this build yet: ${what} (see the INTEGRATION points in cli/compose.ts)`);
    this.name = 'NotWiredError';
  }
}

export function createCliLogger(config: CliConfig): Logger {
  return createLogger({ level: config.logLevel, file: config.logFile });
}

/** Users from --user and --credentials (one AK:SK per line, # comments). Bad entries → UsageError. */
export async function loadUsers(config: CliConfig): Promise<UserRegistry> {
  const registry = new UserRegistry();
  const add = (u: { accessKey: string; secretKey: string }, where: string): void => {
    if (registry.get(u.accessKey)) throw new UsageError(`${where}: access key "${u.accessKey}" is given twice`);
    try {
      registry.add(u);
    } catch (err) {
      throw new UsageError(`${where}: ${(err as Error).message}`);
    }
  };
  for (const u of config.users) add(u, '--user');
  if (config.credentialsFile) {
    let text: string;
    try {
      text = await readFile(config.credentialsFile, 'utf8');
    } catch (err) {
      throw new UsageError(`--credentials: cannot read ${config.credentialsFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const where = `--credentials: ${config.credentialsFile} line ${i + 1}`;
      let pair: { accessKey: string; secretKey: string };
      try {
        pair = parseUserPair(line);
      } catch (err) {
        throw new UsageError(`${where}: ${(err as Error).message}`);
      }
      add(pair, where);
    });
  }
  return registry;
}

/** Logs a warning for every flag the user set whose effect is not wired yet. */
export function warnPending(config: CliConfig, logger: Logger): void {
  for (const spec of FLAGS) {
    if (spec.pending && config.given.has(spec.name) && spec.commands.includes(config.command)) {
      logger.warn({ flag: `--${spec.name}` }, `--${spec.name} is not yet effective: ${spec.pending}`);
    }
  }
}

export interface BuildOptions {
  /** open the -v volumes as a DiskFragmentStore (the embedded default and `node`) */
  openVolumes: boolean;
  logger?: Logger;
}

export async function buildComponents(config: CliConfig, options: BuildOptions): Promise<CliComponents> {
  const logger = options.logger ?? createCliLogger(config);
  warnPending(config, logger);
  if (config.cpuAffinity) {
    const r = await applyCpuAffinity(config.cpuAffinity);
    if (r.applied) logger.info({ cpus: r.allowed ?? config.cpuAffinity.join(',') }, 'CPU affinity applied');
    else logger.warn({ reason: r.reason }, `--cpu-affinity ${config.cpuAffinity.join(',')} could not be applied; running on all CPUs`);
  }
  const users = await loadUsers(config);
  let fragments: DiskFragmentStore | undefined;
  if (options.openVolumes) {
    if (config.stateDir) await mkdir(config.stateDir, { recursive: true });
    fragments = await DiskFragmentStore.open({ volumes: config.volumes, quota: config.quota, logger });
    const stat = await fragments.stat();
    logger.info(
      { volumes: config.volumes.map((v) => `${v.path}::${v.mode}`), state: config.stateDir, ...stat },
      'volumes open',
    );
  }
  return {
    config,
    logger,
    users,
    fragments,
    async close() {
      await fragments?.close();
    },
  };
}

// ─── INTEGRATION ────────────────────────────────────────────────────────────────────────────────

/**
 * INTEGRATION: the embedded default. Plug in, in this order:
 * 1. the local Placement over `c.fragments` (backend/store/local-placement.ts), joined by the
 *    NetworkPlacement when --bootstrap / --dht-port / --network-key are given (backend/network/);
 * 2. the real TenantStores (backend/store/ + backend/index/, index and keys under
 *    c.config.stateDir) with chunkSize, erasure, cacheSize, readAhead, enableCompression,
 *    maxUploadChunk, maxConcurrentUploads, cpuThreads, timeoutMs from c.config;
 * 3. the HTTP server on c.config.listen (gateway/http-server.ts: S3 with region/domain/TLS, WebDAV
 *    under /d/, the web page), SFTP on sftpListen (authorizedKeysFile), FTP on ftpListen (ftpsOnly,
 *    ftpPasvPorts, ftpPasvAddress), all sharing c.users and c.config.anonymous.
 * Return every started piece as a Service; the caller closes them in reverse order on shutdown.
 */
export async function startEmbedded(c: CliComponents): Promise<Service[]> {
  void c;
  throw new NotWiredError('the object store and the front ends (S3, WebDAV, SFTP, FTP)');
}

/**
 * INTEGRATION: `peerstor node`: serve `c.fragments` to gateways over the data plane on
 * c.config.listen and join the DHT (dhtPort, bootstrap, networkKeyFile) from backend/network/.
 */
export async function startStoragePeer(c: CliComponents): Promise<Service[]> {
  void c;
  throw new NotWiredError('the peer network (DHT and data plane)');
}

/**
 * INTEGRATION: `peerstor gc`: open the index under c.config.stateDir and the volumes, run the
 * store's garbage collection once, and return a summary to print (fragments and bytes freed).
 */
export async function runGarbageCollection(c: CliComponents): Promise<Record<string, number>> {
  void c;
  throw new NotWiredError("the store's garbage collector");
}
