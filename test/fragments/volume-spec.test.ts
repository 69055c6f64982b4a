import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseVolumeSpec } from '../../backend/fragments/volume-spec.js';

test('volume specs: PATH, PATH::rw, PATH::ro, PATH::rw::QUOTA', () => {
  assert.deepEqual(parseVolumeSpec('./data'), { path: './data', mode: 'rw' });
  assert.deepEqual(parseVolumeSpec('/srv/a::rw'), { path: '/srv/a', mode: 'rw' });
  assert.deepEqual(parseVolumeSpec('/srv/b::ro'), { path: '/srv/b', mode: 'ro' });
  assert.deepEqual(parseVolumeSpec('/srv/c::rw::50m'), { path: '/srv/c', mode: 'rw', quota: 50 * 2 ** 20 });
  assert.deepEqual(parseVolumeSpec('dir with spaces:and:colons::ro'), { path: 'dir with spaces:and:colons', mode: 'ro' });
});

test('volume specs: bad ones are RangeErrors naming the value', () => {
  for (const bad of ['', '::rw', '/x::', '/x::RW', '/x::rx', '/x::rw::', '/x::rw::lots', '/x::rw::0', '/x::rw::1g::more']) {
    assert.throws(
      () => parseVolumeSpec(bad),
      (err: unknown) => err instanceof RangeError && err.message.includes(`"${bad}"`) && !err.message.includes('\n'),
      bad,
    );
  }
});
