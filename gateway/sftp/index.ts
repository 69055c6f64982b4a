/**
 * SFTP (draft-ietf-secsh-filexfer-02, protocol version 3) over ssh2, on `--sftp-listen HOST:PORT`.
 * Login: password = access key / secret (failed logins slowed down by the shared LoginThrottle),
 * or public key from `--authorized-keys FILE` (format in keys.ts) or the user registry. Each
 * session sees its tenant's path view; reads stream from the store, sequential writes stream into
 * putObject (sequential-upload.ts), random-offset ones spool to a temp file and commit on close
 * (gateway/common/spool.ts).
 */
import net from 'node:net';
import ssh2 from 'ssh2';
import { readFile } from 'node:fs/promises';
import { timingSafeEqual } from 'node:crypto';
import type { Logger } from '../../backend/core/logger.js';
import type { Metrics } from '../../backend/metrics/metrics.js';
import type { TenantStores } from '../../backend/core/object-store.js';
import type { User, UserRegistry } from '../common/users.js';
import { LoginThrottle } from '../common/login-throttle.js';
import { PathView } from '../common/path-view.js';
import { loadOrCreateHostKey, parseAuthorizedKeys, parsePublicKey } from './keys.js';
import { SftpSession } from './session.js';

export interface SftpInit {
  /** HOST:PORT; port 0 picks a free one */
  listen: string;
  hostKeyFile: string;
  authorizedKeysFile?: string;
  /** temp directory for write spools (default os.tmpdir()) */
  spoolDir?: string;
}

export interface SftpComponents {
  users: UserRegistry;
  stores: TenantStores;
  logger: Logger;
  throttle?: LoginThrottle;
  /** request metrics (protocol sftp; see session.ts for what counts as one); optional */
  metrics?: Metrics;
}

export interface SftpServer {
  address: { host: string; port: number };
  close(): Promise<void>;
}

/**
 * Ciphers offered, AES-GCM only first. The client's order decides (RFC 4253 §7.1) and OpenSSH
 * lists chacha20-poly1305 first, so it is not offered at all: with AES-NI, AES-GCM costs both
 * ends less CPU (measured: gateway ≈ 35 % less per MiB, and the client shares the machine).
 * Every OpenSSH since 6.2, PuTTY, WinSCP and Go's x/crypto speak AES-GCM or AES-CTR.
 */
export const CIPHERS: ssh2.CipherAlgorithm[] = ['aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'];

/**
 * ssh2 writes every SSH packet to the socket on its own: an upload's 32 KiB WRITEs each get a
 * small STATUS reply, one syscall each (on loopback the syscall also pays the receiver's kernel
 * work: 25 % of the gateway's upload CPU). Corking the socket at the first small packet of a
 * tick and uncorking on the next tick sends the replies to one batch of requests in one writev.
 * Order is unchanged: a corked socket queues writes in order. (Corking every packet made
 * downloads slower: large packets gain nothing from waiting.)
 */
function tickBatcher(sock: net.Socket | undefined): ((size: number) => void) | undefined {
  if (!sock || typeof sock.cork !== 'function') return undefined;
  let corked = false;
  const flush = (): void => {
    corked = false;
    sock.uncork();
  };
  return (size) => {
    if (corked || size > SMALL_PACKET) return;
    corked = true;
    sock.cork();
    process.nextTick(flush);
  };
}

