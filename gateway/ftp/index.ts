/**
 * FTP and explicit FTPS (RFC 959, RFC 2228 / RFC 4217 AUTH TLS, RFC 3659 SIZE/MDTM/REST/MLSD)
 * with ftp-srv, on `--ftp-listen HOST:PORT`. Login with access key / secret (failed logins slowed
 * down by the shared LoginThrottle); `ftpsOnly` refuses USER before AUTH TLS. Passive mode only
 * (`pasvPorts`, `pasvAddress`); active mode (PORT/EPRT) is refused, since it would make the
 * gateway connect out to addresses a client chooses.
 */
import { createRequire } from 'node:module';
import net, { type AddressInfo, type Server } from 'node:net';
import tls from 'node:tls';
import { constants } from 'node:crypto';
import { FtpSrv, type FtpConnection } from 'ftp-srv';
import type { Logger } from '../../backend/core/logger.js';
import type { TenantStores } from '../../backend/core/object-store.js';
import type { Metrics } from '../../backend/metrics/metrics.js';
import type { UserRegistry } from '../common/users.js';
import { LoginThrottle } from '../common/login-throttle.js';
import { PathView, type FsStat } from '../common/path-view.js';
import { parseListen } from '../sftp/index.js';
import { loadOrCreateCertificate } from './certificate.js';
import { StoreFtpFileSystem } from './store-file-system.js';
import { ftpError } from './errors.js';

export interface FtpInit {
  listen: string;
  /** passive data ports, inclusive (default 1024–65535, ftp-srv's search range) */
  pasvPorts?: [number, number];
  /** address announced in PASV replies (default: the listen host, or the client's own address
   *  when it connects from a local network) */
  pasvAddress?: string;
  tlsCert?: string;
  tlsKey?: string;
  /** where a self-signed certificate is generated and kept when no tlsCert is given */
  certDir: string;
  /** refuse logins before AUTH TLS */
  ftpsOnly?: boolean;
  spoolDir?: string;
}

export interface FtpComponents {
  users: UserRegistry;
  stores: TenantStores;
  logger: Logger;
  throttle?: LoginThrottle;
  /** one observation per command (protocol ftp, operation = the verb, code = OK or the 4xx/5xx reply); optional */
  metrics?: Metrics;
}

export interface FtpServer {
  address: { host: string; port: number };
  close(): Promise<void>;
}

interface Command {
  directive: string;
  arg: string | null;
}

interface ConnectionInternals {
  fs: unknown;
  secure: boolean;
  server: { peerstorFtpsOnly?: boolean };
  connector: { waitForConnection(): Promise<unknown>; socket: unknown; end(): void };
  commandSocket: { pause(): void; resume(): void };
  reply(options: unknown, ...letters: unknown[]): Promise<unknown>;
}

type Handler = (this: ConnectionInternals, args: { log: Logger; command: Command }) => unknown;
type Registry = Record<string, { directive: string | string[]; handler: Handler; syntax?: string; description?: string; flags?: Record<string, unknown> }>;

