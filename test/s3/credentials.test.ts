// Users from --user / --credentials, and the generated 0600 key pair on a first start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateUsers, parseCredentialsFile, parseUserPair } from '../../gateway/common/credentials.js';

test('--user and --credentials are merged; comments and blank lines are skipped', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-cred-'));
  try {
    const file = join(dir, 'users.txt');
    await writeFile(file, '# team\n\nALICEKEY:alice-secret-1\n  BOBKEY : bob:secret:with:colons \n');
    const r = await loadOrCreateUsers({ users: ['CAROLKEY:carol-secret'], credentialsFile: file, stateDir: join(dir, 'state') });
    assert.deepEqual(r.users.map((u) => [u.accessKey, u.secretKey]), [
      ['CAROLKEY', 'carol-secret'],
      ['ALICEKEY', 'alice-secret-1'],
      ['BOBKEY', 'bob:secret:with:colons'],
    ]);
    assert.equal(r.generated, undefined);
    await assert.rejects(readFile(join(dir, 'state', 'credentials')), { code: 'ENOENT' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('malformed entries are refused with their position', () => {
  assert.throws(() => parseUserPair('nocolon'), /ACCESS_KEY:SECRET_KEY/);
  assert.throws(() => parseUserPair('AKX:short'), /shorter than 8/);
  assert.throws(() => parseCredentialsFile('GOODKEY:good-secret\nbad line\n', 'f'), /f:2/);
});

test('duplicate access keys are an error', async () => {
  await assert.rejects(loadOrCreateUsers({ users: ['SAMEKEY:secret-one', 'SAMEKEY:secret-two'], stateDir: tmpdir() }), /more than once/);
});

test('first start generates a 0600 key pair once; later starts reuse it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-cred-'));
  try {
    const first = await loadOrCreateUsers({ stateDir: dir });
    assert.ok(first.generated);
    assert.match(first.generated.accessKey, /^PS[A-Z2-7]{18}$/);
    assert.ok(first.generated.secretKey.length >= 40);
    const st = await stat(join(dir, 'credentials'));
    assert.equal(st.mode & 0o777, 0o600);
    const second = await loadOrCreateUsers({ stateDir: dir });
    assert.equal(second.generated, undefined);
    assert.deepEqual(second.users, [first.generated]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
