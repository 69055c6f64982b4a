// The AWS CLI, unmodified, against the gateway: mb, cp of a small and a 200 MiB file (multipart),
// ls, sync, rm, s3api head-object / list-objects-v2. Bytes compared by SHA-256.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytesFast } from '../bench/lib.js';
import { startTestGateway, type TestGateway } from '../test/helpers/gateway.js';
import { hasCommand, isolatedEnv, run, sha256File, tempDir } from './helpers/s3-clients.js';

// The Debian awscli package (what .ci installs) lives in /usr/bin; a pip install elsewhere on PATH
// may be a different major version. PEERSTOR_AWS_CLI overrides.
const AWS = process.env.PEERSTOR_AWS_CLI ?? (existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws');
const available = await hasCommand(AWS);

let gw: TestGateway;
let tmp: { dir: string; cleanup(): Promise<void> };
let env: NodeJS.ProcessEnv;

async function aws(...args: string[]): Promise<string> {
  return (await run(AWS, ['--endpoint-url', gw.url, '--no-cli-pager', ...args], { env, timeoutMs: 110_000 })).stdout;
}

async function writeRandomFile(path: string, size: number, seed: number): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const block = 8 * 1024 * 1024;
    for (let off = 0; off < size; off += block) await fh.write(randomBytesFast(Math.min(block, size - off), seed + off));
  } finally {
    await fh.close();
  }
}

before(async () => {
  if (!available) return;
  gw = await startTestGateway();
  tmp = await tempDir('awscli');
  const home = join(tmp.dir, 'home');
  await mkdir(join(home, '.aws'), { recursive: true });
  const u = gw.users[0];
  await writeFile(join(home, '.aws', 'credentials'), `[default]\naws_access_key_id = ${u.accessKey}\naws_secret_access_key = ${u.secretKey}\n`);
  await writeFile(join(home, '.aws', 'config'), '[default]\nregion = us-east-1\noutput = json\n');
  env = isolatedEnv(home, {
    AWS_CONFIG_FILE: join(home, '.aws', 'config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, '.aws', 'credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  });
});

after(async () => {
  await gw?.close();
  await tmp?.cleanup();
});

test('aws cli: mb, cp small and 200 MiB, ls, head-object, list-objects-v2, sync, rm', { skip: available ? false : `${AWS} is not installed` }, async () => {
  await aws('s3', 'mb', 's3://cli-bucket');
  const small = join(tmp.dir, 'small.txt');
  await writeFile(small, 'hello from the aws cli\n');
  const big = join(tmp.dir, 'big.bin');
  await writeRandomFile(big, 200 * 1024 * 1024, 5);

  await aws('s3', 'cp', small, 's3://cli-bucket/docs/small.txt');
  await aws('s3', 'cp', big, 's3://cli-bucket/big.bin');
  const ls = await aws('s3', 'ls', 's3://cli-bucket/', '--recursive');
  assert.match(ls, /\s23 docs\/small\.txt/);
  assert.match(ls, /\s209715200 big\.bin/);

  const head = JSON.parse(await aws('s3api', 'head-object', '--bucket', 'cli-bucket', '--key', 'big.bin')) as { ContentLength: number; ETag: string };
  assert.equal(head.ContentLength, 200 * 1024 * 1024);
  assert.match(head.ETag, /^"[0-9a-f]{32}-\d+"$/, 'the CLI uploaded 200 MiB as multipart');
  const listed = JSON.parse(await aws('s3api', 'list-objects-v2', '--bucket', 'cli-bucket', '--prefix', 'docs/')) as { Contents: { Key: string }[]; KeyCount: number };
  assert.deepEqual(listed.Contents.map((c) => c.Key), ['docs/small.txt']);

  const back = join(tmp.dir, 'back');
  await mkdir(back);
  await aws('s3', 'cp', 's3://cli-bucket/big.bin', join(back, 'big.bin'));
  await aws('s3', 'cp', 's3://cli-bucket/docs/small.txt', join(back, 'small.txt'));
  assert.equal(await sha256File(join(back, 'big.bin')), await sha256File(big));
  assert.equal(await sha256File(join(back, 'small.txt')), await sha256File(small));

  const tree = join(tmp.dir, 'tree');
  await mkdir(join(tree, 'sub', 'deeper'), { recursive: true });
  const files: Record<string, string> = { 'a.txt': 'A', 'sub/b.txt': 'B'.repeat(1000), 'sub/deeper/c d.txt': 'C with space', 'sub/ü.txt': 'unicode' };
  for (const [p, c] of Object.entries(files)) await writeFile(join(tree, p), c);
  await aws('s3', 'sync', tree, 's3://cli-bucket/tree');
  const restored = join(tmp.dir, 'restored');
  await aws('s3', 'sync', 's3://cli-bucket/tree', restored);
  for (const p of Object.keys(files)) assert.equal(await sha256File(join(restored, p)), await sha256File(join(tree, p)), p);
  // A second sync with nothing changed uploads nothing.
  assert.equal((await aws('s3', 'sync', tree, 's3://cli-bucket/tree')).trim(), '');

  await aws('s3', 'rm', 's3://cli-bucket/big.bin');
  await aws('s3', 'rm', 's3://cli-bucket/tree', '--recursive');
  const after = await aws('s3', 'ls', 's3://cli-bucket/', '--recursive');
  assert.doesNotMatch(after, /big\.bin|tree\//);
  assert.match(after, /docs\/small\.txt/);
  await aws('s3', 'rm', 's3://cli-bucket/docs/small.txt');
  await aws('s3', 'rb', 's3://cli-bucket');
  assert.doesNotMatch(await aws('s3', 'ls'), /cli-bucket/);
});
