/**
 * The composition root: the ONE place that turns a CliConfig into running components. Subcommand
 * handlers (cli/commands/) call into it and never construct backend or gateway pieces themselves.
 *
 * Wired: logger, CPU affinity, the user list (--user, --credentials, or a key pair generated into
 * <state>/credentials), the state directory, the local volumes (DiskFragmentStore with --quota),
 * and for the embedded default the real store (PeerStore over a LocalPlacement, or over the peer
 * network's NetworkPlacement with repair and /-/status) with the HTTP listener (S3, WebDAV /d/,
 * web page /ui/, ops /-/), SFTP and FTP; `peerstor node` (a storage peer on the network).
 *
 * ─── INTEGRATION POINTS ───────────────────────────────────────────────────────────────────────
 * The peer network is wired (startEmbedded with network flags, startStoragePeer for `peerstor
 * node`), and so are the metrics (one Metrics per process, docs/metrics.md). A piece that is not wired
 * throws NotWiredError, which commands report truthfully (exit 1) instead of pretending. When
 * wiring a flag, delete its `pending` note in cli/flags.ts so --help and the warnings stop calling
 * it "not yet effective".
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '../backend/core/logger.js';
import { DiskFragmentStore } from '../backend/fragments/disk-fragment-store.js';
import { CpuPool } from '../backend/store/cpu-pool.js';
import { createMetrics } from '../backend/metrics/metrics.js';
import { withUploadLimits } from '../backend/store/upload-limits.js';
import { readiness } from '../backend/metrics/network-status.js';
import { createOpsHandler } from '../backend/metrics/ops-handler.js';
import { addHealthCollector } from '../backend/metrics/health-collector.js';
import { observeHttpExchange } from '../backend/metrics/http-exchange.js';
import type { Metrics } from '../backend/metrics/metrics.js';
import type { FragmentStore } from '../backend/core/fragment-store.js';
import type { Placement } from '../backend/core/placement.js';
import { PEER_DIR } from '../backend/network/identity.js';
import { startNetworkClient } from '../backend/network/network-client.js';
import { NetworkPlacement } from '../backend/network/network-placement.js';
import { startPeerNode, type PeerNode } from '../backend/network/peer-node.js';
import { RepairWorker } from '../backend/network/repair.js';
import { collectStatus, type StatusComponents } from '../backend/network/status.js';
import { LocalPlacement } from '../backend/store/local-placement.js';
import { PeerStore } from '../backend/store/peer-store.js';
import { FragmentAudit, MetaRepairIndex } from '../backend/store/repair-index.js';
import { GENERATED_CREDENTIALS_FILE, loadOrCreateUsers, parseCredentialsFile, parseUserPair } from '../gateway/common/credentials.js';
import { LoginThrottle } from '../gateway/common/login-throttle.js';
import { UserRegistry, type User } from '../gateway/common/users.js';
import { startFtpServer } from '../gateway/ftp/index.js';
import { createHttpServer } from '../gateway/http-server.js';
import { startSftpServer } from '../gateway/sftp/index.js';
import { createWebHandler } from '../gateway/web/index.js';
import { createWebdavHandler } from '../gateway/webdav/index.js';
import type { CliConfig } from './config.js';
import { applyCpuAffinity } from './cpu-affinity.js';
import { acquireStateLock, type StateLock } from './state-lock.js';
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
  /** the local volumes; present for the single-peer embedded default and `gc` (on the network the storage peer opens them) */
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
  /** take <state>/peerstor.pid: one process at a time may own the index and the volumes */
  lockState?: boolean;
}

export async function buildComponents(config: CliConfig, io: CliIo, options: BuildOptions): Promise<CliComponents> {
  const logger = io.logger ?? createCliLogger(config);
  warnPending(config, logger);
  if (config.cpuAffinity) {
    const r = await applyCpuAffinity(config.cpuAffinity);
    if (r.applied) logger.info({ cpus: r.allowed ?? config.cpuAffinity.join(',') }, 'CPU affinity applied');
    else logger.warn({ reason: r.reason }, `--cpu-affinity ${config.cpuAffinity.join(',')} could not be applied; running on all CPUs`);
  }
  let lock: StateLock | undefined;
  if (options.lockState && config.stateDir) {
    await mkdir(config.stateDir, { recursive: true });
    lock = await acquireStateLock(config.stateDir);
  }
  try {
    return await openComponents(config, io, options, logger, lock);
  } catch (err) {
    await lock?.release();
    throw err;
  }
}

