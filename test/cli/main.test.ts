import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { pino } from 'pino';
import { main } from '../../cli/main.js';
import { COMMANDS, FLAGS } from '../../cli/flags.js';
import { flagDescription, flagUsage } from '../../cli/help.js';
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
      [['-v', vol, '--ftps-only'], /^peerstor: --ftps-only: needs --ftp-listen/],
      [['-v', vol, '-v', vol], /^peerstor: --volume: .* is given twice/],
      [['-v', vol, '--user', 'ab:short'], /^peerstor: --user: /],
      [['-v', vol, '--chunk-size', '1k'], /^peerstor: --chunk-size: /],
      [['-v', vol, '--write-quorum', '11'], /^peerstor: --write-quorum: must be from 12 \(K\+2\) to 16/],
      [['-v', vol, '--erasure', '4,6', '--write-quorum', '7'], /^peerstor: --write-quorum: must be from 6 \(K\+2\) to 6/],
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
  const flat = (t: string) => t.replace(/\s+/g, ' ');
  for (const f of FLAGS) {
    assert.ok(all.stdout.includes(flagUsage(f)), `--help shows ${flagUsage(f)}`);
    assert.ok(flat(all.stdout).includes(flat(flagDescription(f, true))), `--help describes --${f.name}`);
  }
  assert.ok(flat(all.stdout).includes('not yet effective'), 'pending flags are marked');
  for (const c of COMMANDS) if (c) assert.ok(all.stdout.includes(`  ${c} `), `--help names the ${c} command`);
  for (const c of COMMANDS) {
    const r = c === 'help' ? await run(['help', 'help']) : c ? await run([c, '--help']) : await run(['help', 'default']);
    assert.equal(r.code, 0);
    for (const f of FLAGS) {
      const usage = `  ${flagUsage(f)}`;
      const shown = r.stdout.split('\n').some((l) => l === usage || l.startsWith(`${usage} `));
      assert.equal(shown, f.commands.includes(c), `help for "${c}" ${f.commands.includes(c) ? 'shows' : 'hides'} --${f.name}`);
      if (shown) assert.ok(flat(r.stdout).includes(flat(flagDescription(f, false, c))), `help for "${c}" describes --${f.name}`);
    }
  }
  assert.equal((await run(['help', 'status'])).stdout, (await run(['status', '--help'])).stdout);
  assert.equal((await run(['help', 'nothing'])).code, 2);
  // pending is per command: --timeout works for the embedded default, not for node
  const timeout = FLAGS.find((f) => f.name === 'timeout')!;
  assert.match(flagDescription(timeout, false, 'node'), /not yet effective/);
  assert.doesNotMatch(flagDescription(timeout, false, ''), /not yet effective/);
  assert.doesNotMatch(flat((await run(['help', 'rclone-config'])).stdout), /not yet effective/);
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
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, reasons: ['only 0 healthy peers'] }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as { port: number }).port;
      const r = await run(['status', '--gateway', `http://127.0.0.1:${port}`, '-v', `${dir}/vol::ro`], { env: { XDG_CONFIG_HOME: dir }, cwd: dir });
      assert.equal(r.code, 1, 'a gateway that says it is not ready');
      const report = JSON.parse(r.stdout) as {
        gateway: { reachable: boolean; httpStatus: number; ready: boolean; reasons: string[] };
        volumes: { path: string; exists: boolean }[];
        peers: unknown[];
        chunks: unknown;
      };
      assert.deepEqual(paths, ['/-/ready', '/-/status']);
      // no /-/status answer (this one is 503): no peers, chunk health unknown
      assert.deepEqual(report.peers, []);
      assert.equal(report.chunks, null);
      assert.equal(report.gateway.reachable, true);
      assert.equal(report.gateway.httpStatus, 503);
      assert.equal(report.gateway.ready, false);
      assert.deepEqual(report.gateway.reasons, ['only 0 healthy peers']);
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

