import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfigPath, mergeValues, parseConfigText, readConfigFile } from '../../cli/config-file.js';
import { FLAGS } from '../../cli/flags.js';
import { parseArgs } from '../../cli/parse-args.js';
import { UsageError } from '../../cli/usage-error.js';

test('config lines: NAME VALUE, NAME=VALUE, --NAME=VALUE, booleans, short names, quotes, comments', () => {
  const text = [
    '# a comment',
    '   # an indented comment',
    '',
    'listen 127.0.0.1:9001',
    'volume = /srv/a::rw',
    '--volume=/srv/b::ro',
    'v "/srv/with space::rw"',
    'enable-compression',
    '--cache-size 1g',
    "region 'eu-west-1'",
    'logfile /var/log/peer#store.log',
  ].join('\n');
  const v = parseConfigText(text, 'test.conf', FLAGS, '');
  assert.deepEqual(v.get('listen'), { host: '127.0.0.1', port: 9001 });
  assert.deepEqual(v.get('volume'), [
    { path: '/srv/a', mode: 'rw' },
    { path: '/srv/b', mode: 'ro' },
    { path: '/srv/with space', mode: 'rw' },
  ]);
  assert.equal(v.get('enable-compression'), true);
  assert.equal(v.get('cache-size'), 2 ** 30);
  assert.equal(v.get('region'), 'eu-west-1');
  assert.equal(v.get('logfile'), '/var/log/peer#store.log', '# inside a value is part of it');
});

test('flags of other subcommands are skipped; unknown names and bad values are errors with the line', () => {
  const v = parseConfigText('listen 127.0.0.1:1\ngateway http://127.0.0.1:2\n', 'f', FLAGS, 'status');
  assert.equal(v.has('listen'), false);
  assert.equal((v.get('gateway') as URL).port, '2');
  const bad = (text: string, pattern: RegExp) =>
    assert.throws(() => parseConfigText(text, 'my.conf', FLAGS, ''), (e: unknown) => e instanceof UsageError && pattern.test(e.message));
  bad('listen 1.2.3.4:80\nbogus 1\n', /^--bogus: unknown flag \(my\.conf line 2\)$/);
  bad('\nlisten nowhere', /^--listen: "nowhere" is not HOST:PORT.*\(my\.conf line 2\)$/);
  bad('config other.conf', /^--config: not allowed in a config file/);
  bad('help', /^--help: not allowed in a config file/);
  bad('quota', /^--quota: needs a value/);
  // a typo in a flag the running command skips is still reported
  assert.throws(() => parseConfigText('quota lots', 'f', FLAGS, 'status'), UsageError);
});

test('precedence: defaults < file < command line; repeatable flags from the command line replace the file’s', () => {
  const file = parseConfigText('listen 127.0.0.1:9001\nvolume /f1\nvolume /f2\nregion eu-west-1\n', 'f', FLAGS, '');
  const args = parseArgs(['--listen', '127.0.0.1:9002', '-v', '/cli'], FLAGS).values;
  const merged = mergeValues(FLAGS, '', file, args);
  assert.deepEqual(merged.get('listen'), { host: '127.0.0.1', port: 9002 });
  assert.deepEqual(merged.get('volume'), [{ path: '/cli', mode: 'rw' }]);
  assert.equal(merged.get('region'), 'eu-west-1');
  assert.equal(merged.get('cache-size'), 256 * 2 ** 20, 'default from the table');
  assert.equal(merged.get('chunk-size'), 4 * 2 ** 20);
  const onlyFile = mergeValues(FLAGS, '', file, new Map());
  assert.deepEqual(onlyFile.get('volume'), [{ path: '/f1', mode: 'rw' }, { path: '/f2', mode: 'rw' }]);
  assert.deepEqual(onlyFile.get('listen'), { host: '127.0.0.1', port: 9001 });
  const none = mergeValues(FLAGS, '', new Map(), new Map());
  assert.deepEqual(none.get('listen'), { host: '127.0.0.1', port: 8080 });
});

test('reading files: default path, missing default is fine, missing --config is not', async () => {
  assert.equal(defaultConfigPath({}, '/home/u'), '/home/u/.config/peerstor/peerstor.conf');
  assert.equal(defaultConfigPath({ XDG_CONFIG_HOME: '/xdg' }, '/home/u'), '/xdg/peerstor/peerstor.conf');
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-conf-'));
  try {
    assert.equal((await readConfigFile(join(dir, 'missing.conf'), false, FLAGS, '')).size, 0);
    await assert.rejects(readConfigFile(join(dir, 'missing.conf'), true, FLAGS, ''), (e: unknown) => e instanceof UsageError && /^--config: cannot read/.test(e.message));
    await writeFile(join(dir, 'p.conf'), 'read-ahead 7\r\n');
    assert.equal((await readConfigFile(join(dir, 'p.conf'), true, FLAGS, '')).get('read-ahead'), 7);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
