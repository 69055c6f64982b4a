/**
 * Upload and download MiB/s of one large file over WebDAV (curl), SFTP (OpenSSH sftp) and FTP
 * (curl), each next to S3 (curl --aws-sigv4) on the same data in the same run, all on 127.0.0.1.
 * Issue 5's target: every protocol ≥ 70 % of S3's figure. CPU ms/MiB is this process (the
 * gateway side). Size: PEERSTOR_BENCH_SIZE (default 1g); store: the in-memory reference store, so
 * the figures measure the front ends, not the storage pipeline.
 *
 *   node --import tsx bench/file-protocols.bench.ts
 *   PEERSTOR_BENCH_ONLY=sftp PEERSTOR_BENCH_SIZE=256m node --import tsx bench/file-protocols.bench.ts
 *
 * PEERSTOR_BENCH_ONLY: comma list of webdav, sftp, ftp (default all); S3 always runs as baseline.
 */
import { mkdtemp, rm, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measure, report, randomBytesFast, type Measurement } from './lib.js';
import { parseSize } from '../backend/core/sizes.js';
import { ALICE, run, startFileGateways } from '../test/helpers/file-gateways.js';

const size = parseSize(process.env.PEERSTOR_BENCH_SIZE ?? '1g');
const repeat = Number(process.env.PEERSTOR_BENCH_REPEAT ?? 1);
const only = new Set((process.env.PEERSTOR_BENCH_ONLY ?? 'webdav,sftp,ftp').split(',').map((s) => s.trim().toLowerCase()));

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'peerstor-fp-bench-'));
  const src = join(work, 'src.bin');
  // Written in 64 MiB pieces so the bench itself never holds the whole file.
  const fh = await open(src, 'w');
  const piece = randomBytesFast(64 << 20, 7);
  for (let off = 0; off < size; off += piece.length) await fh.write(piece, 0, Math.min(piece.length, size - off), off);
  await fh.close();
  const out = join(work, 'out.bin');
  const key = join(work, 'id_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const authorized = join(work, 'authorized_keys');
  const { readFile } = await import('node:fs/promises');
  await writeFile(authorized, `${ALICE.accessKey} ${(await readFile(`${key}.pub`, 'utf8')).trim()}\n`);
  const gw = await startFileGateways({ users: [ALICE], sftp: { authorizedKeysFile: authorized } });
  const results: Measurement[] = [];
  let baseline: Measurement[] = [];
  const must = async (p: Promise<{ code: number; stderr: string }>, what: string): Promise<void> => {
    const r = await p;
    if (r.code !== 0) throw new Error(`${what} failed: ${r.stderr}`);
  };
  try {
    // S3 on the same store, when the S3 front end (gateway/http-server.ts) is available.
    try {
      const { createHttpServer } = await import('../gateway/http-server.js');
      const { UserRegistry } = await import('../gateway/common/users.js');
      const s3 = await createHttpServer({ listen: '127.0.0.1:0' }, { users: new UserRegistry([ALICE]), stores: gw.stores });
      try {
        // curl signs the payload as UNSIGNED-PAYLOAD (it would otherwise have to read the file twice).
        const sig = ['--aws-sigv4', 'aws:amz:us-east-1:s3', '--user', `${ALICE.accessKey}:${ALICE.secretKey}`, '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD'];
        await must(run('curl', ['-sSf', ...sig, '-X', 'PUT', `${s3.url}/bench-s3`]), 'S3 create bucket');
        baseline = [
          await measure('S3 upload (curl)', size, () => must(run('curl', ['-sSf', ...sig, '-T', src, `${s3.url}/bench-s3/f.bin`], { timeoutMs: 600_000 }), 'S3 upload'), repeat),
          await measure('S3 download (curl)', size, () => must(run('curl', ['-sSf', ...sig, '-o', out, `${s3.url}/bench-s3/f.bin`], { timeoutMs: 600_000 }), 'S3 download'), repeat),
        ];
      } finally {
        await s3.close();
      }
    } catch (err) {
      console.log(`S3 front end not usable here (${(err as Error).message}); baseline = plain file copy`);
      baseline = [
        await measure('file copy (cp)', size, () => must(run('cp', [src, out]), 'cp'), repeat),
        await measure('file copy (cp) again', size, () => must(run('cp', [src, out]), 'cp'), repeat),
      ];
    }
    const auth = `${ALICE.accessKey}:${ALICE.secretKey}`;
    await must(run('curl', ['-sSf', '-u', auth, '-X', 'MKCOL', `${gw.webdavUrl}bench-fp`]), 'MKCOL');
    if (only.has('webdav')) {
      results.push(await measure('WebDAV upload (curl -T)', size, () => must(run('curl', ['-sSf', '-u', auth, '-T', src, `${gw.webdavUrl}bench-fp/dav.bin`], { timeoutMs: 600_000 }), 'dav up'), repeat));
      results.push(await measure('WebDAV download (curl)', size, () => must(run('curl', ['-sSf', '-u', auth, '-o', out, `${gw.webdavUrl}bench-fp/dav.bin`], { timeoutMs: 600_000 }), 'dav down'), repeat));
    }
    const ssh = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-i', key, '-P', String(gw.sftp.port)];
    const batch = async (cmds: string): Promise<{ code: number; stderr: string }> => {
      const f = join(work, 'batch');
      await writeFile(f, cmds);
      return run('sftp', ['-b', f, ...ssh, `${ALICE.accessKey}@127.0.0.1`], { timeoutMs: 600_000 });
    };
    if (only.has('sftp')) {
      results.push(await measure('SFTP upload (sftp put)', size, () => must(batch(`put ${src} /bench-fp/sftp.bin\n`), 'sftp up'), repeat));
      results.push(await measure('SFTP download (sftp get)', size, () => must(batch(`get /bench-fp/sftp.bin ${out}\n`), 'sftp down'), repeat));
    }
    const ftp = `ftp://127.0.0.1:${gw.ftp.port}/bench-fp`;
    if (only.has('ftp')) {
      results.push(await measure('FTP upload (curl -T)', size, () => must(run('curl', ['-sSf', '-u', auth, '-T', src, `${ftp}/ftp.bin`], { timeoutMs: 600_000 }), 'ftp up'), repeat));
      results.push(await measure('FTP download (curl)', size, () => must(run('curl', ['-sSf', '-u', auth, '-o', out, `${ftp}/ftp.bin`], { timeoutMs: 600_000 }), 'ftp down'), repeat));
    }
  } finally {
    await gw.close();
    await rm(work, { recursive: true, force: true });
  }
  console.log(`file protocols, ${(size / 2 ** 20).toFixed(0)} MiB, in-memory store (ratios vs the S3/baseline figure of the same direction)`);
  report([baseline[0], ...results.filter((m) => m.name.includes('upload'))], baseline[0]);
  report([baseline[1], ...results.filter((m) => m.name.includes('download'))], baseline[1]);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