async function openComponents(config: CliConfig, io: CliIo, options: BuildOptions, logger: Logger, lock: StateLock | undefined): Promise<CliComponents> {
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
  // On the network the embedded peer (startPeerNode) opens the volumes itself: never twice.
  if (options.openVolumes && !(config.command === '' && isNetworked(config)) && config.volumes.length > 0) {
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
      await lock?.release();
    },
  };
}

// ─── wiring ─────────────────────────────────────────────────────────────────────────────────────

function hostPort(hp: { host: string; port: number }): string {
  return `${hp.host.includes(':') ? `[${hp.host}]` : hp.host}:${hp.port}`;
}

/** Any of --bootstrap, --network-key, --dht-port puts the embedded default on the peer network. */
export function isNetworked(config: CliConfig): boolean {
  return config.bootstrap.length > 0 || config.networkKeyFile !== undefined || config.dhtPort !== undefined;
}

/** How often the gateway audits fragments and runs a repair pass (SIGUSR2 runs one now). */
export const UPKEEP_INTERVAL_MS = 30_000;
/** fragment rows HEAD-checked per upkeep round: a full audit of a big index spreads over many rounds */
const AUDIT_PER_ROUND = 512;

/** The gateway's view of where fragments go, and what /-/ready and /-/status look at. */
interface GatewayPlacement {
  placement: Placement;
  /** the peer network's pieces; absent for the single-peer LocalPlacement */
  network?: Omit<StatusComponents, 'chunks'>;
  /** readiness floor: 1 on a single machine, k+2 (the default) on the network */
  minPeers?: number;
  services: Service[];
}

async function openPlacement(c: CliComponents, metrics: Metrics): Promise<GatewayPlacement> {
  const { config, logger } = c;
  if (!isNetworked(config)) {
    if (!c.fragments) throw new Error('the single-peer store needs the volumes open (buildComponents openVolumes)');
    return { placement: new LocalPlacement({ store: c.fragments, logger }), minPeers: 1, services: [] };
  }
  const requestTimeoutMs = config.timeoutMs;
  if (config.volumes.length > 0) {
    // gateway plus its own storage peer: one libp2p node, whose membership the placement uses
    const node: PeerNode = await startPeerNode({
      volumes: config.volumes,
      quota: config.quota,
      listen: hostPort({ host: config.listen.host, port: 0 }),
      dhtPort: config.dhtPort ?? 0,
      bootstrap: config.bootstrap,
      networkKeyFile: config.networkKeyFile,
      logger,
      metrics,
    });
    const host = hostname();
    const local = { id: node.peerId, host, store: node.store };
    const placement = new NetworkPlacement({ networkKey: node.networkKey, local, requestTimeoutMs }, { membership: node.controlPlane });
    logger.info(
      { peerId: node.peerId, data: node.dataAddress, dht: node.multiaddrs, networkKey: node.networkKeyPath },
      'on the peer network with a local storage peer',
    );
    return {
      placement,
      network: { placement, membership: node.controlPlane, local: { id: node.peerId, host, stat: () => node.store.stat() } },
      services: [
        { name: 'storage peer', close: () => node.stop() },
        { name: 'placement', close: () => placement.close() },
      ],
    };
  }
  if (!config.stateDir) throw new UsageError('--state: a gateway without -v volumes keeps its index in --state DIR');
  const client = await startNetworkClient({
    stateDir: config.stateDir,
    networkKeyFile: config.networkKeyFile,
    host: config.listen.host,
    dhtPort: config.dhtPort ?? 0,
    bootstrap: config.bootstrap,
    logger,
    placement: { requestTimeoutMs },
  });
  logger.info(
    { dht: client.controlPlane.multiaddrs(), networkKey: client.networkKeyPath },
    'on the peer network as a gateway only: no fragments are stored here',
  );
  return {
    placement: client.placement,
    network: { placement: client.placement, membership: client.controlPlane },
    services: [{ name: 'network client', close: () => client.stop() }],
  };
}