function mlsxFacts(st: FsStat): string {
  const d = st.mtime;
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const modify = `${p(d.getUTCFullYear(), 4)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
  const type = st.type === 'dir' ? 'dir' : 'file';
  const size = st.type === 'file' ? `size=${st.size};` : '';
  const perm = st.type === 'dir' ? 'perm=elcmpf;' : 'perm=radfw;';
  return `type=${type};${size}modify=${modify};${perm} ${st.name}`;
}

interface PassiveInternals {
  connection: { secure: boolean; commandSocket: net.Socket };
  server: {
    options: { tls: tls.SecureContextOptions };
    url: { hostname: string };
    getNextPasvPort(): Promise<number>;
    emit(event: string, data: unknown): void;
  };
  dataSocket: net.Socket | null;
  dataServer: net.Server | null;
  closeServer(): void;
  end(): void;
  setupServer(): Promise<unknown>;
}

/**
 * Writes (a LIST reply is written right after 150) and the final end wait for the TLS handshake:
 * a server TLSSocket would otherwise let them out ahead of it and the client reads garbage.
 */
function holdUntilSecure(socket: tls.TLSSocket): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  const end = socket.end.bind(socket) as (...args: unknown[]) => tls.TLSSocket;
  const held: { kind: 'write' | 'end'; args: unknown[] }[] = [];
  let secure = false;
  socket.once('secure', () => {
    secure = true;
    socket.write = write as typeof socket.write;
    socket.end = end as typeof socket.end;
    for (const h of held.splice(0)) (h.kind === 'write' ? write : end)(...h.args);
  });
  socket.write = ((...args: unknown[]) => {
    if (secure) return write(...args);
    held.push({ kind: 'write', args });
    return true;
  }) as typeof socket.write;
  socket.end = ((...args: unknown[]) => {
    if (secure) return end(...args);
    held.push({ kind: 'end', args });
    return socket;
  }) as typeof socket.end;
}

function normalizeIp(ip: string | undefined): string {
  return (ip ?? '').replace(/^::ffff:/, '');
}

let registryPatched = false;

interface MeteredConnection {
  fs: unknown;
  commands: { parse(message: string): Command; handle(command: string | Command): unknown };
  reply(options?: unknown, ...letters: unknown[]): Promise<unknown>;
}

/**
 * Request metrics for one FTP connection, hooked where ftp-srv dispatches every command
 * (FtpCommands.handle): one observation per command, its code the last reply code the command
 * sent (a 4xx/5xx number, else OK), bytes from the file system's transfer counters. Directives
 * ftp-srv does not know count as OTHER, so labels stay bounded.
 */
function meterConnection(connection: MeteredConnection, metrics: Metrics, known: ReadonlySet<string>): void {
  const commands = connection.commands;
  const handle = commands.handle.bind(commands);
  const reply = connection.reply.bind(connection);
  let lastCode: number | undefined;
  connection.reply = (options?: unknown, ...letters: unknown[]) => {
    const code = typeof options === 'number' ? options : (options as { code?: unknown } | undefined)?.code;
    if (typeof code === 'number') lastCode = code;
    return reply(options, ...letters);
  };
  commands.handle = (command: string | Command) => {
    const parsed = typeof command === 'string' ? commands.parse(command) : command;
    const operation = known.has(parsed.directive) ? parsed.directive : 'OTHER';
    const t0 = process.hrtime.bigint();
    lastCode = undefined;
    const finish = (): void => {
      const moved = connection.fs instanceof StoreFtpFileSystem ? connection.fs.takeTransferred() : { bytesIn: 0, bytesOut: 0 };
      metrics.observeRequest({
        protocol: 'ftp',
        operation,
        code: lastCode === undefined || lastCode < 400 ? 'OK' : String(lastCode),
        seconds: Number(process.hrtime.bigint() - t0) / 1e9,
        ...moved,
      });
    };
    return Promise.resolve(handle(parsed)).then(
      (r) => {
        finish();
        return r;
      },
      (err: unknown) => {
        finish();
        throw err;
      },
    );
  };
}

/**
 * ftp-srv 4.6.3 has no MLSD/MLST and no way to require TLS before login, and its command table is
 * one module-level object; these additions are made once per process and behave per server
 * (ftpsOnly is read from the connection's server).
 */
function patchRegistry(): void {
  if (registryPatched) return;
  registryPatched = true;
  const require = createRequire(import.meta.url);
  const registry = require('ftp-srv/src/commands/registry') as Registry;

  // ftp-srv creates TLS passive data servers that only hand over the socket after the TLS
  // handshake, and waits for that before sending 150; clients that start the handshake after
  // the 150 reply (lftp) then deadlock until 425. Here the data socket is wrapped in TLS at
  // once and handed over immediately (TLS buffers until the handshake is done), which suits both
  // kinds of client. Plain FTP keeps ftp-srv's own code.
  const Passive = require('ftp-srv/src/connector/passive') as { prototype: PassiveInternals };
  const setupServer = Passive.prototype.setupServer;
  Passive.prototype.setupServer = function (this: PassiveInternals) {
    if (!this.connection.secure) return setupServer.call(this);
    this.closeServer();
    return this.server.getNextPasvPort().then((port: number) => {
      this.dataSocket = null;
      // TLS 1.2 on data connections: a TLS 1.3 server sends session tickets after the handshake;
      // a client that only writes (lftp on STOR) never reads them and closes with unread data,
      // so its kernel resets the connection and the end of the upload is lost.
      const secureContext = tls.createSecureContext({
        ...this.server.options.tls,
        maxVersion: 'TLSv1.2',
        secureOptions: constants.SSL_OP_NO_TICKET,
      });
      const dataServer = net.createServer((raw) => {
        if (normalizeIp(raw.remoteAddress) !== normalizeIp(this.connection.commandSocket.remoteAddress)) {
          // Only the client on the control connection may connect (no FTP bounce / data theft).
          raw.destroy();
          return;
        }
        const socket = new tls.TLSSocket(raw, { isServer: true, secureContext }) as tls.TLSSocket & { connected?: boolean };
        socket.on('error', (err) => this.server.emit('client-error', { connection: this.connection, context: 'dataSocket', error: err }));
        socket.once('close', () => this.closeServer());
        holdUntilSecure(socket);
        socket.connected = true;
        this.dataSocket = socket;
      });
      dataServer.maxConnections = 1;
      dataServer.on('error', (err) => this.server.emit('client-error', { connection: this.connection, context: 'dataServer', error: err }));
      dataServer.once('close', () => this.end());
      this.dataServer = dataServer;
      return new Promise<net.Server>((resolve, reject) => {
        dataServer.once('error', reject);
        dataServer.listen(port, this.server.url.hostname, () => {
          dataServer.off('error', reject);
          resolve(dataServer);
        });
      });
    });
  };

  // AUTH TLS (RFC 4217 §4): ftp-srv answers 234 and wraps the control socket later, so a
  // ClientHello arriving in between reaches its FTP parser and is answered in plain text
  // ("wrong version number" in the client, now and then). Here the raw socket is paused and its
  // parser detached before the 234 and reattached after the handshake, so no raw byte is parsed
  // once TLS is requested.
  const auth = registry.AUTH;
  const authHandler = auth.handler;
  registry.AUTH = {
    ...auth,
    handler(args) {
      if (String(args.command.arg ?? '').trim().toUpperCase() !== 'TLS') return authHandler.call(this, args);
      const conn = this as unknown as ConnectionInternals & { commandSocket: net.Socket; server: { options: { tls?: tls.SecureContextOptions } } };
      if (!conn.server.options.tls) return conn.reply(502);
      if (conn.secure) return conn.reply(202);
      const raw = conn.commandSocket;
      raw.pause();
      const parsers = raw.listeners('data') as ((...a: unknown[]) => void)[];
      raw.removeAllListeners('data');
      return conn.reply(234).then(() => {
        const secureSocket = new tls.TLSSocket(raw, { isServer: true, secureContext: tls.createSecureContext(conn.server.options.tls) });
        for (const event of ['data', 'timeout', 'end', 'close', 'drain', 'error']) {
          secureSocket.on(event, (...a: unknown[]) => raw.emit(event, ...a));
        }
        // Reattach the parser only once TLS is up: the raw socket may still flush the buffered
        // ClientHello as 'data' while TLS takes over, and that must reach no one.
        secureSocket.once('secure', () => {
          for (const l of parsers) raw.on('data', l);
        });
        conn.commandSocket = secureSocket;
        conn.secure = true;
      });
    },
  };

  const user = registry.USER;
  const userHandler = user.handler;
  registry.USER = {
    ...user,
    handler(args) {
      if (this.server.peerstorFtpsOnly && !this.secure) return this.reply(530, 'TLS required: send AUTH TLS first');
      return userHandler.call(this, args);
    },
  };

  for (const d of ['PORT', 'EPRT']) {
    registry[d] = { ...registry[d], handler() {
      return this.reply(502, 'Active mode is not supported; use passive mode (PASV/EPSV)');
    } };
  }

  registry.MLST = {
    directive: 'MLST',
    syntax: '{{cmd}} [<path>]',
    description: 'Facts about one file or directory (RFC 3659 §7)',
    flags: { feat: 'MLST type*;size*;modify*;perm*;' },
    async handler({ command }) {
      try {
        const st = await (this.fs as StoreFtpFileSystem).stat(command.arg ?? '.');
        return this.reply(250, 'Listing', { raw: true, message: ` ${mlsxFacts({ ...st, name: st.path })}` }, 'End');
      } catch (err) {
        const e = ftpError(err);
        return this.reply(e.code, e.message);
      }
    },
  };

  registry.MLSD = {
    directive: 'MLSD',
    syntax: '{{cmd}} [<path>]',
    description: 'Machine-readable directory listing (RFC 3659 §7)',
    async handler({ command }) {
      const fs = this.fs as StoreFtpFileSystem;
      try {
        await this.connector.waitForConnection();
        this.commandSocket.pause();
        const self = await fs.stat(command.arg ?? '.');
        if (self.type !== 'dir') {
          await this.reply(501, 'Not a directory');
          return;
        }
        const entries = await fs.entries(command.arg ?? '.');
        const lines = [{ ...self, name: '.' }, ...entries].map((e) => ({ raw: true, message: mlsxFacts(e), socket: this.connector.socket }));
        await this.reply(150);
        await this.reply({}, ...lines);
        await this.reply(226);
      } catch (err) {
        const e = ftpError(err);
        await this.reply(e.code === 550 ? 550 : 451, e.message).catch(() => undefined);
      } finally {
        this.connector.end();
        this.commandSocket.resume();
      }
    },
  };
}

export async function startFtpServer(init: FtpInit, components: FtpComponents): Promise<FtpServer> {
  const { users, stores, logger } = components;
  const log = logger.child({ component: 'ftp' });
  const throttle = components.throttle ?? new LoginThrottle();
  const ownThrottle = !components.throttle;
  patchRegistry();
  const tls = await loadOrCreateCertificate(init);
  const { host, port } = parseListen(init.listen);
  const urlHost = host.includes(':') ? `[${host}]` : host;

  // ftp-srv installs SIGTERM/SIGINT/SIGQUIT handlers that exit the process; the CLI owns signals.
  const before = new Map(['SIGTERM', 'SIGINT', 'SIGQUIT'].map((s) => [s, new Set(process.listeners(s as NodeJS.Signals))]));
  const server = new FtpSrv({
    url: `ftp://${urlHost}:${port}`,
    pasv_url: init.pasvAddress ?? host,
    pasv_min: init.pasvPorts?.[0] ?? 1024,
    pasv_max: init.pasvPorts?.[1] ?? 65535,
    tls: { key: tls.key, cert: tls.cert },
    anonymous: false,
    greeting: 'PeerStor FTP',
    log: log as never,
  });
  for (const [sig, had] of before) {
    for (const l of process.listeners(sig as NodeJS.Signals)) if (!had.has(l)) process.off(sig as NodeJS.Signals, l);
  }
  (server as unknown as { peerstorFtpsOnly?: boolean }).peerstorFtpsOnly = init.ftpsOnly ?? false;

  server.on('login', ({ connection, username, password }, resolve, reject) => {
    const conn = connection as FtpConnection & { secure: boolean };
    if (init.ftpsOnly && !conn.secure) {
      reject(new Error('TLS required: send AUTH TLS first'));
      return;
    }
    throttle
      .attempt(`ip:${conn.ip}`, `key:${username}`, () => users.verify(username, password))
      .then(async (user) => {
        if (!user) throw new Error('Wrong access key or secret');
        const view = new PathView(await stores.open(user));
        resolve({ fs: new StoreFtpFileSystem(connection, view, init.spoolDir) as never });
      })
      .catch((err: Error) => reject(err));
  });
  server.on('client-error', ({ error }) => log.debug({ err: error }, 'ftp client error'));
  if (components.metrics) {
    const metrics = components.metrics;
    const known = new Set(Object.keys(createRequire(import.meta.url)('ftp-srv/src/commands/registry') as Registry));
    // 'connect' (every control connection, before login) is emitted by ftp-srv but not in its types
    (server as unknown as NodeJS.EventEmitter).on('connect', ({ connection }: { connection: MeteredConnection }) => meterConnection(connection, metrics, known));
  }

  await server.listen();
  const addr = (server as unknown as { server: Server }).server.address() as AddressInfo;
  log.info({ host: addr.address, port: addr.port, ftpsOnly: init.ftpsOnly ?? false }, 'FTP listening');
  return {
    address: { host: addr.address, port: addr.port },
    async close() {
      if (ownThrottle) throttle.close();
      await server.close();
    },
  };
}
