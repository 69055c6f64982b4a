// restic, unmodified, with an S3 repository on the gateway: init, backup, check --read-data,
// restore, and a byte-for-byte comparison of the restored tree.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { randomBytesFast } from '../bench/lib.js';
import { startTestGateway, type TestGateway } from '../test/helpers/gateway.js';
import { hasCommand, isolatedEnv, run, sha256File, tempDir } from './helpers/s3-clients.js';

const available = await hasCommand('restic', ['version']);

let gw: TestGateway;
let tmp: { dir: string; cleanup(): Promise<void> };
let env: NodeJS.ProcessEnv;

async function restic(...args: string[]): Promise<string> {
  return (await run('restic', ['--no-cache', ...args], { env, timeoutMs: 110_000 })).stdout;
}

/** relative path → SHA-256 of every file under dir */
async function treeHashes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(d: string): Promise<void> {
    for (const name of await readdir(d)) {
      const p = join(d, name);
      if ((await stat(p)).isDirectory()) await walk(p);
      else out.set(relative(dir, p), await sha256File(p));
    }
  }
  await walk(dir);
  return out;
}

before(async () => {
  if (!available) return;
  gw = await startTestGateway();
  tmp = await tempDir('restic');
  const home = join(tmp.dir, 'home');
  await mkdir(home, { recursive: true });
  const u = gw.users[0];
  env = isolatedEnv(home, {
    AWS_ACCESS_KEY_ID: u.accessKey,
    AWS_SECRET_ACCESS_KEY: u.secretKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    RESTIC_PASSWORD: 'correct horse battery staple',
    RESTIC_REPOSITORY: `s3:${gw.url}/restic-repo/backups`,
  });
});

after(async () => {
  await gw?.close();
  await tmp?.cleanup();
});

test('restic: init, backup, check --read-data, restore, identical tree', { skip: available ? false : 'restic is not installed' }, async () => {
  const src = join(tmp.dir, 'data');
  await mkdir(join(src, 'docs', 'deep'), { recursive: true });
  await writeFile(join(src, 'readme.txt'), 'restic through peerstor\n');
  await writeFile(join(src, 'docs', 'big.bin'), randomBytesFast(20 * 1024 * 1024 + 3, 21));
  await writeFile(join(src, 'docs', 'deep', 'dup-a.bin'), randomBytesFast(2 * 1024 * 1024, 22));
  await writeFile(join(src, 'docs', 'deep', 'dup-b.bin'), randomBytesFast(2 * 1024 * 1024, 22));
  await writeFile(join(src, 'empty'), '');

  await restic('init');
  await restic('backup', src);
  // A second backup of an unchanged tree adds no data but a snapshot.
  await restic('backup', src);
  const snapshots = JSON.parse(await restic('snapshots', '--json')) as { short_id: string }[];
  assert.equal(snapshots.length, 2);
  await restic('check', '--read-data');

  const target = join(tmp.dir, 'restore');
  await restic('restore', 'latest', '--target', target);
  const restored = await treeHashes(join(target, src));
  const original = await treeHashes(src);
  assert.deepEqual([...restored.entries()].sort(), [...original.entries()].sort());
  const diff = await restic('diff', snapshots[0].short_id, snapshots[1].short_id);
  assert.match(diff, /Files:\s+0 new,\s+0 removed,\s+0 changed/);
});
