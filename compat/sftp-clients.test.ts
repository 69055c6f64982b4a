/**
 * SFTP driven by real clients: OpenSSH `sftp -b` (public-key login through --authorized-keys),
 * rclone's sftp remote (password login), sshfs + borg (init / create / check --verify-data /
 * extract, then a diff of the extracted tree), security probes through the ssh2 client, and the
 * write paths (sequential streaming upload, reordering, fallback to the spool) through raw SFTP
 * requests.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { access, constants, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { ALICE, BOB, makeTree, run, startFileGateways, type FileGateways } from '../test/helpers/file-gateways.js';
import { rcloneConfig } from '../rclone-config/rclone-config.js';
import { loadOrCreateHostKey } from '../gateway/sftp/keys.js';

let gw: FileGateways;
let work: string;
let keyFile: string;

const SSH_OPTS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'];

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'peerstor-sftp-compat-'));
  keyFile = join(work, 'id_ed25519');
  const kg = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
  assert.equal(kg.code, 0, kg.stderr);
  const authorized = join(work, 'authorized_keys');
  await writeFile(authorized, `# test keys\n${ALICE.accessKey} ${(await readFile(`${keyFile}.pub`, 'utf8')).trim()}\n`);
  gw = await startFileGateways({ webdav: false, ftp: false, sftp: { authorizedKeysFile: authorized } });
});

after(async () => {
  await gw.close();
  await rm(work, { recursive: true, force: true });
});

function sshArgs(): string[] {
  return [...SSH_OPTS, '-i', keyFile, '-P', String(gw.sftp.port)];
}

test('host key is generated once and persisted', async () => {
  const key = await readFile(gw.sftp.hostKeyFile, 'utf8');
  assert.match(key, /PRIVATE KEY/);
});

test('generated host keys always parse (ssh2 drops a leading zero byte in 1 of 256); an unparseable one is refused clearly', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-hostkeys-'));
  try {
    // 1000 raw ssh2 keys would contain a broken one with probability 1 − (255/256)^1000 ≈ 98 %.
    for (let i = 0; i < 1000; i++) {
      const key = await loadOrCreateHostKey(join(dir, `k${i}`));
      assert.ok(!(ssh2.utils.parseKey(key) instanceof Error), `host key ${i} parses`);
    }
    await writeFile(join(dir, 'bad'), 'not a key\n');
    await assert.rejects(loadOrCreateHostKey(join(dir, 'bad')), /cannot be parsed/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('OpenSSH sftp -b: mkdir, put, ls, get, rename, df, rm, rmdir', { timeout: 120_000 }, async () => {
  const src = join(work, 'upload.bin');
  const data = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
  await writeFile(src, data);
  const back = join(work, 'download.bin');
  const batch = join(work, 'batch');
  await writeFile(
    batch,
    [
      'mkdir /sftp-bucket',
      'mkdir /sftp-bucket/dir',
      `put ${src} /sftp-bucket/dir/file.bin`,
      'ls -l /sftp-bucket/dir',
      `get /sftp-bucket/dir/file.bin ${back}`,
      'rename /sftp-bucket/dir/file.bin /sftp-bucket/dir/moved.bin',
      'cd /sftp-bucket/dir',
      'cd ..',
      'pwd',
      'df /sftp-bucket',
      'ls /sftp-bucket/dir',
      'rm /sftp-bucket/dir/moved.bin',
      'rmdir /sftp-bucket/dir',
      '',
    ].join('\n'),
  );
  const r = await run('sftp', ['-b', batch, ...sshArgs(), `${ALICE.accessKey}@127.0.0.1`]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /file\.bin/);
  assert.match(r.stdout, /Remote working directory: \/sftp-bucket/);
  assert.match(r.stdout, /moved\.bin/);
  assert.match(r.stdout, /Avail/, 'df works through statvfs@openssh.com');
  assert.deepEqual(await readFile(back), data);
});

test('rclone sftp remote (password login): copy and check', { timeout: 180_000 }, async () => {
  const src = join(work, 'rclone-src');
  await makeTree(src);
  const conf = join(work, 'rclone.conf');
  await writeFile(conf, rcloneConfig({ endpoint: 'http://127.0.0.1:9', accessKey: ALICE.accessKey, secretKey: ALICE.secretKey, sftp: { host: '127.0.0.1', port: gw.sftp.port } }));
  const mk = await run('rclone', ['--config', conf, 'mkdir', 'peerstor-sftp:rclone-sftp']);
  assert.equal(mk.code, 0, mk.stderr);
  const copy = await run('rclone', ['--config', conf, 'copy', src, 'peerstor-sftp:rclone-sftp/tree']);
  assert.equal(copy.code, 0, copy.stderr);
  const check = await run('rclone', ['--config', conf, 'check', src, 'peerstor-sftp:rclone-sftp/tree']);
  assert.equal(check.code, 0, check.stderr);
});

async function fuseUsable(): Promise<string | undefined> {
  try {
    await access('/dev/fuse', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/fuse is missing or not accessible in this environment';
  }
  const which = await run('sh', ['-c', 'command -v sshfs && command -v borg && command -v fusermount']);
  if (which.code !== 0) return 'sshfs, borg or fusermount is not installed';
  return undefined;
}

test('sshfs mount + borg init / create / check --verify-data / extract, diff of the tree', { timeout: 300_000 }, async (t) => {
  const reason = await fuseUsable();
  if (reason) {
    t.skip(reason);
    return;
  }
  const mnt = join(work, 'mnt');
  await mkdir(mnt);
  const sshfs = await run('sshfs', [
    '-p',
    String(gw.sftp.port),
    '-o',
    `IdentityFile=${keyFile},StrictHostKeyChecking=no,UserKnownHostsFile=/dev/null,BatchMode=yes`,
    `${ALICE.accessKey}@127.0.0.1:/`,
    mnt,
  ]);
  assert.equal(sshfs.code, 0, sshfs.stderr);
  try {
    await mkdir(join(mnt, 'borg-bucket'));
    const src = join(work, 'borg-src');
    await makeTree(src);
    const env = { BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK: 'yes', BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes', BORG_BASE_DIR: join(work, 'borg-base') };
    const repo = join(mnt, 'borg-bucket', 'repo');
    for (const args of [['init', '--encryption=none', repo], ['create', `${repo}::first`, '.'], ['check', '--verify-data', repo]]) {
      const r = await run('borg', args, { env, cwd: src, timeoutMs: 240_000 });
      assert.equal(r.code, 0, `borg ${args[0]}: ${r.stderr}`);
    }
    const out = join(work, 'borg-out');
    await mkdir(out);
    const ex = await run('borg', ['extract', `${repo}::first`], { env, cwd: out, timeoutMs: 240_000 });
    assert.equal(ex.code, 0, ex.stderr);
    const diff = await run('diff', ['-r', src, out]);
    assert.equal(diff.code, 0, diff.stdout + diff.stderr);
  } finally {
    await run('fusermount', ['-u', mnt]);
  }
});

interface Sftp {
  client: ssh2.Client;
  sftp: ssh2.SFTPWrapper;
}

function connect(username: string, password: string): Promise<Sftp> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.on('ready', () => client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp }))));
    client.on('error', reject);
    client.connect({ host: '127.0.0.1', port: gw.sftp.port, username, password, readyTimeout: 20_000 });
  });
}

function status(fn: (cb: (err: unknown) => void) => void): Promise<string> {
  return new Promise((resolve) => fn((err) => resolve(err ? String((err as { message?: string }).message ?? err) : 'ok')));
}

test('security: traversal, NUL, long names, symlinks, other tenants refused; failed logins slowed; server stays up', { timeout: 120_000 }, async () => {
  const a = await connect(ALICE.accessKey, ALICE.secretKey);
  await status((cb) => a.sftp.mkdir('/sec-bucket', cb));
  await new Promise<void>((resolve, reject) => a.sftp.writeFile('/sec-bucket/secret.txt', 'alice only', (err) => (err ? reject(err) : resolve())));
  for (const p of ['/sec-bucket/../../etc/passwd', '../etc/passwd', '/sec-bucket/%2e%2e/x', '/sec-bucket/a\0b', '/sec-bucket/..\\..\\x']) {
    const r = await status((cb) => a.sftp.stat(p, cb));
    assert.match(r, /EACCES|Permission denied/i, `${JSON.stringify(p)} → ${r}`);
  }
  const long = await status((cb) => a.sftp.writeFile(`/sec-bucket/${'n'.repeat(300)}`, 'x', cb));
  assert.match(long, /ENAMETOOLONG/);
  assert.match(await status((cb) => a.sftp.symlink('/sec-bucket/secret.txt', '/sec-bucket/link', cb)), /EPERM|denied/i);
  assert.match(await status((cb) => a.sftp.readlink('/sec-bucket/secret.txt', cb)), /EPERM|denied/i);
  const b = await connect(BOB.accessKey, BOB.secretKey);
  assert.match(await status((cb) => b.sftp.stat('/sec-bucket/secret.txt', cb)), /ENOENT|No such file/i);
  const bobRoot = await new Promise<string[]>((resolve, reject) => b.sftp.readdir('/', (err, list) => (err ? reject(err) : resolve(list.map((e) => e.filename)))));
  assert.ok(!bobRoot.includes('sec-bucket'), 'another tenant does not see the bucket');
  b.client.end();
  for (let i = 0; i < 4; i++) await assert.rejects(connect(ALICE.accessKey, `wrong-secret-${i}`));
  assert.ok(gw.throttle.delayFor(`key:${ALICE.accessKey}`) > 0, 'failed logins for the key are slowed down');
  const still = await new Promise<string>((resolve, reject) => a.sftp.readFile('/sec-bucket/secret.txt', (err, buf) => (err ? reject(err) : resolve(buf.toString()))));
  assert.equal(still, 'alice only');
  a.client.end();
});

function call<T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

function done(fn: (cb: (err?: Error | null) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
}

function pattern(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < b.length; i++) b[i] = (i * 131 + seed) & 0xff;
  return b;
}

/** Sends WRITE requests at the given offsets all at once (pipelined, in that order) and waits for every reply. */
function writeAll(sftp: ssh2.SFTPWrapper, handle: Buffer, data: Buffer, offsets: number[], piece: number): Promise<(string | undefined)[]> {
  return Promise.all(
    offsets.map(
      (off) =>
        new Promise<string | undefined>((resolve) =>
          sftp.write(handle, data, off, Math.min(piece, data.length - off), off, (err) => resolve(err ? String(err.message) : undefined)),
        ),
    ),
  );
}

