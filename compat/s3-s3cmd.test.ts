// s3cmd, unmodified (SigV4, path-style via host_bucket without %(bucket)s): mb, put (single and
// multipart), get, ls, del, rb. Bytes compared by SHA-256.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytesFast } from '../bench/lib.js';
import { startTestGateway, type TestGateway } from '../test/helpers/gateway.js';
import { hasCommand, isolatedEnv, run, sha256File, tempDir } from './helpers/s3-clients.js';

const available = await hasCommand('s3cmd');

let gw: TestGateway;
let tmp: { dir: string; cleanup(): Promise<void> };
let cfg: string;
let env: NodeJS.ProcessEnv;

async function s3cmd(...args: string[]): Promise<string> {
  return (await run('s3cmd', ['-c', cfg, '--no-progress', ...args], { env, timeoutMs: 110_000 })).stdout;
}

before(async () => {
  if (!available) return;
  gw = await startTestGateway();
  tmp = await tempDir('s3cmd');
  const home = join(tmp.dir, 'home');
  await mkdir(home, { recursive: true });
  env = isolatedEnv(home);
  const host = new URL(gw.url).host;
  const u = gw.users[0];
  cfg = join(tmp.dir, 's3cfg');
  await writeFile(
    cfg,
    [
      '[default]',
      `access_key = ${u.accessKey}`,
      `secret_key = ${u.secretKey}`,
      `host_base = ${host}`,
      `host_bucket = ${host}`,
      'bucket_location = us-east-1',
      'use_https = False',
      'signature_v2 = False',
      'check_ssl_certificate = False',
      'multipart_chunk_size_mb = 5',
      '',
    ].join('\n'),
  );
});

after(async () => {
  await gw?.close();
  await tmp?.cleanup();
});

test('s3cmd: mb, put, get, ls, del, rb', { skip: available ? false : 's3cmd is not installed' }, async () => {
  await s3cmd('mb', 's3://s3cmd-bucket');
  const small = join(tmp.dir, 'small.txt');
  const big = join(tmp.dir, 'big.bin');
  await writeFile(small, 'hello from s3cmd\n');
  await writeFile(big, randomBytesFast(12 * 1024 * 1024 + 9, 31));
  await s3cmd('put', small, 's3://s3cmd-bucket/dir/small.txt');
  await s3cmd('put', big, 's3://s3cmd-bucket/big.bin');

  const ls = await s3cmd('ls', '--recursive', 's3://s3cmd-bucket');
  assert.match(ls, /\s17\s+s3:\/\/s3cmd-bucket\/dir\/small\.txt/);
  assert.match(ls, /\s12582921\s+s3:\/\/s3cmd-bucket\/big\.bin/);
  const top = await s3cmd('ls', 's3://s3cmd-bucket');
  assert.match(top, /DIR\s+s3:\/\/s3cmd-bucket\/dir\//);
  assert.match(await s3cmd('ls'), /s3:\/\/s3cmd-bucket/);

  const back = join(tmp.dir, 'back');
  await mkdir(back);
  await s3cmd('get', 's3://s3cmd-bucket/big.bin', join(back, 'big.bin'));
  await s3cmd('get', 's3://s3cmd-bucket/dir/small.txt', join(back, 'small.txt'));
  assert.equal(await sha256File(join(back, 'big.bin')), await sha256File(big));
  assert.equal(await sha256File(join(back, 'small.txt')), await sha256File(small));

  await s3cmd('del', 's3://s3cmd-bucket/big.bin', 's3://s3cmd-bucket/dir/small.txt');
  assert.equal((await s3cmd('ls', '--recursive', 's3://s3cmd-bucket')).trim(), '');
  await s3cmd('rb', 's3://s3cmd-bucket');
  assert.doesNotMatch(await s3cmd('ls'), /s3cmd-bucket/);
});
