import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { main } from '../../cli/main.js';
import { COMMANDS, FLAGS } from '../../cli/flags.js';
import { flagUsage } from '../../cli/help.js';
import type { CliIo } from '../../cli/io.js';
import { applyCpuAffinity } from '../../cli/cpu-affinity.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  logs: Record<string, unknown>[];
}

async function run(argv: string[], extra: Partial<CliIo> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const io: Partial<CliIo> = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    env: {},
    home: '/nonexistent-home',
    signal: AbortSignal.abort(),
    logger,
    ...extra,
  };
  const code = await main(argv, io);
  return { code, stdout, stderr, logs };
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

test('unknown flag or bad value: one line on stderr, exit status 2', async () => {
  for (const argv of [['--bogus'], ['--listen', 'x'], ['-v'], ['status', '--quota', '1g'], ['nope'], ['--erasure', '3,2']]) {
    const r = await run(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^peerstor: [^\n]+\n$/, `one line for ${argv.join(' ')}: ${r.stderr}`);
  }
  const r = await run(['--listen', 'x']);
  assert.match(r.stderr, /^peerstor: --listen: /);
});

test('cross-flag checks are usage errors too', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-cli-'));
  try {
    const vol = `${dir}/v::rw`;
    const cases: [string[], RegExp][] = [
      [[], /^peerstor: --volume: at least one volume/],
      [['-v', vol, '--tls-cert', '/c.pem'], /^peerstor: --tls-cert: needs --tls-key/],
      [['-v', vol, '--ftps-only'], /^peerstor: --ftps-only: needs --tls-cert/],
      [['-v', vol, '-v', vol], /^peerstor: --volume: .* is given twice/],
      [['-v', vol, '--user', 'ab:short'], /^peerstor: --user: /],
      [['-v', vol, '--chunk-size', '1k'], /^peerstor: --chunk-size: /],
      [['-v', vol, '--credentials', `${dir}/none`], /^peerstor: --credentials: cannot read/],
    ];
    for (const [argv, pattern] of cases) {
      const r = await run(argv, { cwd: dir });
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.split('\n').length, 2);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--help lists every flag of the table; per-command help exactly that command’s flags', async () => {
  const all = await run(['--help']);
  assert.equal(all.code, 0);
  for (const f of FLAGS) {
    assert.ok(all.stdout.includes(flagUsage(f)), `--help shows ${flagUsage(f)}`);
    if (f.pending) assert.ok(all.stdout.includes(`not yet effective: ${f.pending}`));
  }
  for (const c of COMMANDS) if (c) assert.ok(all.stdout.includes(`  ${c} `), `--help names the ${c} command`);
  for (const c of COMMANDS) {
    const r = c === 'help' ? await run(['help', 'help']) : c ? await run([c, '--help']) : await run(['help', 'default']);
    assert.equal(r.code, 0);
    for (const f of FLAGS) {
      const shown = r.stdout.includes(`--${f.name} `) || r.stdout.includes(`--${f.name}\n`);
      assert.equal(shown, f.commands.includes(c), `help for "${c}" ${f.commands.includes(c) ? 'shows' : 'hides'} --${f.name}`);
    }
  }
  assert.equal((await run(['help', 'status'])).stdout, (await run(['status', '--help'])).stdout);
  assert.equal((await run(['help', 'nothing'])).code, 2);
});