/**
 * Audit + repair on a timer, one round at a time: the audit marks fragments live holders lost,
 * then the RepairWorker (rate-limited) rebuilds every degraded chunk onto new peers.
 */
function startUpkeep(store: PeerStore, placement: Placement, logger: Logger, metrics?: Metrics): { worker: RepairWorker; service: Service } {
  const worker = new RepairWorker({ logger }, { index: new MetaRepairIndex(store.index), placement, metrics });
  const audit = new FragmentAudit({ index: store.index, placement, logger });
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> | undefined;
  let stopped = false;
  const runRound = (): Promise<void> => {
    round ??= (async () => {
      try {
        await audit.run({ limit: AUDIT_PER_ROUND });
        await worker.runOnce();
      } catch (err) {
        logger.error({ err }, 'upkeep round failed');
      } finally {
        round = undefined;
      }
    })();
    return round;
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => void runRound().finally(schedule), UPKEEP_INTERVAL_MS);
    timer.unref();
  };
  const onSignal = (): void => {
    logger.info('SIGUSR2: audit and repair now');
    void runRound();
  };
  process.on('SIGUSR2', onSignal);
  schedule();
  return {
    worker,
    service: {
      name: 'repair',
      async close() {
        stopped = true;
        process.off('SIGUSR2', onSignal);
        clearTimeout(timer);
        await worker.stop();
        await round;
      },
    },
  };
}

/**
 * The embedded default: the real store and every front end: one HTTP listener on --listen (S3 at
 * the root, WebDAV under /d/, the web page under /ui/, ops under /-/), SFTP on --sftp-listen and
 * FTP/FTPS on --ftp-listen when given, all sharing the user list and one login throttle.
 *
 * Placement: without network flags a LocalPlacement on the -v volumes (single peer, all n
 * fragments here, with its warning). With --bootstrap / --network-key / --dht-port the peer
 * network: the -v volumes become a storage peer on the network (data plane on --listen's host,
 * ephemeral port) and placement is a NetworkPlacement over its membership; without -v the gateway
 * stores no fragments and keeps its index in --state. On the network an upkeep timer audits
 * fragments and repairs degraded chunks, and /-/status serves collectStatus().
 *
 * Returns the started pieces in start order; the caller closes them in reverse. If any piece fails
 * to start, those already started are closed before rethrowing.
 *
 * Metrics (/-/metrics, docs/metrics.md): one Metrics for the process, given to every front end
 * (requests), the store (stages, cache, dedup, fragment operations per peer through its metered
 * placement, which upkeep uses too), repair, the embedded storage peer (protocol peer), and a
 * scrape-time recount of chunk health and peers (at most every 30 s).
 */
