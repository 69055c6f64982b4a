/**
 * The typed configuration the composition root and the subcommands work from, built from the
 * merged flag values (defaults < config file < command line) with the checks that involve more
 * than one flag. Everything here is plain data: nothing is opened or started.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { MAX_AVG_CHUNK, MIN_AVG_CHUNK } from '../backend/chunker/params.js';
import { formatSize } from '../backend/core/sizes.js';
import { UserRegistry } from '../gateway/common/users.js';
import type { VolumeSpec } from '../backend/fragments/volume-spec.js';
import type { CommandName } from './flags.js';
import type { FlagValues } from './parse-args.js';
import { UsageError } from './usage-error.js';
import type { HostPort } from './values.js';

export interface CliConfig {
  command: CommandName;
  positionals: string[];
  /** flags the user set (command line or config file), by long name: pending ones are warned about */
  given: Set<string>;
  logLevel: string;
  logFile?: string;
  json: boolean;
  listen: HostPort;
  volumes: VolumeSpec[];
  quota?: number;
  /** absolute; defaults to <first volume>/.peerstor */
  stateDir?: string;
  dhtPort?: number;
  bootstrap: string[];
  networkKeyFile?: string;
  timeoutMs: number;
  chunkSize: number;
  erasure: { k: number; n: number };
  /** undefined: all n fragments */
  writeQuorum?: number;
  cacheSize: number;
  readAhead: number;
  enableCompression: boolean;
  maxUploadChunk: number;
  maxConcurrentUploads: number;
  cpuThreads?: number;
  cpuAffinity?: number[];
  users: { accessKey: string; secretKey: string }[];
  credentialsFile?: string;
  anonymous?: 'ro' | 'rw';
  /** undefined: any SigV4 region is accepted */
  region?: string;
  domain?: string;
  tlsCert?: string;
  tlsKey?: string;
  sftpListen?: HostPort;
  authorizedKeysFile?: string;
  ftpListen?: HostPort;
  ftpsOnly: boolean;
  ftpPasvPorts?: { from: number; to: number };
  ftpPasvAddress?: string;
  gateway: URL;
  /** offline commands, stderr not a terminal: ms between progress log lines */
  progressIntervalMs: number;
}


export function resolveConfig(command: CommandName, positionals: string[], values: FlagValues, given: Set<string>, cwd: string): CliConfig {
  const get = <T>(name: string): T | undefined => values.get(name) as T | undefined;
  const abs = (p: string | undefined): string | undefined => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(cwd, p));

  const volumes = (get<VolumeSpec[]>('volume') ?? []).map((v) => ({ ...v, path: abs(v.path)! }));
  const stateDir = abs(get<string>('state')) ?? (volumes.length > 0 ? join(volumes[0].path, '.peerstor') : undefined);

  const config: CliConfig = {
    command,
    positionals,
    given,
    logLevel: get<string>('log-level') ?? 'info',
    logFile: abs(get<string>('logfile')),
    json: get<boolean>('json') ?? false,
    listen: get<HostPort>('listen') ?? { host: '127.0.0.1', port: 8080 },
    volumes,
    quota: get<number>('quota'),
    stateDir,
    dhtPort: get<number>('dht-port'),
    bootstrap: get<string[]>('bootstrap') ?? [],
    networkKeyFile: abs(get<string>('network-key')),
    timeoutMs: get<number>('timeout') ?? 30_000,
    chunkSize: get<number>('chunk-size') ?? 4 * 2 ** 20,
    erasure: get<{ k: number; n: number }>('erasure') ?? { k: 10, n: 16 },
    writeQuorum: get<number>('write-quorum'),
    cacheSize: get<number>('cache-size') ?? 256 * 2 ** 20,
    readAhead: get<number>('read-ahead') ?? 4,
    enableCompression: get<boolean>('enable-compression') ?? false,
    maxUploadChunk: get<number>('max-upload-chunk') ?? 5 * 2 ** 30,
    maxConcurrentUploads: get<number>('max-concurrent-uploads') ?? 16,
    cpuThreads: get<number>('cpu-threads'),
    cpuAffinity: get<number[]>('cpu-affinity'),
    users: get<{ accessKey: string; secretKey: string }[]>('user') ?? [],
    credentialsFile: abs(get<string>('credentials')),
    anonymous: get<'ro' | 'rw'>('anonymous'),
    region: get<string>('region'),
    domain: get<string>('domain'),
    tlsCert: abs(get<string>('tls-cert')),
    tlsKey: abs(get<string>('tls-key')),
    sftpListen: get<HostPort>('sftp-listen'),
    authorizedKeysFile: abs(get<string>('authorized-keys')),
    ftpListen: get<HostPort>('ftp-listen'),
    ftpsOnly: get<boolean>('ftps-only') ?? false,
    ftpPasvPorts: get<{ from: number; to: number }>('ftp-pasv-ports'),
    ftpPasvAddress: get<string>('ftp-pasv-address'),
    gateway: get<URL>('gateway') ?? new URL('http://127.0.0.1:8080'),
    progressIntervalMs: get<number>('progress-interval') ?? 10_000,
  };
  checkConfig(config);
  return config;
}