test('--version and version', async () => {
  const pkg = JSON.parse(await readFile(join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
  assert.equal((await run(['--version'])).stdout, `peerstor ${pkg.version}\n`);
  assert.equal((await run(['version'])).stdout, `peerstor ${pkg.version}\n`);
  const j = JSON.parse((await run(['version', '--json'])).stdout) as { version: string };
  assert.equal(j.version, pkg.version);
});

test('config file: found through XDG_CONFIG_HOME, overridden by the command line, errors name the line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-cli-'));
  try {
    await mkdir(join(dir, 'peerstor'));
    await writeFile(join(dir, 'peerstor', 'peerstor.conf'), '# status settings\ngateway http://127.0.0.1:1\njson\nlisten 127.0.0.1:7000\n');
    const server = createServer((_req, res) => res.writeHead(403).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const r = await run(['status', '--gateway', `http://127.0.0.1:${port}`, '-v', `${dir}/vol::ro`], { env: { XDG_CONFIG_HOME: dir }, cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as { gateway: { reachable: boolean; httpStatus: number }; volumes: { path: string; exists: boolean }[] };
      assert.equal(report.gateway.reachable, true);
      assert.equal(report.gateway.httpStatus, 403);
      assert.deepEqual(report.volumes.map((v) => [v.path, v.exists]), [[`${dir}/vol`, false]]);
      const fromFile = await run(['status'], { env: { XDG_CONFIG_HOME: dir } });
      assert.equal(fromFile.code, 1, 'the file’s unreachable gateway is used without --gateway');
      assert.equal((JSON.parse(fromFile.stdout) as { gateway: { url: string } }).gateway.url, 'http://127.0.0.1:1/');
    } finally {
      server.close();
    }
    await writeFile(join(dir, 'bad.conf'), 'gateway http://127.0.0.1:1\nquota plenty\n');
    const bad = await run(['status', '--config', join(dir, 'bad.conf')]);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, `peerstor: --quota: not a size: "plenty" (use a number with an optional k, m, g or t suffix, e.g. 50m) (${join(dir, 'bad.conf')} line 2)\n`);
    const missing = await run(['status', '--config', join(dir, 'missing.conf')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^peerstor: --config: cannot read/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('status counts fragment files of a volume without opening it as a store', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-cli-'));
  try {
    const f = join(dir, 'vol', 'fragments', 'ab', 'cd');
    await mkdir(f, { recursive: true });
    await writeFile(join(f, 'abcd01'), Buffer.alloc(100));
    await writeFile(join(f, 'abcd02'), Buffer.alloc(23));
    await mkdir(join(dir, 'vol', 'tmp'));
    await writeFile(join(dir, 'vol', 'tmp', 'in-flight'), 'x');
    const r = await run(['status', '--json', '-v', `${dir}/vol::rw::1m`, '--gateway', 'http://127.0.0.1:1']);
    assert.equal(r.code, 1, 'no gateway answers on port 1');
    const report = JSON.parse(r.stdout) as { volumes: { fragments: number; fragmentBytes: number; quota: number; fsTotal: number }[] };
    assert.equal(report.volumes[0].fragments, 2);
    assert.equal(report.volumes[0].fragmentBytes, 123);
    assert.equal(report.volumes[0].quota, 2 ** 20);
    assert.ok(report.volumes[0].fsTotal > 0);
    assert.ok(existsSync(join(dir, 'vol', 'tmp', 'in-flight')), 'status leaves tmp/ alone');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('embedded default opens the volumes, warns about pending flags, and reports what is not wired (exit 1)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-cli-'));
  try {
    await writeFile(join(dir, 'creds'), '# users\nbob:secret-bob-1\n\n');
    const r = await run(['-v', './data::rw', '--user', 'alice:secret-alice', '--credentials', 'creds', '--chunk-size', '8m', '--listen', '127.0.0.1:0'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^peerstor: not wired into this build yet: [^\n]+\n$/);
    assert.ok(existsSync(join(dir, 'data', 'fragments')), 'the volume was opened');
    assert.ok(existsSync(join(dir, 'data', '.peerstor')), 'the state directory defaults to <first volume>/.peerstor');
    const warned = r.logs.filter((l) => l.level === 40).map((l) => l.flag);
    assert.ok(warned.includes('--chunk-size') && warned.includes('--user') && warned.includes('--listen'), JSON.stringify(warned));
    assert.ok(!warned.includes('--volume'), 'effective flags are not warned about');
    const intro = r.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('embedded default'));
    assert.equal(intro?.users, 2);
    assert.ok(r.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('single-peer network')));
    const badCreds = await run(['-v', './data::rw', '--credentials', 'creds', '--user', 'bob:other-secret'], { cwd: dir });
    assert.equal(badCreds.code, 2);
    assert.match(badCreds.stderr, /^peerstor: --credentials: .*creds line 2: access key "bob" is given twice\n$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('subcommands whose pieces are not wired say so (exit 1)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-cli-'));
  try {
    for (const argv of [['node', '-v', `${dir}/n::rw`], ['gc', '-v', `${dir}/g::rw`], ['rclone-config']]) {
      const r = await run(argv);
      assert.equal(r.code, 1, argv.join(' '));
      assert.match(r.stderr, /^peerstor: [a-z-]+: not wired into this build yet: /);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--cpu-affinity: taskset pins every thread of a process', { skip: process.platform !== 'linux' && 'Linux only' }, async (t) => {
  const hasTaskset = await new Promise<boolean>((resolve) => execFile('taskset', ['--version'], (err) => resolve(!err)));
  if (!hasTaskset) return t.skip('taskset(1) is not installed here');
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  try {
    await new Promise((resolve) => child.once('spawn', resolve));
    const r = await applyCpuAffinity([0], child.pid!);
    assert.equal(r.applied, true, r.reason);
    const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
    assert.match(status, /^Cpus_allowed_list:\s*0$/m);
    const bad = await applyCpuAffinity([4095], child.pid!);
    assert.equal(bad.applied, false, 'a CPU that does not exist cannot be applied');
    assert.ok(bad.reason);
  } finally {
    child.kill();
  }
});

test('as a real process (tsx): --help exits 0, an unknown flag exits 2 with one line', async () => {
  const root = repoRoot();
  const exec = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const c = spawn(process.execPath, ['--import', 'tsx', join(root, 'test', 'cli', 'run-main.ts'), ...args], { cwd: root, env: { ...process.env, HOME: '/nonexistent-home', XDG_CONFIG_HOME: '' } });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d) => (stdout += d));
      c.stderr.on('data', (d) => (stderr += d));
      c.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const help = await exec(['--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /--cpu-affinity LIST/);
  const bad = await exec(['--no-such-flag']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, 'peerstor: --no-such-flag: unknown flag (see peerstor --help)\n');
});
