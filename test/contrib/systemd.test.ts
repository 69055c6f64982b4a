// contrib/systemd/peerstor@.service through `systemd-analyze verify` (systemd 252 here).
// Robust in containers: verify needs no running systemd, and ExecStart goes through /usr/bin/env,
// which exists everywhere, so the check does not depend on peerstor being installed (verify
// fails when ExecStart's binary is missing; the last test proves that on a broken copy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const UNIT = join(process.cwd(), 'contrib', 'systemd', 'peerstor@.service');
const ANALYZE = '/usr/bin/systemd-analyze';

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(ANALYZE, args, { timeout: 60_000, env: { ...process.env, SYSTEMD_LOG_COLOR: '0', SYSTEMD_PAGER: '' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** Copies `text` as peerstor@.service into a temp dir and returns the path of instance `test`. */
async function instance(text: string): Promise<{ path: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-unit-'));
  await writeFile(join(dir, 'peerstor@.service'), text);
  await symlink('peerstor@.service', join(dir, 'peerstor@test.service'));
  return { path: join(dir, 'peerstor@test.service'), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** `Key=value` lines of one section. */
function section(text: string, name: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) current = line.slice(1, -1);
    else if (current === name && line && !line.startsWith('#')) {
      const eq = line.indexOf('=');
      out.set(line.slice(0, eq), [...(out.get(line.slice(0, eq)) ?? []), line.slice(eq + 1)]);
    }
  }
  return out;
}

test('systemd-analyze is installed', () => {
  assert.ok(existsSync(ANALYZE), `${ANALYZE} missing: apt-get install -y systemd`);
});

test('the unit verifies with no warnings at all', async () => {
  const u = await instance(await readFile(UNIT, 'utf8'));
  try {
    const r = await run(['verify', u.path]);
    assert.equal(r.code, 0, r.stderr);
    // verify exits 0 on settings it ignores; any line on stderr is one of those.
    assert.equal(r.stderr.trim(), '');
  } finally {
    await u.cleanup();
  }
});

test('instance = config file, dedicated user, restart on failure, hardening', async () => {
  const text = await readFile(UNIT, 'utf8');
  const s = section(text, 'Service');
  assert.deepEqual(s.get('ExecStart'), ['/usr/bin/env peerstor $PEERSTOR_COMMAND --config /etc/peerstor/%i.conf']);
  assert.deepEqual(s.get('User'), ['peerstor']);
  assert.deepEqual(s.get('Restart'), ['on-failure']);
  for (const [k, v] of Object.entries({ NoNewPrivileges: 'yes', ProtectSystem: 'strict', ProtectHome: 'yes', PrivateTmp: 'yes', PrivateDevices: 'yes', CapabilityBoundingSet: '' })) {
    assert.deepEqual(s.get(k), [v], k);
  }
  assert.equal(s.get('MemoryDenyWriteExecute'), undefined, 'V8 needs W+X pages');
  assert.deepEqual(section(text, 'Unit').get('AssertPathExists'), ['/etc/peerstor/%i.conf']);
  assert.deepEqual(section(text, 'Install').get('WantedBy'), ['multi-user.target']);
});

test('systemd-analyze security rates the exposure low (≤ 2.5 of 10)', async () => {
  const u = await instance(await readFile(UNIT, 'utf8'));
  try {
    const r = await run(['security', '--offline=yes', '--no-pager', u.path]);
    const m = /Overall exposure level for peerstor@test\.service: (\d+\.\d)/.exec(r.stdout + r.stderr);
    assert.ok(m, r.stdout + r.stderr);
    assert.ok(Number(m[1]) <= 2.5, `exposure ${m[1]}`);
  } finally {
    await u.cleanup();
  }
});

test('verify catches what it should: a missing binary, a bad setting', async () => {
  const text = await readFile(UNIT, 'utf8');
  const missing = await instance(text.replace('/usr/bin/env peerstor', '/nonexistent/peerstor'));
  try {
    const r = await run(['verify', missing.path]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /not executable/);
  } finally {
    await missing.cleanup();
  }
  const bad = await instance(text.replace('Restart=on-failure', 'Restart=sometimes'));
  try {
    assert.match((await run(['verify', bad.path])).stderr, /restart specifier/);
  } finally {
    await bad.cleanup();
  }
});
