// docker/Dockerfile and docker/compose.yaml, checked statically (no Docker engine runs on these
// machines). The install step must be the README quick-start's install command, verbatim.
//
// README format this test reads (the integrator owns README.md): under the heading
// "## Quick start", the first fenced code block (```sh, ```bash or ```console); in it, the first
// line (after stripping comments and a leading "$ ") that contains `npm install`. That line is
// split on "&&": every command before `npm start` must appear, in order, as `RUN <command>` in the
// Dockerfile's build stage, and `npm start` maps to the Dockerfile's ENTRYPOINT running the same
// program as package.json's "start" script (its first two words, `node bin/peerstor.js`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const root = process.cwd();

/** The README quick start's install line, as commands (format documented above). */
function readmeInstallCommands(readme: string): string[] {
  const start = readme.search(/^##\s+Quick start\s*$/im);
  assert.ok(start >= 0, 'README.md has a "## Quick start" section');
  const block = /```(?:sh|bash|console|shell)\n([\s\S]*?)```/.exec(readme.slice(start));
  assert.ok(block, 'the Quick start section has a ```sh code block');
  for (const raw of block[1].split('\n')) {
    const line = raw.replace(/^\s*\$\s+/, '').replace(/\s+#.*$/, '').trim();
    if (line.startsWith('#') || !/\bnpm install\b/.test(line)) continue;
    return line.split('&&').map((c) => c.trim()).filter(Boolean);
  }
  assert.fail('no line with `npm install` in the Quick start code block');
}

interface Stage {
  from: string;
  name?: string;
  instructions: { op: string; args: string }[];
}

/** Dockerfile → stages of instructions (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const joined = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of joined) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const sp = line.indexOf(' ');
    const op = line.slice(0, sp).toUpperCase();
    const args = line.slice(sp + 1).trim().replace(/\s+/g, ' ');
    if (op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ from: m![1], name: m![2], instructions: [] });
    } else {
      assert.ok(stages.length > 0, `${op} before FROM`);
      stages.at(-1)!.instructions.push({ op, args });
    }
  }
  return stages;
}

test('the README parser reads the documented format', () => {
  const readme = '# X\n\n## Quick start\n\nText.\n\n```sh\n# 1. install\n$ npm install && npm start   # go\n```\n';
  assert.deepEqual(readmeInstallCommands(readme), ['npm install', 'npm start']);
  assert.throws(() => readmeInstallCommands('# X\n```sh\nnpm install\n```\n'), /Quick start/);
});

test('Dockerfile install commands are identical to the README quick start', async () => {
  const commands = readmeInstallCommands(await readFile(join(root, 'README.md'), 'utf8'));
  const stages = parseDockerfile(await readFile(join(root, 'docker', 'Dockerfile'), 'utf8'));
  const build = stages[0];
  const runs = build.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
  const startAt = commands.findIndex((c) => /^npm (run )?start\b/.test(c));
  const install = startAt < 0 ? commands : commands.slice(0, startAt);
  assert.ok(install.length > 0);
  let from = 0;
  for (const cmd of install) {
    const at = runs.indexOf(cmd, from);
    assert.ok(at >= 0, `the build stage runs "${cmd}" verbatim (RUN lines: ${JSON.stringify(runs)})`);
    from = at + 1;
  }
  if (startAt >= 0) {
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // node, its flags and the script: everything up to bin/peerstor.js (the rest are peerstor's flags)
    const words = pkg.scripts.start.split(/\s+/);
    const program = words.slice(0, words.indexOf('bin/peerstor.js') + 1);
    assert.ok(program.length >= 2, 'npm start runs bin/peerstor.js');
    const entry = stages.at(-1)!.instructions.filter((i) => i.op === 'ENTRYPOINT').at(-1);
    assert.ok(entry, 'the runtime stage has an ENTRYPOINT');
    assert.deepEqual(JSON.parse(entry.args), program, 'ENTRYPOINT runs what `npm start` runs');
  }
});

test('multi-stage, non-root, a volume, a healthcheck on /-/health', async () => {
  const stages = parseDockerfile(await readFile(join(root, 'docker', 'Dockerfile'), 'utf8'));
  assert.ok(stages.length >= 2, 'multi-stage');
  const runtime = stages.at(-1)!;
  const ops = (op: string): string[] => runtime.instructions.filter((i) => i.op === op).map((i) => i.args);
  assert.deepEqual(ops('USER'), ['peerstor']);
  assert.ok(ops('COPY').every((a) => a.startsWith('--from=')), 'the runtime stage only copies build results');
  assert.ok(!ops('RUN').some((a) => /\b(g\+\+|make|python3)\b/.test(a)), 'no compilers at runtime');
  assert.deepEqual(JSON.parse(ops('VOLUME')[0]), ['/data']);
  const hc = ops('HEALTHCHECK')[0];
  assert.match(hc, /CMD .*http:\/\/127\.0\.0\.1:8080\/-\/health/);
  assert.match(ops('CMD')[0], /"--listen", "0\.0\.0\.0:8080"/);
  const node = /^node:(\d+)/.exec(runtime.from);
  assert.equal(node?.[1], '20', 'the Node major the project supports (engines >= 20, better-sqlite3 12.x)');
  assert.equal(stages[0].from, runtime.from, 'native modules are built against the runtime image');
});

test('compose: a gateway and 16 peers, each with its own volume, sharing the network key', async (t) => {
  const text = await readFile(join(root, 'docker', 'compose.yaml'), 'utf8');
  const services = text.slice(text.indexOf('\nservices:'), text.indexOf('\nsecrets:'));
  const peers = [...services.matchAll(/^ {2}(peer\d\d): \{ <<: \*peer, volumes: \["(peer\d\d):\/data"\] \}$/gm)];
  assert.equal(peers.length, 16);
  assert.equal(new Set(peers.map((m) => m[2])).size, 16, 'one volume per peer');
  for (const m of peers) assert.equal(m[1], m[2]);
  assert.match(services, /^ {2}gateway:$/m);
  assert.match(text, /- node\n/, 'peers run `peerstor node`');
  assert.match(text, /--bootstrap=\/dns4\/gateway\/tcp\/4001/);
  assert.match(text, /network_key:\n {4}file: \.\/network\.key/);
  // Full YAML semantics (anchors, merge keys) when a YAML parser is at hand: python3-yaml.
  const parsed = await new Promise<string | undefined>((resolve) => {
    execFile('python3', ['-c', 'import sys, json, yaml; d = yaml.safe_load(open(sys.argv[1])); print(json.dumps(d))', join(root, 'docker', 'compose.yaml')], (err, stdout) => resolve(err ? undefined : stdout));
  });
  if (parsed === undefined) {
    t.skip('python3 with PyYAML not installed: only the structural checks above ran');
    return;
  }
  const doc = JSON.parse(parsed) as { services: Record<string, { command: string[]; volumes: string[]; secrets?: string[]; healthcheck?: unknown }> };
  const names = Object.keys(doc.services);
  assert.equal(names.length, 17);
  for (const name of names.filter((n) => n.startsWith('peer'))) {
    const s = doc.services[name];
    assert.equal(s.command[0], 'node', name);
    assert.deepEqual(s.secrets, ['network_key']);
    assert.ok(s.healthcheck, `${name} has a healthcheck`);
    assert.deepEqual(s.volumes, [`${name}:/data`]);
  }
});
