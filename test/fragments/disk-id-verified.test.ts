import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isStoreError } from '../../backend/core/errors.js';
import { DiskFragmentStore } from '../../backend/fragments/disk-fragment-store.js';
import { fragmentIdOf } from '../../backend/fragments/fragment-id.js';

// FragmentOpOptions.idVerified: an in-process caller that hashed the bytes itself is trusted on put
// (no second SHA-256); without the flag a mismatch is still refused, and get still re-checks.
test('disk put: idVerified skips the hash check, get still catches a lie', async () => {
  const root = await mkdtemp(join(tmpdir(), 'peerstor-frag-verified-'));
  const store = await DiskFragmentStore.open({ volumes: [{ path: root, mode: 'rw' }] });
  try {
    const good = Buffer.from('fragment bytes');
    const id = fragmentIdOf(good);
    await store.put(id, good, { idVerified: true });
    assert.deepEqual(await store.get(id), good);

    const other = Buffer.from('bytes that do not hash to the id');
    const lie = fragmentIdOf(Buffer.from('something else'));
    await assert.rejects(store.put(lie, other), (err) => isStoreError(err, 'BadDigest'));
    assert.equal(await store.has(lie), false);
    await store.put(lie, other, { idVerified: true });
    assert.equal(await store.has(lie), true);
    await assert.rejects(store.get(lie), (err) => isStoreError(err, 'Corrupt'));
  } finally {
    await store.close();
    await rm(root, { recursive: true, force: true });
  }
});