export async function startEmbedded(c: CliComponents): Promise<Service[]> {
  const { config, logger, users } = c;
  if (!config.stateDir) throw new Error('startEmbedded needs a state directory');
  const services: Service[] = [];
  try {
    const pool = config.cpuThreads !== undefined ? new CpuPool(config.cpuThreads) : undefined;
    if (pool) services.push({ name: 'cpu pool', close: () => pool.close() });
    const metrics = createMetrics();
    const gp = await openPlacement(c, metrics);
    services.push(...gp.services);
    const store = await PeerStore.open(
      {
        stateDir: config.stateDir,
        avgChunkSize: config.chunkSize,
        erasure: config.erasure,
        writeQuorum: config.writeQuorum,
        cacheSize: config.cacheSize,
        readAhead: config.readAhead,
        compression: config.enableCompression,
        timeoutMs: config.timeoutMs,
      },
      { logger, placement: gp.placement, pool, metrics },
    );
    // the store's placement: the same peers, their fragment operations counted per peer
    const { placement } = store;
    services.push({
      name: 'store',
      close: async () => {
        storeOpen = false;
        await store.close();
      },
    });
    let status: (() => Promise<unknown>) | undefined;
    if (gp.network) {
      const upkeep = startUpkeep(store, placement, logger, metrics);
      services.push(upkeep.service);
      const components: StatusComponents = { ...gp.network, chunks: new MetaRepairIndex(store.index) };
      status = async () => ({
        ...(await collectStatus(components)),
        self: gp.network?.local?.id,
        placement: config.erasure,
        at: new Date().toISOString(),
      });
    }

    // One decorator gives every front end the same --max-upload-chunk / --max-concurrent-uploads.
    const stores = withUploadLimits(store, { maxUploadSize: config.maxUploadChunk, maxConcurrentUploads: config.maxConcurrentUploads });

    const throttle = new LoginThrottle();
    services.push({ name: 'login throttle', close: async () => throttle.close() });
    const dav = createWebdavHandler({ prefix: '/d/', anonymous: config.anonymous }, { users, stores, logger, throttle, metrics });
    services.push({ name: 'webdav', close: () => dav.close() });
    const web = createWebHandler({ prefix: '/ui/' }, { logger });
    addHealthCollector({ selfId: gp.network ? gp.network.local?.id : placement.peers()[0]?.id }, { metrics, placement, chunks: new MetaRepairIndex(store.index) });
    // Readiness: the index is open and enough healthy peers are known (1 for a single machine).
    let storeOpen = true;
    const ops = createOpsHandler(
      {},
      {
        metrics,
        logger,
        ready: async () =>
          readiness({
            indexOpen: storeOpen,
            healthyPeers: placement.peers().filter((p) => placement.isHealthy(p.id)).length,
            k: config.erasure.k,
            minPeers: gp.minPeers,
          }),
        status,
      },
    );
    const http = await createHttpServer(
      {
        listen: hostPort(config.listen),
        tlsCert: config.tlsCert,
        tlsKey: config.tlsKey,
        mounts: [
          { prefix: '/d/', handler: dav.handler },
          {
            prefix: web.prefix,
            handler: (req, res) => {
              observeHttpExchange(metrics, req, res, { protocol: 'web', operation: req.method === 'GET' || req.method === 'HEAD' ? req.method : 'OTHER' });
              web.handler(req, res);
            },
          },
          { prefix: ops.prefix, handler: ops.handler },
        ],
        s3: { region: config.region, domain: config.domain },
      },
      { users, stores, logger, metrics },
    );
    services.push({ name: 'http', close: () => http.close() });
    const serving: Record<string, string> = { s3: http.url, webdav: `${http.url}/d/`, web: `${http.url}/ui/`, ops: `${http.url}${ops.prefix}` };

    const spoolDir = join(config.stateDir, 'spool-files');
    if (config.sftpListen || config.ftpListen) await mkdir(spoolDir, { recursive: true });
    if (config.sftpListen) {
      const sftp = await startSftpServer(
        {
          listen: hostPort(config.sftpListen),
          hostKeyFile: join(config.stateDir, 'ssh_host_ed25519_key'),
          authorizedKeysFile: config.authorizedKeysFile,
          spoolDir,
        },
        { users, stores, logger, throttle, metrics },
      );
      services.push({ name: 'sftp', close: () => sftp.close() });
      serving.sftp = hostPort(sftp.address);
    }
    if (config.ftpListen) {
      const ftp = await startFtpServer(
        {
          listen: hostPort(config.ftpListen),
          pasvPorts: config.ftpPasvPorts ? [config.ftpPasvPorts.from, config.ftpPasvPorts.to] : undefined,
          pasvAddress: config.ftpPasvAddress,
          tlsCert: config.tlsCert,
          tlsKey: config.tlsKey,
          certDir: join(config.stateDir, 'ftp-cert'),
          ftpsOnly: config.ftpsOnly,
          spoolDir,
        },
        { users, stores, logger, throttle, metrics },
      );
      services.push({ name: 'ftp', close: () => ftp.close() });
      serving.ftp = hostPort(ftp.address);
    }
    logger.info(serving, 'serving');
    return services;
  } catch (err) {
    for (const s of [...services].reverse()) await s.close().catch((e: unknown) => logger.error({ err: e, service: s.name }, 'failed to stop'));
    throw err;
  }
}