test('writes: sequential, reordered, random before and after the upload streams; limits@openssh.com', { timeout: 120_000 }, async () => {
  const a = await connect(ALICE.accessKey, ALICE.secretKey);
  const { sftp } = a;
  await status((cb) => sftp.mkdir('/write-bucket', cb));
  const piece = 32 * 1024;
  const data = pattern(40 * piece + 123, 5);
  const offsets = Array.from({ length: Math.ceil(data.length / piece) }, (_, i) => i * piece);
  const readBack = (path: string): Promise<Buffer> => call<Buffer>((cb) => sftp.readFile(path, cb));

  // Reordered: every pair swapped, as a client with several writers in flight might send them.
  const swapped = offsets.map((_, i) => offsets[i % 2 === 0 ? Math.min(i + 1, offsets.length - 1) : i - 1]);
  assert.deepEqual([...swapped].sort((x, y) => x - y), offsets);
  let h = await call<Buffer>((cb) => sftp.open('/write-bucket/reordered.bin', 'w', cb));
  assert.deepEqual(await writeAll(sftp, h, data, swapped, piece), offsets.map(() => undefined));
  await done((cb) => sftp.close(h, cb));
  assert.deepEqual(await readBack('/write-bucket/reordered.bin'), data);

  // Random access before anything streamed: the last piece first, then the rest; the handle
  // moves to the spool and the file is still complete.
  h = await call<Buffer>((cb) => sftp.open('/write-bucket/random.bin', 'w', cb));
  const last = offsets[offsets.length - 1];
  assert.deepEqual(await writeAll(sftp, h, data, [last], piece), [undefined]);
  await done((cb) => sftp.fsetstat(h, { size: last }, cb));
  assert.deepEqual(await writeAll(sftp, h, data, offsets, piece), offsets.map(() => undefined));
  await done((cb) => sftp.close(h, cb));
  assert.deepEqual(await readBack('/write-bucket/random.bin'), data);

  // Going back after the upload streamed cannot be served: that write fails, the close fails,
  // and the previous content stays.
  await done((cb) => sftp.writeFile('/write-bucket/keep.txt', 'previous content', cb));
  h = await call<Buffer>((cb) => sftp.open('/write-bucket/keep.txt', 'w', cb));
  assert.deepEqual(await writeAll(sftp, h, data, offsets.slice(0, 4), piece), [undefined, undefined, undefined, undefined]);
  const [back] = await writeAll(sftp, h, data, [0], piece);
  assert.match(back ?? 'accepted', /EIO|failure/i);
  assert.match(await status((cb) => sftp.close(h, cb)), /EIO|failure|upload/i);
  assert.equal((await readBack('/write-bucket/keep.txt')).toString(), 'previous content');

  // Opened read-write (sshfs, borg's read-back): always the spool, reads see the writes.
  h = await call<Buffer>((cb) => sftp.open('/write-bucket/rw.bin', 'w+', cb));
  assert.deepEqual(await writeAll(sftp, h, data, offsets.slice(0, 2), piece), [undefined, undefined]);
  const head = Buffer.alloc(100);
  const n = await call<number>((cb) => sftp.read(h, head, 0, 100, piece - 50, cb));
  assert.equal(n, 100);
  assert.deepEqual(head, data.subarray(piece - 50, piece + 50));
  await done((cb) => sftp.close(h, cb));

  // The server announces limits@openssh.com; reads are served up to the announced length.
  const limits = (sftp as unknown as { _extensions: Record<string, string> })._extensions['limits@openssh.com'];
  assert.equal(limits, '1');
  a.client.end();
});
