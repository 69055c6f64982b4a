import { test } from 'node:test';
import assert from 'node:assert/strict';
import { objectStoreSuite } from '../conformance/object-store-suite.js';
import { MemoryObjectStore, MemoryTenantStores } from '../../backend/store/memory-object-store.js';
import { isStoreError } from '../../backend/core/errors.js';

async function* one(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

objectStoreSuite('MemoryObjectStore', async () => {
  const minPartSize = 64 * 1024;
  return { stores: new MemoryTenantStores({ minPartSize }), cleanup: async () => {}, minPartSize };
});

test('MemoryTenantStores: one store per access key', async () => {
  const stores = new MemoryTenantStores();
  const a1 = await stores.open({ accessKey: 'alice', secretKey: 'secret-alice' });
  const a2 = await stores.open({ accessKey: 'alice', secretKey: 'secret-alice' });
  const b = await stores.open({ accessKey: 'bob', secretKey: 'secret-bob' });
  assert.equal(a1, a2);
  assert.notEqual(a1, b);
});

test('MemoryObjectStore: default minimum part size is 5 MiB', async () => {
  const store = new MemoryObjectStore();
  await store.createBucket('parts');
  const up = await store.createMultipartUpload('parts', 'k');
  const small = Buffer.alloc(5 * 2 ** 20 - 1, 1);
  const p1 = await store.uploadPart('parts', 'k', up.uploadId, 1, one(small));
  const p2 = await store.uploadPart('parts', 'k', up.uploadId, 2, one(Buffer.from('x')));
  await assert.rejects(
    store.completeMultipartUpload('parts', 'k', up.uploadId, [{ partNumber: 1, etag: p1.etag }, { partNumber: 2, etag: p2.etag }]),
    (e: unknown) => isStoreError(e, 'EntityTooSmall'),
  );
});

test('MemoryObjectStore: maxObjectSize → EntityTooLarge', async () => {
  const store = new MemoryObjectStore({ maxObjectSize: 10 });
  await store.createBucket('big');
  await assert.rejects(store.putObject('big', 'k', one(Buffer.alloc(11))), (e: unknown) => isStoreError(e, 'EntityTooLarge'));
  await store.putObject('big', 'k', one(Buffer.alloc(10)));
});