const SMALL_PACKET = 1024;

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen.trim());
  if (!m) throw new RangeError(`listen address "${listen}" is not HOST:PORT`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

async function keysFor(init: SftpInit, user: User | undefined, accessKey: string): Promise<ssh2.ParsedKey[]> {
  const out: ssh2.ParsedKey[] = [];
  for (const line of user?.authorizedKeys ?? []) {
    const k = parsePublicKey(line);
    if (k) out.push(k);
  }
  if (init.authorizedKeysFile) {
    const text = await readFile(init.authorizedKeysFile, 'utf8').catch(() => '');
    for (const k of parseAuthorizedKeys(text).keys) if (k.accessKey === accessKey) out.push(k.key);
  }
  return out;
}

export async function startSftpServer(init: SftpInit, components: SftpComponents): Promise<SftpServer> {
  const { users, stores, logger } = components;
  const log = logger.child({ component: 'sftp' });
  const throttle = components.throttle ?? new LoginThrottle();
  const ownThrottle = !components.throttle;
  const hostKey = await loadOrCreateHostKey(init.hostKeyFile);
  const { host, port } = parseListen(init.listen);
  const clients = new Set<ssh2.Connection>();

  const server = new ssh2.Server({ hostKeys: [hostKey], ident: 'PeerStor', algorithms: { cipher: CIPHERS } }, (client, info) => {
    clients.add(client);
    // Replies are small packets sent while the client streams: Nagle would hold each one back
    // until the previous segment is acknowledged, stalling the client's request pipeline.
    (client as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
    const beforeSend = tickBatcher((client as unknown as { _sock?: net.Socket })._sock);
    const ip = `ip:${info.ip}`;
    let user: User | undefined;
    client.on('error', (err) => log.debug({ err, ip: info.ip }, 'ssh connection error'));
    client.on('close', () => clients.delete(client));
    client.on('authentication', (ctx) => {
      const accessKey = ctx.username;
      // Both login methods end alike: accept the user, or offer the methods again.
      const settle = (u: User | undefined): void => {
        if (u) {
          user = u;
          ctx.accept();
        } else ctx.reject(['password', 'publickey']);
      };
      if (ctx.method === 'password') {
        const password = ctx.password;
        throttle
          .attempt(ip, `key:${accessKey}`, () => users.verify(accessKey, password))
          .then(settle, () => ctx.reject());
        return;
      }
      if (ctx.method === 'publickey') {
        const offered = ctx.key;
        const signature = ctx.signature;
        const blob = ctx.blob;
        const hashAlgo = ctx.hashAlgo;
        throttle
          .attempt(ip, `key:${accessKey}`, async () => {
            const u = users.get(accessKey);
            if (!u) return undefined;
            for (const k of await keysFor(init, u, accessKey)) {
              const pub = k.getPublicSSH();
              if (k.type !== offered.algo || pub.length !== offered.data.length || !timingSafeEqual(pub, offered.data)) continue;
              // Without a signature the client only asks whether this key would do (RFC 4252 §7).
              if (!signature || !blob) return u;
              return k.verify(blob, signature, hashAlgo) === true ? u : undefined;
            }
            return undefined;
          })
          .then(settle, () => ctx.reject());
        return;
      }
      ctx.reject(['password', 'publickey']);
    });
    client.on('ready', () => {
      const authed = user;
      if (!authed) {
        client.end();
        return;
      }
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('sftp', (acceptSftp) => {
          const sftp = acceptSftp();
          const view = stores.open(authed).then((store) => new PathView(store));
          view.catch((err: unknown) => log.error({ err }, 'cannot open tenant store'));
          new SftpSession(sftp, view, { stores, log, spoolDir: init.spoolDir, beforeSend, metrics: components.metrics });
        });
        // No shells, exec or port forwarding: this server only speaks SFTP.
        session.on('shell', (_a, reject) => reject());
        session.on('exec', (_a, reject) => reject());
        session.on('pty', (_a, reject) => reject?.());
      });
      client.on('tcpip', (_a, reject) => reject());
      client.on('request', (_a, reject) => reject?.());
    });
  });
  server.on('error', (err: Error) => log.error({ err }, 'sftp server error'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = (server as unknown as { address(): net.AddressInfo }).address();
  log.info({ host: addr.address, port: addr.port }, 'SFTP listening');
  return {
    address: { host: addr.address, port: addr.port },
    async close() {
      if (ownThrottle) throttle.close();
      for (const c of clients) c.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
