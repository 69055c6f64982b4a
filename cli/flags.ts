/**
 * Every flag of the `peerstor` command: ONE table that drives the parser, the config file, --help
 * and docs/cli.md. A flag whose effect needs a piece the integrator has not wired yet carries
 * `pending` (shown in --help, warned about at run time) until it is wired.
 */
import { parseVolumeSpec } from '../backend/fragments/volume-spec.js';
import { MAX_DATA, MAX_PARITY } from '../backend/erasure/reed-solomon.js';
import type { FlagSpec } from './flag-spec.js';
import {
  oneOf,
  parseCpuList,
  parseErasure,
  parseHostPort,
  parsePortNumber,
  parsePortRange,
  parseUrl,
  parseUserPair,
} from './values.js';

/** Subcommands; '' is the embedded default (gateway + storage peer in one process). */
export const COMMANDS = ['', 'node', 'status', 'rclone-config', 'gc', 'scrub', 'verify', 'repair', 'version', 'help'] as const;
export type CommandName = (typeof COMMANDS)[number];

export const COMMAND_SUMMARIES: Record<CommandName, string> = {
  '': 'the embedded default: gateway and storage peer on the -v volumes, in one process',
  node: 'a storage peer only: keeps fragments on its volumes for gateways on the network',
  status: 'report the volumes (space, fragments, read-only), whether --gateway is ready (its /-/ready; exit 1 if not), and its peers and chunk health (its /-/status)',
  'rclone-config': 'print rclone remotes (S3, WebDAV, and SFTP / FTP when their addresses are given) for --gateway',
  gc: 'delete fragments no object refers to any more (after the store’s 1 h grace period); refuses to run while a gateway uses the same --state',
  scrub:
    're-hash every fragment file on the -v volumes (a gateway’s or a storage peer’s) and quarantine corrupt ones; prints fragments, bytes, corrupt, quarantined; exit 1 if any was corrupt',
  verify:
    'read every object of the given users through the store as GET does (decrypt, decode, check chunk ids, compare size and the MD5 ETag of non-multipart objects); exit 1 on damage',
  repair:
    'check every fragment of the index (re-hash), then rebuild the missing or corrupt fragments of degraded chunks onto the -v volumes; local volumes only (a store on the peer network is repaired by its running gateway); exit 1 if a chunk stays lost',
  version: 'print the version',
  help: 'print help for the command, or for one subcommand (peerstor help node)',
};

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const PEER_ONLY = 'a storage peer makes no fragment requests of its own and runs no codec, so it does not use it';

const E = '';
const ALL: string[] = [E, 'node', 'status', 'rclone-config', 'gc', 'scrub', 'verify', 'repair', 'version', 'help'];
/** the offline maintenance commands: they take the state lock and work on the -v volumes */
const OFFLINE: string[] = ['gc', 'scrub', 'verify', 'repair'];