/**
 * `peerstor node`: a storage peer (backend/network/peer-node.ts) on the -v volumes: the data plane
 * on --listen, the DHT on --dht-port, joining through --bootstrap, kept private by --network-key
 * (created when missing; without the flag, kept in the volume and its path logged). The data
 * plane also serves /-/health, /-/ready and /-/metrics (HTTP/2 over TLS, no token: `curl -k
 * --http2 https://HOST:PORT/-/metrics`), with its requests recorded as protocol `peer`.
 */
export async function startStoragePeer(c: CliComponents): Promise<Service[]> {
  const { config, logger } = c;
  const node = await startPeerNode({
    volumes: config.volumes,
    quota: config.quota,
    listen: hostPort(config.listen),
    dhtPort: config.dhtPort ?? 0,
    bootstrap: config.bootstrap,
    networkKeyFile: config.networkKeyFile,
    logger,
    metrics: createMetrics({ labels: { role: 'peer' } }),
  });
  logger.info(
    { peerId: node.peerId, data: node.dataAddress, multiaddrs: node.multiaddrs, networkKey: node.networkKeyPath },
    `storage peer ${node.peerId}: data plane ${node.dataAddress}; others join with --bootstrap ${node.multiaddrs[0] ?? '(no address)'} --network-key ${node.networkKeyPath}`,
  );
  return [{ name: 'storage peer', close: () => node.stop() }];
}

/**
 * The store of a stopped single-peer gateway, for the offline commands (gc, verify, repair): the
 * index in --state over a LocalPlacement on the -v volumes, seen through `wrap` when given (the
 * commands count what passes for their progress). No garbage-collection timer runs. Refuses a
 * store on the peer network: its fragments are on other peers (out of reach offline) and its
 * volumes hold other gateways' fragments; its running gateway collects, audits and repairs.
 */
export async function openOfflineStore(
  c: CliComponents,
  command: string,
  options: { wrap?: (store: FragmentStore) => FragmentStore; cacheSize?: number; erasure?: { k: number; n: number } } = {},
): Promise<{ store: PeerStore; placement: Placement }> {
  const { config, logger } = c;
  if (!c.fragments || !config.stateDir) throw new Error(`${command} needs the volumes open (buildComponents openVolumes)`);
  const onNetwork = [config.stateDir, ...config.volumes.map((v) => v.path)].find((d) => existsSync(join(d, PEER_DIR)));
  if (onNetwork !== undefined) {
    throw new Error(
      `${command}: ${onNetwork} belongs to a store on the peer network; its gateway collects garbage, audits and repairs while it runs, and offline the remote fragments are out of reach and the volumes hold other gateways' fragments`,
    );
  }
  const placement = new LocalPlacement({ store: options.wrap ? options.wrap(c.fragments) : c.fragments, logger });
  const store = await PeerStore.open(
    { stateDir: config.stateDir, gcIntervalMs: 0, cacheSize: options.cacheSize, erasure: options.erasure },
    { logger, placement },
  );
  return { store, placement };
}

/**
 * `peerstor gc`: one collection pass of the store on the volumes: chunks unreferenced for longer
 * than the store's grace period lose their fragments, and fragment files no index row references
 * (orphans of interrupted puts) are deleted. Needs the state lock, so it never runs under a live
 * gateway; refuses a store on the peer network (openOfflineStore).
 */
export async function runGarbageCollection(c: CliComponents, wrap?: (store: FragmentStore) => FragmentStore): Promise<Record<string, number>> {
  const { store } = await openOfflineStore(c, 'gc', { wrap });
  try {
    const r = await store.collectGarbage();
    return { chunks: r.chunks, fragments: r.fragments, orphans: r.orphans };
  } finally {
    await store.close();
  }
}
