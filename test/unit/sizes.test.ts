import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSize, formatSize } from '../../backend/core/sizes.js';

test('parseSize takes binary suffixes', () => {
  assert.equal(parseSize('512'), 512);
  assert.equal(parseSize('64k'), 65536);
  assert.equal(parseSize('50m'), 50 * 2 ** 20);
  assert.equal(parseSize('4G'), 4 * 2 ** 30);
  assert.equal(parseSize('1.5MiB'), 1.5 * 2 ** 20);
  assert.throws(() => parseSize('abc'), RangeError);
  assert.throws(() => parseSize('-1m'), RangeError);
});

test('formatSize prints binary units', () => {
  assert.equal(formatSize(0), '0 B');
  assert.equal(formatSize(2 ** 20), '1.00 MiB');
});