test('embedded default serves S3, WebDAV and the web page from its volumes until stopped', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-cli-'));
  try {
    await writeFile(join(dir, 'creds'), '# users\nbob-key:secret-bob-1\n\n');
    let stderr = '';
    const logs: Record<string, unknown>[] = [];
    const controller = new AbortController();
    // a failed assertion must not leave the gateway running (the test file would never end)
    t.after(() => controller.abort());
    const running = main(
      ['-v', './data::rw', '--user', 'alice-key:secret-alice', '--credentials', 'creds', '--chunk-size', '256k', '--max-upload-chunk', '1g', '--listen', '127.0.0.1:0'],
      {
        stdout: () => undefined,
        stderr: (t) => void (stderr += t),
        env: {},
        home: '/nonexistent-home',
        cwd: dir,
        signal: controller.signal,
        logger: pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
      },
    );
    let finished: number | undefined;
    void running.then((code) => (finished = code));
    let serving: Record<string, unknown> | undefined;
    while (!serving && finished === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      serving = logs.find((l) => l.msg === 'serving');
    }
    assert.ok(serving, `the embedded default stopped early (${finished}): ${stderr}`);
    const base = serving.s3 as string;
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);

    const s3 = new S3Client({ endpoint: base, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'alice-key', secretAccessKey: 'secret-alice' } });
    try {
      const data = randomBytes(700_000);
      await s3.send(new CreateBucketCommand({ Bucket: 'cli-bucket' }));
      await s3.send(new PutObjectCommand({ Bucket: 'cli-bucket', Key: 'dir/obj.bin', Body: data }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'cli-bucket', Key: 'dir/obj.bin' }));
      assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data), 'S3 round trip');
      const dav = await fetch(`${base}/d/cli-bucket/dir/obj.bin`, { headers: { authorization: `Basic ${Buffer.from('alice-key:secret-alice').toString('base64')}` } });
      assert.equal(dav.status, 200);
      assert.ok(Buffer.from(await dav.arrayBuffer()).equals(data), 'WebDAV serves the same bytes');
      const ui = await fetch(`${base}/ui/`);
      assert.equal(ui.status, 200);
      await ui.arrayBuffer();
      const ready = await fetch(`${base}/-/ready`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), { ok: true, reasons: [] });
      const status = await run(['status', '--gateway', base]);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /^gateway http:\/\/127\.0\.0\.1:\d+\/: ready\n/);
    } finally {
      s3.destroy();
    }
    assert.ok(existsSync(join(dir, 'data', 'fragments')), 'the volume was opened');
    assert.ok(existsSync(join(dir, 'data', '.peerstor', 'index.sqlite')), 'the state directory defaults to <first volume>/.peerstor');
    const warned = logs.filter((l) => l.level === 40 && l.flag).map((l) => l.flag);
    assert.deepEqual(warned, [], 'every flag given is effective for the embedded default, so none is warned about');
    assert.equal(logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('embedded default'))?.users, 2);

    const gcWhileRunning = await run(['gc', '-v', './data::rw'], { cwd: dir });
    assert.equal(gcWhileRunning.code, 1);
    assert.match(gcWhileRunning.stderr, /^peerstor: another peerstor process \(pid \d+\) is using .*data\/\.peerstor; stop it first\n$/);

    controller.abort();
    assert.equal(await running, 0, stderr);
    assert.equal(stderr, '');
    assert.ok(!existsSync(join(dir, 'data', '.peerstor', 'peerstor.pid')), 'the lock is released on stop');
    const gc = await run(['gc', '--json', '-v', './data::rw'], { cwd: dir });
    assert.equal(gc.code, 0, gc.stderr);
    assert.deepEqual(JSON.parse(gc.stdout), { chunks: 0, fragments: 0, orphans: 0 }, 'nothing is garbage within the grace period');
    const again = await run(['-v', './data::rw', '--listen', '127.0.0.1:0'], { cwd: dir });
    assert.equal(again.code, 0, again.stderr);
    const rawS3 = await fetch(`${base}/`).catch((e: unknown) => e);
    assert.ok(rawS3 instanceof Error, 'the stopped listener is closed');

    const badCreds = await run(['-v', './data::rw', '--credentials', 'creds', '--user', 'bob-key:other-secret'], { cwd: dir });
    assert.equal(badCreds.code, 2);
    assert.match(badCreds.stderr, /^peerstor: --credentials: access key "bob-key" is given more than once\n$/);
    await writeFile(join(dir, 'short'), 'carol:short\n');
    const shortSecret = await run(['-v', './data::rw', '--credentials', 'short'], { cwd: dir });
    assert.equal(shortSecret.code, 2);
    assert.match(shortSecret.stderr, /^peerstor: --credentials: .*short:1: secret key for "carol" is shorter than 8 characters\n$/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('without users the embedded default generates one key pair (0600) once; rclone-config finds it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-cli-'));
  try {
    const first = await run(['-v', `${dir}/vol::rw`, '--listen', '127.0.0.1:0']);
    const m = /generated a user, stored in (\S+) \(mode 0600\): access key (\S+), secret key (\S+)\n/.exec(first.stderr);
    assert.ok(m, first.stderr);
    assert.equal(m[1], join(dir, 'vol', '.peerstor', 'credentials'));
    assert.equal((await stat(m[1])).mode & 0o777, 0o600);
    const second = await run(['-v', `${dir}/vol::rw`, '--listen', '127.0.0.1:0']);
    assert.ok(!second.stderr.includes('generated a user'), 'the stored pair is reused');
    const rc = await run(['rclone-config', '-v', `${dir}/vol`, '--gateway', 'http://127.0.0.1:9000', '--sftp-listen', '127.0.0.1:2222']);
    assert.equal(rc.code, 0, rc.stderr);
    assert.match(rc.stdout, /^\[peerstor\]\ntype = s3\n/);
    assert.ok(rc.stdout.includes(`access_key_id = ${m[2]}\n`));
    assert.ok(rc.stdout.includes(`secret_access_key = ${m[3]}\n`));
    assert.ok(rc.stdout.includes('endpoint = http://127.0.0.1:9000\n'));
    assert.ok(rc.stdout.includes('url = http://127.0.0.1:9000/d/\n'));
    assert.ok(rc.stdout.includes('[peerstor-sftp]\n'));
    assert.ok(!rc.stdout.includes('[peerstor-ftp]'), 'no FTP remote without --ftp-listen');
    const explicit = await run(['rclone-config', '--user', 'AKIAEXAMPLE:secretsecret', '-v', `${dir}/vol`]);
    assert.ok(explicit.stdout.includes('access_key_id = AKIAEXAMPLE\n'), '--user wins over the stored pair');
    const nobody = await run(['rclone-config', '--state', join(dir, 'empty')]);
    assert.equal(nobody.code, 2);
    assert.match(nobody.stderr, /^peerstor: --user: no user to configure/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('node starts a storage peer, logs its id, addresses and network key, keeps its id across restarts', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-cli-'));
  try {
    const argv = ['node', '-v', `${dir}/n::rw`, '--listen', '127.0.0.1:0', '--dht-port', '0'];
    const ids: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      // the signal is already aborted: the peer starts, reports, and stops cleanly
      const r = await run(argv);
      assert.equal(r.code, 0, r.stderr);
      const line = r.logs.find((l) => typeof l.peerId === 'string' && Array.isArray(l.multiaddrs) && 'networkKey' in l);
      assert.ok(line, 'one log line names the peer id, its multiaddrs and the network key');
      assert.match(String(line.peerId), /^12D3Koo/);
      assert.match(String((line.multiaddrs as string[])[0]), /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3Koo/);
      assert.equal(line.networkKey, join(dir, 'n', '.peerstor-peer', 'network.key'));
      assert.ok((await stat(String(line.networkKey))).isFile());
      ids.push(line.peerId);
    }
    assert.equal(ids[0], ids[1], 'the identity is kept in the volume');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('gc refuses a store on the peer network (its volumes hold other gateways\' fragments)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-cli-'));
  try {
    await mkdir(join(dir, 'v', '.peerstor-peer'), { recursive: true });
    const r = await run(['gc', '-v', `${dir}/v::rw`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^peerstor: gc: .*peer network/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a gateway on the peer network without -v needs --state', async () => {
  const r = await run(['--bootstrap', '127.0.0.1:1']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^peerstor: --volume: .*--state/);
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

/** Runs main() until `controller` aborts; resolves once a log line matches `ready`. */
async function startMain(argv: string[], cwd: string, ready: (l: Record<string, unknown>) => boolean, controller: AbortController) {
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  const running = main(argv, {
    stdout: () => undefined,
    stderr: (t) => void (stderr += t),
    env: {},
    home: '/nonexistent-home',
    cwd,
    signal: controller.signal,
    logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
  });
  let finished: number | undefined;
  void running.then((code) => (finished = code));
  let line: Record<string, unknown> | undefined;
  while (!line && finished === undefined) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    line = logs.find(ready);
  }
  assert.ok(line, `${argv.join(' ')} stopped early (${finished}): ${stderr}`);
  return { line, logs, running };
}

test('on the network: a node, a gateway with -v (its volume a peer) and one without -v (--state) share fragments; status shows both peers', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-cli-net-'));
  const stops: { controller: AbortController; running: Promise<number> }[] = [];
  try {
    const nodeCtl = new AbortController();
    const node = await startMain(['node', '-v', './peer::rw', '--listen', '127.0.0.1:0', '--dht-port', '0', '--network-key', './net.key'], dir, (l) => typeof l.peerId === 'string' && Array.isArray(l.multiaddrs), nodeCtl);
    stops.push({ controller: nodeCtl, running: node.running });
    const boot = (node.line.multiaddrs as string[])[0];
    const common = ['--network-key', './net.key', '--bootstrap', boot, '--listen', '127.0.0.1:0', '--erasure', '2,3', '--user', 'alice-key:secret-alice'];
    const gwCtl = new AbortController();
    const gw = await startMain(['-v', './gw::rw', ...common], dir, (l) => l.msg === 'serving', gwCtl);
    stops.push({ controller: gwCtl, running: gw.running });
    assert.ok(!gw.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('single-peer storage')), 'no single-peer warning on the network');
    const bareCtl = new AbortController();
    const bare = await startMain(['--state', './bare-state', ...common], dir, (l) => l.msg === 'serving', bareCtl);
    stops.push({ controller: bareCtl, running: bare.running });

    const status = async (base: string): Promise<{ peers: { id: string; address: string; healthy: boolean }[]; chunks: { total: number; healthy: number } }> => {
      const r = await run(['status', '--gateway', base, '--json']);
      return JSON.parse(r.stdout) as Awaited<ReturnType<typeof status>>;
    };
    // the gateways learn the peers through heartbeats; wait until both see both storage peers
    for (const g of [gw, bare]) {
      const base = g.line.s3 as string;
      for (let i = 0; (await status(base)).peers.filter((p) => p.healthy).length < 2; i++) {
        assert.ok(i < 300, 'the gateway sees both storage peers within 60 s');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
    for (const g of [gw, bare]) {
      const base = g.line.s3 as string;
      const s3 = new S3Client({ endpoint: base, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'alice-key', secretAccessKey: 'secret-alice' } });
      try {
        const data = randomBytes(300_000);
        await s3.send(new CreateBucketCommand({ Bucket: 'net-bucket' }));
        await s3.send(new PutObjectCommand({ Bucket: 'net-bucket', Key: 'obj.bin', Body: data }));
        const got = await s3.send(new GetObjectCommand({ Bucket: 'net-bucket', Key: 'obj.bin' }));
        assert.ok(Buffer.from(await got.Body!.transformToByteArray()).equals(data), 'S3 round trip over the network');
      } finally {
        s3.destroy();
      }
      const st = await status(base);
      assert.equal(st.chunks.total, 1);
      assert.equal(st.chunks.healthy, 1);
    }
    const count = async (vol: string): Promise<number> =>
      (await readdir(join(dir, vol, 'fragments'), { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).length;
    assert.ok((await count('peer')) >= 2, 'the node holds fragments of both gateways');
    assert.ok((await count('gw')) >= 2, 'the gateway’s own volume holds fragments too');
    assert.ok(!existsSync(join(dir, 'bare-state', 'fragments')), 'a gateway without -v stores no fragments');
    assert.ok(existsSync(join(dir, 'bare-state', 'index.sqlite')), 'its index lives in --state');
  } finally {
    for (const s of stops.reverse()) {
      s.controller.abort();
      assert.equal(await s.running, 0);
    }
    await rm(dir, { recursive: true, force: true });
  }
});
