/**
 * Starts the file-protocol front ends (WebDAV over a plain http server, SFTP, FTP/FTPS) on
 * 127.0.0.1 ephemeral ports over a TenantStores from a factory, for tests and benches. The default
 * factory is test/helpers/gateway.ts `defaultTestStores` (the one switch for the whole suite);
 * pass `stores` to choose per test.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import type { TenantStores } from '../../backend/core/object-store.js';
import { silentLogger, type Logger } from '../../backend/core/logger.js';
import { defaultTestStores, type StoresFactory, type TestStores } from './gateway.js';
import { UserRegistry, type User } from '../../gateway/common/users.js';
import { LoginThrottle, type LoginThrottleInit } from '../../gateway/common/login-throttle.js';
import { createWebdavHandler, type WebdavInit } from '../../gateway/webdav/index.js';
import { startSftpServer } from '../../gateway/sftp/index.js';
import { startFtpServer } from '../../gateway/ftp/index.js';

export const ALICE: User = { accessKey: 'alice-key', secretKey: 'alice-secret-1' };
export const BOB: User = { accessKey: 'bob-key', secretKey: 'bob-secret-22' };

export interface FileGatewaysInit {
  stores?: StoresFactory;
  users?: User[];
  webdav?: Partial<WebdavInit> | false;
  sftp?: { authorizedKeysFile?: string } | false;
  ftp?: { ftpsOnly?: boolean; pasvPorts?: [number, number] } | false;
  throttle?: LoginThrottleInit;
  logger?: Logger;
}

export interface FileGateways {
  stores: TenantStores;
  users: UserRegistry;
  dir: string;
  throttle: LoginThrottle;
  /** e.g. http://127.0.0.1:PORT/d/ */
  webdavUrl: string;
  webdavPort: number;
  sftp: { host: string; port: number; hostKeyFile: string };
  ftp: { host: string; port: number; certDir: string };
  close(): Promise<void>;
}

function isTestStores(x: TenantStores | TestStores): x is TestStores {
  return 'stores' in x && typeof (x as TestStores).stores?.open === 'function';
}

export async function startFileGateways(init: FileGatewaysInit = {}): Promise<FileGateways> {
  const made = await (init.stores ?? defaultTestStores)();
  const { stores, close: closeStores } = isTestStores(made) ? made : { stores: made, close: undefined };
  const users = new UserRegistry(init.users ?? [ALICE, BOB]);
  const logger = init.logger ?? silentLogger();
  const throttle = new LoginThrottle(init.throttle ?? { freeAttempts: 3, baseDelayMs: 200, maxDelayMs: 1000 });
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-filegw-'));
  const closers: (() => Promise<void>)[] = [];
  const out: FileGateways = {
    stores,
    users,
    dir,
    throttle,
    webdavUrl: '',
    webdavPort: 0,
    sftp: { host: '', port: 0, hostKeyFile: join(dir, 'ssh_host_ed25519_key') },
    ftp: { host: '', port: 0, certDir: join(dir, 'ftp-cert') },
    async close() {
      for (const c of closers.reverse()) await c().catch(() => undefined);
      throttle.close();
      await closeStores?.();
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    if (init.webdav !== false) {
      const dav = createWebdavHandler({ prefix: '/d/', ...init.webdav }, { users, stores, logger, throttle });
      const server = http.createServer((req, res) => dav.handler(req, res));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      out.webdavPort = (server.address() as AddressInfo).port;
      out.webdavUrl = `http://127.0.0.1:${out.webdavPort}/d/`;
      closers.push(async () => {
        await dav.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      });
    }
    if (init.sftp !== false) {
      const s = await startSftpServer(
        { listen: '127.0.0.1:0', hostKeyFile: out.sftp.hostKeyFile, authorizedKeysFile: init.sftp?.authorizedKeysFile },
        { users, stores, logger, throttle },
      );
      out.sftp.host = s.address.host;
      out.sftp.port = s.address.port;
      closers.push(() => s.close());
    }
    if (init.ftp !== false) {
      const f = await startFtpServer(
        { listen: '127.0.0.1:0', certDir: out.ftp.certDir, ftpsOnly: init.ftp?.ftpsOnly, pasvPorts: init.ftp?.pasvPorts },
        { users, stores, logger, throttle },
      );
      out.ftp.host = f.address.host;
      out.ftp.port = f.address.port;
      closers.push(() => f.close());
    }
  } catch (err) {
    await out.close();
    throw err;
  }
  return out;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a real client; never throws on a non-zero exit (tests assert on `code`). */
export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { env: { ...process.env, ...opts.env }, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20, cwd: opts.cwd },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

/** A small tree of files (nested folders, an empty file, a 1.5 MiB file, a UTF-8 name) for copy/check tests. */
export async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'sub', 'deeper'), { recursive: true });
  await writeFile(join(root, 'hello.txt'), 'hello from peerstor\n');
  await writeFile(join(root, 'empty.bin'), '');
  await writeFile(join(root, 'sub', 'grüße.txt'), 'unicode name\n');
  const big = Buffer.alloc(1536 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
  await writeFile(join(root, 'sub', 'deeper', 'big.bin'), big);
}
