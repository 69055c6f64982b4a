/**
 * FTP and FTPS driven by real clients: lftp over plain FTP and explicit FTPS (MLSD, LIST, STOR,
 * RETR, REST resume, APPE, MKD/RMD, RNFR/RNTO, DELE), curl --ssl-reqd, rclone's ftp remote, a
 * --ftps-only server, and security probes.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALICE, BOB, makeTree, run, startFileGateways, type FileGateways } from '../test/helpers/file-gateways.js';
import { rcloneConfig } from '../rclone-config/rclone-config.js';

let gw: FileGateways;
let strict: FileGateways;
let work: string;
const auth = `${ALICE.accessKey}:${ALICE.secretKey}`;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'peerstor-ftp-compat-'));
  gw = await startFileGateways({ webdav: false, sftp: false });
  strict = await startFileGateways({ webdav: false, sftp: false, ftp: { ftpsOnly: true } });
});

after(async () => {
  await gw.close();
  await strict.close();
  await rm(work, { recursive: true, force: true });
});

function url(g: FileGateways, path = ''): string {
  return `ftp://127.0.0.1:${g.ftp.port}/${path}`;
}

async function lftp(script: string, tls: boolean): Promise<{ code: number; stdout: string; stderr: string }> {
  const settings = tls
    ? 'set ssl:verify-certificate no; set ftp:ssl-force true; set ftp:ssl-protect-data true; set ftp:ssl-protect-list true;'
    : 'set ftp:ssl-allow false;';
  return run('lftp', ['-u', `${ALICE.accessKey},${ALICE.secretKey}`, '-e', `set net:max-retries 1; set cmd:fail-exit true; ${settings} ${script}; bye`, url(gw)], { cwd: work });
}

function sample(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 131 + seed) & 0xff;
  return b;
}

test('a self-signed certificate is generated once and persisted', async () => {
  assert.match(await readFile(join(gw.ftp.certDir, 'ftps-cert.pem'), 'utf8'), /BEGIN CERTIFICATE/);
});

for (const tls of [false, true]) {
  test(`lftp over ${tls ? 'FTPS (AUTH TLS)' : 'plain FTP'}: mkdir, put, ls/cls, get, resume, append, mv, rm, rmdir`, { timeout: 120_000 }, async () => {
    const bucket = tls ? 'lftp-tls' : 'lftp-plain';
    const data = sample(2 * 1024 * 1024 + 5, tls ? 3 : 1);
    await writeFile(join(work, `${bucket}.bin`), data);
    await writeFile(join(work, 'tail.txt'), 'appended\n');
    const r = await lftp(
      [
        `mkdir ${bucket}`,
        `cd ${bucket}`,
        'mkdir d',
        `put ${bucket}.bin -o d/file.bin`,
        'cls -l d',
        'ls d',
        `get d/file.bin -o ${bucket}.back`,
        'put tail.txt -o d/log.txt',
        'mv d/file.bin d/moved.bin',
        'quote SIZE d/moved.bin',
        'quote MDTM d/moved.bin',
        'rm d/moved.bin',
        'rm d/log.txt',
        'rmdir d',
      ].join('; '),
      tls,
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /file\.bin/);
    assert.match(r.stdout, new RegExp(`213 ${data.length}`));
    assert.deepEqual(await readFile(join(work, `${bucket}.back`)), data);
  });
}

test('curl --ssl-reqd over FTPS: upload, list, ranged (REST) download', { timeout: 60_000 }, async () => {
  const data = sample(300_000, 9);
  const file = join(work, 'curl.bin');
  await writeFile(file, data);
  const mk = await run('curl', ['-sS', '-k', '--ssl-reqd', '-u', auth, '--ftp-create-dirs', '-T', file, url(gw, 'curl-bucket/sub/curl.bin')]);
  assert.equal(mk.code, 0, mk.stderr);
  const list = await run('curl', ['-sS', '-k', '--ssl-reqd', '-u', auth, url(gw, 'curl-bucket/sub/')]);
  assert.match(list.stdout, /curl\.bin/);
  const part = await run('curl', ['-sS', '-k', '--ssl-reqd', '-u', auth, '-C', '100000', '-o', join(work, 'part.bin'), url(gw, 'curl-bucket/sub/curl.bin')]);
  assert.equal(part.code, 0, part.stderr);
  assert.deepEqual(await readFile(join(work, 'part.bin')), data.subarray(100000));
  const tail = join(work, 'tail.bin');
  await writeFile(tail, 'appended');
  const appe = await run('curl', ['-sS', '-k', '--ssl-reqd', '-u', auth, '--append', '-T', tail, url(gw, 'curl-bucket/sub/curl.bin')]);
  assert.equal(appe.code, 0, appe.stderr);
  const whole = await run('curl', ['-sS', '-k', '--ssl-reqd', '-u', auth, '-o', join(work, 'whole.bin'), url(gw, 'curl-bucket/sub/curl.bin')]);
  assert.equal(whole.code, 0, whole.stderr);
  assert.deepEqual(await readFile(join(work, 'whole.bin')), Buffer.concat([data, Buffer.from('appended')]), 'APPE appends');
});

test('rclone ftp remote over explicit TLS: copy and check', { timeout: 180_000 }, async () => {
  const src = join(work, 'rclone-src');
  await makeTree(src);
  const conf = join(work, 'rclone.conf');
  const text = rcloneConfig({ endpoint: 'http://127.0.0.1:9', accessKey: ALICE.accessKey, secretKey: ALICE.secretKey, ftp: { host: '127.0.0.1', port: gw.ftp.port, tls: true } });
  // The test server's certificate is self-signed.
  await writeFile(conf, `${text.trimEnd()}\nno_check_certificate = true\n`);
  const mk = await run('rclone', ['--config', conf, 'mkdir', 'peerstor-ftp:rclone-ftp']);
  assert.equal(mk.code, 0, mk.stderr);
  const copy = await run('rclone', ['--config', conf, 'copy', src, 'peerstor-ftp:rclone-ftp/tree']);
  assert.equal(copy.code, 0, copy.stderr);
  const check = await run('rclone', ['--config', conf, 'check', src, 'peerstor-ftp:rclone-ftp/tree']);
  assert.equal(check.code, 0, check.stderr);
});

test('--ftps-only refuses logins before AUTH TLS and accepts them after', async () => {
  const plain = await run('curl', ['-sS', '-u', auth, url(strict)]);
  assert.notEqual(plain.code, 0);
  assert.match(plain.stderr, /530|denied|TLS/i);
  const secure = await run('curl', ['-sS', '-k', '--ssl-reqd', '-u', auth, url(strict)]);
  assert.equal(secure.code, 0, secure.stderr);
});

test('security: traversal, encoded paths, long names and other tenants refused; failed logins slowed; server stays up', { timeout: 120_000 }, async () => {
  const file = join(work, 'secret.txt');
  await writeFile(file, 'alice only');
  assert.equal((await run('curl', ['-sS', '-u', auth, '--ftp-create-dirs', '-T', file, url(gw, 'sec-bucket/secret.txt')])).code, 0);
  for (const script of ['get ../../etc/passwd -o x1', 'get sec-bucket/%2e%2e/%2e%2e/etc/passwd -o x2', 'get sec-bucket/..\\\\..\\\\x -o x3']) {
    const r = await lftp(script, false);
    assert.notEqual(r.code, 0, `${script} must fail: ${r.stdout}`);
  }
  const up = await lftp('quote CWD /..', false);
  assert.match(up.stdout + up.stderr, /550 Permission denied/, 'CWD above the root is refused');
  const long = await lftp(`put secret.txt -o sec-bucket/${'n'.repeat(300)}`, false);
  assert.notEqual(long.code, 0);
  assert.match(long.stderr, /too long/i);
  const bob = await run('curl', ['-sS', '-u', `${BOB.accessKey}:${BOB.secretKey}`, url(gw, 'sec-bucket/secret.txt')]);
  assert.notEqual(bob.code, 0, 'another tenant cannot read it');
  const bobList = await run('curl', ['-sS', '-u', `${BOB.accessKey}:${BOB.secretKey}`, url(gw)]);
  assert.doesNotMatch(bobList.stdout, /sec-bucket/);
  const active = await run('curl', ['-sS', '-u', auth, '-P', '-', url(gw, 'sec-bucket/secret.txt')]);
  assert.notEqual(active.code, 0, 'active mode (PORT/EPRT) is refused');
  for (let i = 0; i < 4; i++) assert.notEqual((await run('curl', ['-sS', '-u', `${ALICE.accessKey}:wrong-${i}-secret`, url(gw)])).code, 0);
  assert.ok(gw.throttle.delayFor(`key:${ALICE.accessKey}`) > 0, 'failed logins for the key are slowed down');
  const still = await run('curl', ['-sS', '-u', auth, url(gw, 'sec-bucket/secret.txt')]);
  assert.equal(still.stdout, 'alice only');
});
