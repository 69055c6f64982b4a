import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from '../../cli/parse-args.js';
import { FLAGS } from '../../cli/flags.js';
import { UsageError } from '../../cli/usage-error.js';

function usage(argv: string[], pattern: RegExp): void {
  assert.throws(() => parseArgs(argv, FLAGS), (err: unknown) => {
    assert.ok(err instanceof UsageError, String(err));
    assert.match(err.message, pattern);
    return true;
  });
}

test('every spelling of a flag', () => {
  const a = parseArgs(['--listen', '127.0.0.1:9000', '-v', '/a::rw', '-v/b::ro', '--volume=/c', '-c', '8m', '--enable-compression'], FLAGS);
  assert.equal(a.command, '');
  assert.equal(a.commandGiven, false);
  assert.deepEqual(a.values.get('listen'), { host: '127.0.0.1', port: 9000 });
  assert.deepEqual(a.values.get('volume'), [
    { path: '/a', mode: 'rw' },
    { path: '/b', mode: 'ro' },
    { path: '/c', mode: 'rw' },
  ]);
  assert.equal(a.values.get('chunk-size'), 8 * 2 ** 20);
  assert.equal(a.values.get('enable-compression'), true);
  const b = parseArgs(['--enable-compression=false', '--quota=50g', '--timeout', '2m', '--read-ahead', '8', '-c4m'], FLAGS);
  assert.equal(b.values.get('enable-compression'), false);
  assert.equal(b.values.get('quota'), 50 * 2 ** 30);
  assert.equal(b.values.get('timeout'), 120_000);
  assert.equal(b.values.get('read-ahead'), 8);
  assert.equal(b.values.get('chunk-size'), 4 * 2 ** 20);
});

test('a non-repeatable flag given twice: the last one wins', () => {
  const a = parseArgs(['--region', 'eu-west-1', '--region', 'us-east-2'], FLAGS);
  assert.equal(a.values.get('region'), 'us-east-2');
});

test('subcommand anywhere among the flags; positionals; --', () => {
  const a = parseArgs(['--json', 'status', '--gateway', 'http://127.0.0.1:1'], FLAGS);
  assert.equal(a.command, 'status');
  assert.equal(a.commandGiven, true);
  assert.equal((a.values.get('gateway') as URL).port, '1');
  const h = parseArgs(['help', 'node'], FLAGS);
  assert.equal(h.command, 'help');
  assert.deepEqual(h.positionals, ['node']);
  const d = parseArgs(['help', '--', '--not-a-flag'], FLAGS);
  assert.deepEqual(d.positionals, ['--not-a-flag']);
});

test('mistakes are UsageErrors naming the flag', () => {
  usage(['--bogus'], /^--bogus: unknown flag/);
  usage(['-x'], /^-x: unknown flag/);
  usage(['--listen'], /^--listen: needs a value/);
  usage(['--listen', 'nope'], /^--listen: "nope" is not HOST:PORT/);
  usage(['-v', '/a::rx'], /^--volume: bad volume/);
  usage(['--quota', 'lots'], /^--quota: not a size/);
  usage(['--read-ahead', '-1'], /^--read-ahead: "-1" is not a whole number/);
  usage(['--timeout', 'soon'], /^--timeout: "soon" is not a duration/);
  usage(['--erasure', '10,30'], /^--erasure: at most 6 parity/);
  usage(['--anonymous', 'yes'], /^--anonymous: must be one of ro, rw/);
  usage(['--log-level', 'loud'], /^--log-level: must be one of/);
  usage(['--enable-compression=maybe'], /^--enable-compression: takes no value/);
  usage(['--region', ''], /^--region: must not be empty/);
  usage(['frobnicate'], /^unknown command "frobnicate"/);
  usage(['status', '--quota', '1g'], /^--quota: not a flag of `peerstor status`/);
  usage(['--gateway', 'http://127.0.0.1:1'], /^--gateway: not a flag of `peerstor`/);
});

test('--help and --version are answered whatever else is on the line', () => {
  assert.equal(parseArgs(['status', '--quota', '1g', '--help'], FLAGS).values.get('help'), true);
  const v = parseArgs(['--version', '--json'], FLAGS);
  assert.equal(v.values.get('json'), true);
});