function checkConfig(c: CliConfig): void {
  const offline = c.command === 'gc' || c.command === 'scrub' || c.command === 'verify' || c.command === 'repair';
  const needsVolumes = c.command === '' || c.command === 'node' || offline;
  // A gateway on the peer network may store no fragments itself; its index then lives in --state.
  const networkedGateway = c.command === '' && (c.bootstrap.length > 0 || c.networkKeyFile !== undefined || c.dhtPort !== undefined);
  if (needsVolumes && c.volumes.length === 0 && !(networkedGateway && c.given.has('state'))) {
    throw new UsageError(
      networkedGateway
        ? '--volume: a gateway on the peer network without -v volumes needs --state DIR for its index'
        : '--volume: at least one volume is needed (e.g. -v ./data::rw)',
    );
  }
  // gc, scrub and verify also work on read-only volumes (they report what they cannot change)
  const readsOnly = c.command === 'gc' || c.command === 'scrub' || c.command === 'verify';
  if (needsVolumes && !c.volumes.some((v) => v.mode === 'rw') && !readsOnly) {
    // A gateway must keep its index somewhere; with only read-only volumes it needs --state.
    if (!c.given.has('state')) throw new UsageError('--volume: every volume is read-only; give a ::rw volume or --state DIR');
  }
  const paths = new Set<string>();
  for (const v of c.volumes) {
    if (paths.has(v.path)) throw new UsageError(`--volume: ${v.path} is given twice`);
    paths.add(v.path);
  }
  if (c.quota !== undefined && c.quota <= 0) throw new UsageError('--quota: must be larger than 0');
  if (c.chunkSize < MIN_AVG_CHUNK || c.chunkSize > MAX_AVG_CHUNK) {
    throw new UsageError(`--chunk-size: must be from ${formatSize(MIN_AVG_CHUNK)} to ${formatSize(MAX_AVG_CHUNK)}`);
  }
  if (c.cacheSize < c.chunkSize && c.cacheSize !== 0) {
    throw new UsageError('--cache-size: must hold at least one chunk (--chunk-size), or be 0 to disable the cache');
  }
  if (c.readAhead > 64) throw new UsageError('--read-ahead: at most 64 chunks');
  if (c.writeQuorum !== undefined && (c.writeQuorum < Math.min(c.erasure.k + 2, c.erasure.n) || c.writeQuorum > c.erasure.n)) {
    throw new UsageError(`--write-quorum: must be from ${Math.min(c.erasure.k + 2, c.erasure.n)} (K+2) to ${c.erasure.n} (N of --erasure)`);
  }
  if (c.maxConcurrentUploads < 1) throw new UsageError('--max-concurrent-uploads: must be at least 1');
  if (c.maxUploadChunk < 1) throw new UsageError('--max-upload-chunk: must be larger than 0');
  if (c.timeoutMs < 1) throw new UsageError('--timeout: must be longer than 0');
  if (c.progressIntervalMs < 1) throw new UsageError('--progress-interval: must be longer than 0');
  if (c.cpuThreads !== undefined && (c.cpuThreads < 1 || c.cpuThreads > 256)) throw new UsageError('--cpu-threads: must be from 1 to 256');
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
    throw new UsageError(c.tlsCert === undefined ? '--tls-key: needs --tls-cert too' : '--tls-cert: needs --tls-key too');
  }
  if (c.ftpsOnly && c.ftpListen === undefined) throw new UsageError('--ftps-only: needs --ftp-listen');
  const seen = new Set<string>();
  for (const u of c.users) {
    if (seen.has(u.accessKey)) throw new UsageError(`--user: access key "${u.accessKey}" is given twice`);
    seen.add(u.accessKey);
    try {
      new UserRegistry([u]);
    } catch (err) {
      throw new UsageError(`--user: ${(err as Error).message}`);
    }
  }
  if (c.region !== undefined && !/^[a-z0-9-]{1,64}$/.test(c.region)) throw new UsageError(`--region: "${c.region}" is not a region name such as us-east-1`);
}
