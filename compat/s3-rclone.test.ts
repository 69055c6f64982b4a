// rclone, unmodified, with an S3 remote written by rcloneConfig (rclone-config/): copy, sync,
// check, lsjson, delete. Bytes compared by SHA-256 and by rclone's own check.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytesFast } from '../bench/lib.js';
import { rcloneConfig } from '../rclone-config/rclone-config.js';
import { startTestGateway, type TestGateway } from '../test/helpers/gateway.js';
import { hasCommand, isolatedEnv, run, sha256File, tempDir } from './helpers/s3-clients.js';

const available = await hasCommand('rclone', ['version']);

let gw: TestGateway;
let tmp: { dir: string; cleanup(): Promise<void> };
let conf: string;
let env: NodeJS.ProcessEnv;

async function rclone(...args: string[]): Promise<string> {
  return (await run('rclone', ['--config', conf, '--retries', '1', '--low-level-retries', '1', ...args], { env, timeoutMs: 110_000 })).stdout;
}

before(async () => {
  if (!available) return;
  gw = await startTestGateway();
  tmp = await tempDir('rclone');
  const home = join(tmp.dir, 'home');
  await mkdir(home, { recursive: true });
  env = isolatedEnv(home);
  conf = join(tmp.dir, 'rclone.conf');
  const u = gw.users[0];
  await writeFile(conf, rcloneConfig({ name: 'ps', endpoint: gw.url, accessKey: u.accessKey, secretKey: u.secretKey }));
});

after(async () => {
  await gw?.close();
  await tmp?.cleanup();
});

test('rclone: copy, sync, check, lsjson, delete', { skip: available ? false : 'rclone is not installed' }, async () => {
  const src = join(tmp.dir, 'src');
  await mkdir(join(src, 'nested', 'deep'), { recursive: true });
  const files: Record<string, Buffer> = {
    'one.txt': Buffer.from('one\n'),
    'nested/two.bin': randomBytesFast(3 * 1024 * 1024 + 17, 2),
    'nested/deep/three with space.txt': Buffer.from('three'),
    // Above rclone's default upload cutoff (200 MiB is too slow here; lower the cutoff instead).
    'big.bin': randomBytesFast(24 * 1024 * 1024 + 5, 3),
    'empty.txt': Buffer.alloc(0),
  };
  for (const [p, c] of Object.entries(files)) await writeFile(join(src, p), c);

  await rclone('mkdir', 'ps:rclone-bucket');
  await rclone('copy', src, 'ps:rclone-bucket/data', '--s3-upload-cutoff', '8M', '--s3-chunk-size', '5M');
  await rclone('check', src, 'ps:rclone-bucket/data');

  const listing = JSON.parse(await rclone('lsjson', '-R', '--files-only', 'ps:rclone-bucket/data')) as { Path: string; Size: number }[];
  assert.deepEqual(
    listing.map((e) => [e.Path, e.Size]).sort(),
    Object.entries(files)
      .map(([p, c]) => [p, c.length])
      .sort(),
  );

  const back = join(tmp.dir, 'back');
  await rclone('copy', 'ps:rclone-bucket/data', back);
  for (const p of Object.keys(files)) assert.equal(await sha256File(join(back, p)), await sha256File(join(src, p)), p);

  // sync: a removed and a changed local file are mirrored remotely.
  await rm(join(src, 'one.txt'));
  await writeFile(join(src, 'nested', 'deep', 'three with space.txt'), 'three, changed');
  await rclone('sync', src, 'ps:rclone-bucket/data');
  await rclone('check', src, 'ps:rclone-bucket/data');
  const afterSync = JSON.parse(await rclone('lsjson', '-R', '--files-only', 'ps:rclone-bucket/data')) as { Path: string }[];
  assert.ok(!afterSync.some((e) => e.Path === 'one.txt'));

  // check notices a difference.
  await writeFile(join(src, 'one-more.txt'), 'not uploaded');
  await assert.rejects(rclone('check', src, 'ps:rclone-bucket/data'));

  await rclone('delete', 'ps:rclone-bucket/data/nested');
  const left = JSON.parse(await rclone('lsjson', '-R', '--files-only', 'ps:rclone-bucket')) as { Path: string }[];
  assert.deepEqual(left.map((e) => e.Path).sort(), ['data/big.bin', 'data/empty.txt']);
  await rclone('purge', 'ps:rclone-bucket');
  const buckets = JSON.parse(await rclone('lsjson', 'ps:')) as { Path: string }[];
  assert.ok(!buckets.some((b) => b.Path === 'rclone-bucket'));
});