export const FLAGS: FlagSpec[] = [
  // ---- general ---------------------------------------------------------------------------------
  { name: 'help', short: 'h', type: 'bool', description: 'print help and exit', commands: ALL },
  { name: 'version', type: 'bool', description: 'print the version and exit', commands: ALL },
  {
    name: 'config',
    type: 'string',
    valueName: 'FILE',
    description: 'read flags from FILE instead of ~/.config/peerstor/peerstor.conf (one flag per line; the command line wins)',
    commands: ALL,
  },
  {
    name: 'log-level',
    type: 'string',
    valueName: 'LEVEL',
    default: 'info',
    parse: oneOf(LOG_LEVELS),
    description: `structured (pino) log level: ${LOG_LEVELS.join(', ')}`,
    commands: [E, 'node', ...OFFLINE],
  },
  {
    name: 'logfile',
    type: 'string',
    valueName: 'FILE',
    description: 'write the JSON log lines to FILE instead of stderr',
    commands: [E, 'node', ...OFFLINE],
  },
  { name: 'json', type: 'bool', description: 'print machine-readable JSON', commands: ['status', 'version', ...OFFLINE] },
  {
    name: 'progress-interval',
    type: 'duration',
    valueName: 'DURATION',
    default: '10s',
    description: 'when stderr is not a terminal, time between progress log lines (on a terminal a bar with rate and ETA is redrawn instead)',
    commands: OFFLINE,
  },

  // ---- volumes and state -----------------------------------------------------------------------
  {
    name: 'volume',
    short: 'v',
    type: 'string',
    repeatable: true,
    valueName: 'PATH::rw|ro',
    parse: parseVolumeSpec,
    description: 'a directory that holds fragments; ::ro serves what is there and accepts nothing new; PATH::rw::SIZE sets a quota for that volume',
    commands: [E, 'node', 'status', ...OFFLINE, 'rclone-config'],
  },
  {
    name: 'quota',
    type: 'size',
    valueName: 'SIZE',
    description: 'most bytes of fragments per volume (default: the free space of its file system)',
    commands: [E, 'node'],
  },
  {
    name: 'state',
    type: 'string',
    valueName: 'DIR',
    description: "where the gateway's index and keys live (default: <first volume>/.peerstor; required for a gateway on the peer network without -v)",
    commands: [E, 'node', 'status', ...OFFLINE, 'rclone-config'],
  },

  // ---- network ---------------------------------------------------------------------------------
  {
    name: 'listen',
    type: 'string',
    valueName: 'HOST:PORT',
    default: '127.0.0.1:8080',
    parse: parseHostPort,
    description: 'HTTP address: the S3 API at /, WebDAV under /d/, the web page under /ui/ (for node: the data plane)',
    commands: [E, 'node'],
  },
  {
    name: 'dht-port',
    type: 'string',
    valueName: 'PORT',
    parse: parsePortNumber,
    description: 'TCP port of the DHT / control plane (default: a free port)',
    commands: [E, 'node'],
  },
  {
    name: 'bootstrap',
    type: 'string',
    repeatable: true,
    valueName: 'ADDR',
    description: 'a peer to join the network through: HOST:PORT of its DHT port, or a multiaddr such as /ip4/192.0.2.1/tcp/4001/p2p/12D3…; any of --bootstrap, --network-key, --dht-port puts the embedded default on the peer network',
    commands: [E, 'node'],
  },
  {
    name: 'network-key',
    type: 'string',
    valueName: 'FILE',
    description: 'pre-shared key file that keeps peers and gateways without it out of the network (created with a fresh key when missing; default for node: kept in the volume, path logged)',
    commands: [E, 'node'],
  },
  {
    name: 'timeout',
    type: 'duration',
    valueName: 'DURATION',
    default: '30s',
    description: 'per-operation timeout towards peers (e.g. 30s, 500ms)',
    commands: [E, 'node'],
    pending: PEER_ONLY,
    pendingFor: ['node'],
  },

  // ---- data path -------------------------------------------------------------------------------
  {
    name: 'chunk-size',
    short: 'c',
    type: 'size',
    valueName: 'SIZE',
    default: '4m',
    description: 'average chunk size of content-defined chunking',
    commands: [E],
  },
  {
    name: 'erasure',
    type: 'string',
    valueName: 'K,N',
    default: '10,16',
    parse: (t) => parseErasure(t, MAX_DATA, MAX_PARITY),
    description: `Reed-Solomon: any K of N fragments rebuild a chunk (K,N or K+M with M parity; K ≤ ${MAX_DATA}, N-K ≤ ${MAX_PARITY})`,
    commands: [E],
  },
  {
    name: 'write-quorum',
    type: 'int',
    valueName: 'N',
    description: 'fragments of a chunk stored before a put is acknowledged, the rest recorded missing for repair (K+2 to N of --erasure; default: all N)',
    commands: [E],
  },
  {
    name: 'cache-size',
    type: 'size',
    valueName: 'SIZE',
    default: '256m',
    description: 'memory for the cache of decrypted chunks',
    commands: [E],
  },
  {
    name: 'read-ahead',
    type: 'int',
    valueName: 'N',
    default: '4',
    description: 'chunks fetched ahead of a sequential reader',
    commands: [E],
  },
  {
    name: 'enable-compression',
    type: 'bool',
    description: 'compress chunks before encryption when that makes them smaller',
    commands: [E],
  },
  {
    name: 'max-upload-chunk',
    type: 'size',
    valueName: 'SIZE',
    default: '5g',
    description: 'largest body one upload (S3 PUT or part, WebDAV PUT, SFTP or FTP file) may carry (larger → EntityTooLarge)',
    commands: [E],
  },
  {
    name: 'max-concurrent-uploads',
    type: 'int',
    valueName: 'N',
    default: '16',
    description: 'uploads processed at once over all protocols; more wait their turn',
    commands: [E],
  },
  {
    name: 'cpu-threads',
    type: 'int',
    valueName: 'N',
    description: 'threads for chunking, hashing, encryption and coding (default: one per CPU)',
    commands: [E, 'node'],
    pending: PEER_ONLY,
    pendingFor: ['node'],
  },
  {
    name: 'cpu-affinity',
    type: 'string',
    valueName: 'LIST',
    parse: parseCpuList,
    description:
      'pin the process (all its threads) to these CPUs, e.g. 0,1 or 0-3; applied at start with taskset(1) (Linux, util-linux), since Node cannot call sched_setaffinity itself; without taskset it only logs a warning',
    commands: [E, 'node', ...OFFLINE],
  },

  // ---- users -----------------------------------------------------------------------------------
  {
    name: 'user',
    type: 'string',
    repeatable: true,
    valueName: 'AK:SK',
    parse: parseUserPair,
    description: 'a user (access key : secret key); each access key is its own tenant; for rclone-config, the user to configure; for verify, a tenant whose objects to read',
    commands: [E, 'rclone-config', 'verify'],
  },
  {
    name: 'credentials',
    type: 'string',
    valueName: 'FILE',
    description: 'more users, one AK:SK per line (# comments); without --user and --credentials the first start generates a key pair into <state>/credentials (mode 0600) and prints it once on stderr',
    commands: [E, 'rclone-config', 'verify'],
  },
  {
    name: 'anonymous',
    type: 'string',
    valueName: 'ro|rw',
    parse: oneOf(['ro', 'rw'] as const),
    description: 'let WebDAV requests without credentials read (ro) or also write (rw) the first user’s buckets (S3, SFTP and FTP always need credentials)',
    commands: [E],
  },

  // ---- S3 / HTTP -------------------------------------------------------------------------------
  { name: 'region', type: 'string', valueName: 'REGION', description: 'the S3 region SigV4 signatures must name (default: any region is accepted; rclone-config writes us-east-1)', commands: [E, 'rclone-config'] },
  {
    name: 'domain',
    type: 'string',
    valueName: 'DOMAIN',
    description: 'base domain for virtual-host-style requests (bucket.DOMAIN); path style always works',
    commands: [E],
  },
  { name: 'tls-cert', type: 'string', valueName: 'FILE', description: 'PEM certificate: serve HTTPS on --listen and FTPS with it; needs --tls-key', commands: [E] },
  { name: 'tls-key', type: 'string', valueName: 'FILE', description: 'PEM private key for --tls-cert', commands: [E] },

  // ---- SFTP / FTP ------------------------------------------------------------------------------
  { name: 'sftp-listen', type: 'string', valueName: 'HOST:PORT', parse: parseHostPort, description: 'serve SFTP here (off unless given)', commands: [E, 'rclone-config'] },
  {
    name: 'authorized-keys',
    type: 'string',
    valueName: 'FILE',
    description: 'OpenSSH authorized_keys for SFTP public-key login (the comment field names the access key)',
    commands: [E],
  },
  { name: 'ftp-listen', type: 'string', valueName: 'HOST:PORT', parse: parseHostPort, description: 'serve FTP here (off unless given)', commands: [E, 'rclone-config'] },
  { name: 'ftps-only', type: 'bool', description: 'refuse FTP logins that did not switch to TLS first (AUTH TLS); uses --tls-cert / --tls-key, else a self-signed certificate kept in <state>/ftp-cert', commands: [E, 'rclone-config'] },
  { name: 'ftp-pasv-ports', type: 'string', valueName: 'A-B', parse: parsePortRange, description: 'port range for passive FTP data connections', commands: [E] },
  { name: 'ftp-pasv-address', type: 'string', valueName: 'ADDR', description: 'address announced in PASV replies (default: the control connection’s local address)', commands: [E] },

  // ---- client side -----------------------------------------------------------------------------
  {
    name: 'gateway',
    type: 'string',
    valueName: 'URL',
    default: 'http://127.0.0.1:8080',
    parse: parseUrl,
    description: 'the gateway to talk to (rclone-config: its S3 endpoint; WebDAV is URL/d/)',
    commands: ['status', 'rclone-config'],
  },
];

export function flagsFor(command: CommandName, flags: FlagSpec[] = FLAGS): FlagSpec[] {
  return flags.filter((f) => f.commands.includes(command));
}
