// --max-upload-chunk and --max-concurrent-uploads, enforced once for every front end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryTenantStores } from '../../backend/store/memory-object-store.js';
import { withUploadLimits } from '../../backend/store/upload-limits.js';
import { isStoreError } from '../../backend/core/errors.js';
import type { Body } from '../../backend/core/object-store.js';

const user = { accessKey: 'limits', secretKey: 'limits-secret' };

async function* pieces(n: number, size: number, gate?: Promise<void>): AsyncGenerator<Uint8Array> {
  if (gate) await gate;
  for (let i = 0; i < n; i++) yield Buffer.alloc(size, i);
}

test('an upload larger than the limit is refused, announced or not, and nothing is stored', async () => {
  const stores = withUploadLimits(new MemoryTenantStores(), { maxUploadSize: 1000 });
  const store = await stores.open(user);
  await store.createBucket('lim');
  await store.putObject('lim', 'ok', pieces(10, 100));
  assert.equal((await store.headObject('lim', 'ok')).size, 1000);
  await assert.rejects(store.putObject('lim', 'announced', pieces(11, 100), { expectedSize: 1100 }), (e) => isStoreError(e, 'EntityTooLarge'));
  await assert.rejects(store.putObject('lim', 'streamed', pieces(11, 100)), (e) => isStoreError(e, 'EntityTooLarge'));
  await assert.rejects(store.headObject('lim', 'streamed'), (e) => isStoreError(e, 'NoSuchKey'));
  const { uploadId } = await store.createMultipartUpload('lim', 'mp');
  await assert.rejects(store.uploadPart('lim', 'mp', uploadId, 1, pieces(2, 600)), (e) => isStoreError(e, 'EntityTooLarge'));
  // every other method still works through the decorator
  assert.deepEqual((await store.listObjects('lim')).objects.map((o) => o.key), ['ok']);
});

test('uploads beyond the concurrency limit wait their turn', async () => {
  const stores = withUploadLimits(new MemoryTenantStores(), { maxConcurrentUploads: 2 });
  const store = await stores.open(user);
  await store.createBucket('lim');
  let running = 0;
  let most = 0;
  const releases: (() => void)[] = [];
  const body = (): Body =>
    (async function* () {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((r) => releases.push(r));
      yield Buffer.from('x');
      running--;
    })();
  const puts = [0, 1, 2, 3].map((i) => store.putObject('lim', `k${i}`, body()));
  // let the first ones start; only two bodies may be read at once
  while (releases.length < 2) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(running, 2);
  while (releases.length) {
    releases.shift()!();
    await new Promise((r) => setTimeout(r, 5));
  }
  // drain: later bodies register their release after earlier puts finish
  for (let i = 0; i < 50 && releases.length + running > 0; i++) {
    while (releases.length) releases.shift()!();
    await new Promise((r) => setTimeout(r, 5));
  }
  await Promise.all(puts);
  assert.equal(most, 2);
  assert.equal((await store.listObjects('lim')).objects.length, 4);
});
