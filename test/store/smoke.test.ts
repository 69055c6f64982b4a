import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytesFast } from '../../bench/lib.js';
import { makeStore, md5hex, pieces, readAll, MiB } from './helpers.js';

test('put and get a simple object', async () => {
  const s = await makeStore();
  try {
    const store = await s.open();
    await store.createBucket('bucket');
    const data = randomBytesFast(3 * MiB + 17, 5);
    const info = await store.putObject('bucket', 'k', pieces(data));
    assert.equal(info.etag, md5hex(data));
    const got = await store.getObject('bucket', 'k');
    assert.deepEqual(await readAll(got.body), data);
    const small = await store.putObject('bucket', 's', pieces(Buffer.from('hello')));
    assert.equal(small.size, 5);
    assert.equal((await readAll((await store.getObject('bucket', 's')).body)).toString(), 'hello');
  } finally {
    await s.close();
  }
});
