import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  oneOf,
  parseCpuList,
  parseDuration,
  parseErasure,
  parseHostPort,
  parsePortRange,
  parseUrl,
  parseUserPair,
} from '../../cli/values.js';

test('parseHostPort: IPv4, names, [IPv6], :PORT, port 0', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseHostPort('localhost:1'), { host: 'localhost', port: 1 });
  assert.deepEqual(parseHostPort('[::1]:9000'), { host: '::1', port: 9000 });
  assert.deepEqual(parseHostPort(':21'), { host: '127.0.0.1', port: 21 });
  assert.deepEqual(parseHostPort('0.0.0.0:0'), { host: '0.0.0.0', port: 0 });
  for (const bad of ['8080', 'host', 'host:', 'host:65536', 'host:-1', '[nope]:80', '::1:80', 'a b:80', 'h:8o']) {
    assert.throws(() => parseHostPort(bad), RangeError, bad);
  }
});

test('parseErasure: K,N and K+M within the coder limits', () => {
  assert.deepEqual(parseErasure('10,16', 24, 6), { k: 10, n: 16 });
  assert.deepEqual(parseErasure('10+6', 24, 6), { k: 10, n: 16 });
  assert.deepEqual(parseErasure('1,2', 24, 6), { k: 1, n: 2 });
  for (const bad of ['10', '10,10', '16,10', '0,4', '25,26', '10,17', '10+7', 'a,b', '10,16,2']) {
    assert.throws(() => parseErasure(bad, 24, 6), RangeError, bad);
  }
});

test('parseCpuList takes taskset lists', () => {
  assert.deepEqual(parseCpuList('0'), [0]);
  assert.deepEqual(parseCpuList('0,1'), [0, 1]);
  assert.deepEqual(parseCpuList('2-4,0,3'), [0, 2, 3, 4]);
  for (const bad of ['', 'a', '1-', '3-1', '0,,1', '-1']) assert.throws(() => parseCpuList(bad), RangeError, bad);
});

test('parseDuration: units and bare seconds', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('10'), 10_000);
  for (const bad of ['', 's', '10x', '-1s', '1 d']) assert.throws(() => parseDuration(bad), RangeError, bad);
});

test('port ranges, user pairs, URLs, choices', () => {
  assert.deepEqual(parsePortRange('30000-30100'), { from: 30000, to: 30100 });
  assert.deepEqual(parsePortRange('21-21'), { from: 21, to: 21 });
  for (const bad of ['30100-30000', '0-10', '1-70000', '100']) assert.throws(() => parsePortRange(bad), RangeError, bad);
  assert.deepEqual(parseUserPair('AK:S:K'), { accessKey: 'AK', secretKey: 'S:K' });
  for (const bad of ['nocolon', ':sk', 'ak:']) assert.throws(() => parseUserPair(bad), RangeError, bad);
  assert.equal(parseUrl('http://127.0.0.1:8080').port, '8080');
  assert.throws(() => parseUrl('ftp://x'), RangeError);
  assert.throws(() => parseUrl('not a url'), RangeError);
  assert.equal(oneOf(['ro', 'rw'] as const)('ro'), 'ro');
  assert.throws(() => oneOf(['ro', 'rw'] as const)('rx'), RangeError);
});
