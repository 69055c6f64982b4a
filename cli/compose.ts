/**
 * The composition root: the ONE place that turns a CliConfig into running components. Subcommand
 * handlers (cli/commands/) call into it and never construct backend or gateway pieces themselves.
 *
 * What is wired today: logger, CPU affinity, the user list (--user, --credentials, or a key pair
 * generated into <state>/credentials), the state directory, and the local volumes
 * (DiskFragmentStore with --quota).
 *
 * ─── INTEGRATION POINTS ───────────────────────────────────────────────────────────────────────
 * The three functions marked `INTEGRATION` below are where the integrator plugs in the pieces
 * other helpers are building; until then each throws NotWiredError, which the command reports
 * truthfully (exit status 1) instead of pretending to serve. When wiring a flag, delete its
 * `pending` note in cli/flags.ts so --help and the warnings stop calling it "not yet effective".
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger, type Logger } from '../backend/core/logger.js';
import { DiskFragmentStore } from '../backend/fragments/disk-fragment-store.js';
import { GENERATED_CREDENTIALS_FILE, loadOrCreateUsers, parseCredentialsFile, parseUserPair } from '../gateway/common/credentials.js';
import { UserRegistry, type User } from '../gateway/common/users.js';
import type { CliConfig } from './config.js';
import { applyCpuAffinity } from './cpu-affinity.js';
import { isPending } from './flag-spec.js';
import { FLAGS } from './flags.js';
import type { CliIo } from './io.js';
import { UsageError } from './usage-error.js';

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

function usageFromCredentials(err: unknown, file: string | undefined): UsageError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined) return new UsageError(`--credentials: cannot read ${file}: ${code}`);
  const message = err instanceof Error ? err.message : String(err);
  return new UsageError(message.startsWith('--') ? message : `--credentials: ${message}`);
}

/**
 * The users of --user and --credentials (parsed by gateway/common/credentials.ts). With `generate`
 * and neither flag, the key pair stored in <state>/credentials is used, or created on the first
 * start (returned as `generated` so the caller shows it once). With `readStored`, the stored pair
 * is read but never created. Bad entries → UsageError.
 */
export async function loadUsers(
  config: CliConfig,
  mode: { generate?: boolean; readStored?: boolean } = {},
): Promise<{ registry: UserRegistry; generated?: User }> {
  const users = config.users.map((u) => `${u.accessKey}:${u.secretKey}`);
  try {
    if (mode.generate && config.stateDir) {
      const r = await loadOrCreateUsers({ users, credentialsFile: config.credentialsFile, stateDir: config.stateDir });
      return { registry: new UserRegistry(r.users), generated: r.generated };
    }
    const list: User[] = users.map((u) => parseUserPair(u));
    if (config.credentialsFile) list.push(...parseCredentialsFile(await readFile(config.credentialsFile, 'utf8'), config.credentialsFile));
    if (list.length === 0 && mode.readStored && config.stateDir) {
      const stored = join(config.stateDir, GENERATED_CREDENTIALS_FILE);
      const text = await readFile(stored, 'utf8').catch(() => undefined);
      if (text !== undefined) list.push(...parseCredentialsFile(text, stored));
    }
    const registry = new UserRegistry();
    for (const u of list) {
      if (registry.get(u.accessKey)) throw new RangeError(`access key "${u.accessKey}" is given more than once`);
      registry.add(u);
    }
    return { registry };
  } catch (err) {
    throw usageFromCredentials(err, config.credentialsFile);
  }
}

/** Logs a warning for every flag the user set whose effect is not wired yet. */
export function warnPending(config: CliConfig, logger: Logger): void {
  for (const spec of FLAGS) {
    if (isPending(spec, config.command) && config.given.has(spec.name)) {
      logger.warn({ flag: `--${spec.name}` }, `--${spec.name} is not yet effective: ${spec.pending}`);
    }
  }
}

export interface BuildOptions {
  /** open the -v volumes as a DiskFragmentStore (the embedded default and `node`) */
  openVolumes: boolean;
  /** load the users; 'generate' also creates a key pair in the state directory when none is given */
  users?: 'load' | 'generate';
}

export async function buildComponents(config: CliConfig, io: CliIo, options: BuildOptions): Promise<CliComponents> {
  const logger = io.logger ?? createCliLogger(config);
  warnPending(config, logger);
  if (config.cpuAffinity) {
    const r = await applyCpuAffinity(config.cpuAffinity);
    if (r.applied) logger.info({ cpus: r.allowed ?? config.cpuAffinity.join(',') }, 'CPU affinity applied');
    else logger.warn({ reason: r.reason }, `--cpu-affinity ${config.cpuAffinity.join(',')} could not be applied; running on all CPUs`);
  }
  if (options.openVolumes && config.stateDir) await mkdir(config.stateDir, { recursive: true });
  let users = new UserRegistry();
  if (options.users) {
    const loaded = await loadUsers(config, { generate: options.users === 'generate' });
    users = loaded.registry;
    if (loaded.generated) {
      const file = join(config.stateDir!, GENERATED_CREDENTIALS_FILE);
      logger.info({ accessKey: loaded.generated.accessKey, file }, 'generated a user (no --user or --credentials given)');
      io.stderr(`peerstor: generated a user, stored in ${file} (mode 0600): access key ${loaded.generated.accessKey}, secret key ${loaded.generated.secretKey}\n`);
    }
  }
  let fragments: DiskFragmentStore | undefined;
  if (options.openVolumes) {
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
