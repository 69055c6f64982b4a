import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryFragmentStore } from '../../backend/fragments/memory-fragment-store.js';
import { fragment, fragmentStoreSuite, rejectsWith } from '../conformance/fragment-store-suite.js';

fragmentStoreSuite('memory', async () => {
  const store = new MemoryFragmentStore();
  return { store, cleanup: () => store.close() };
});

test('memory: capacity refuses a put that would go over, and counts deletes', async () => {
  const store = new MemoryFragmentStore({ capacity: 1000 });
  const a = fragment(600);
  const b = fragment(500);
  await store.put(a.id, a.data);
  await rejectsWith(store.put(b.id, b.data), 'QuotaExceeded');
  assert.equal(await store.has(b.id), false);
  assert.deepEqual(await store.stat(), { capacity: 1000, used: 600, free: 400, fragments: 1 });
  await store.delete(a.id);
  await store.put(b.id, b.data);
  assert.equal((await store.stat()).used, 500);
});

test('memory: read-only refuses put and delete but serves reads', async () => {
  const store = new MemoryFragmentStore({ readOnly: true });
  const a = fragment(10);
  await rejectsWith(store.put(a.id, a.data), 'ReadOnly');
  await rejectsWith(store.delete(a.id), 'ReadOnly');
  await rejectsWith(store.get(a.id), 'FragmentNotFound');
  assert.equal((await store.stat()).free, 0);
});

test('memory: a damaged fragment is Corrupt once, then gone', async () => {
  const store = new MemoryFragmentStore();
  const a = fragment(100);
  await store.put(a.id, a.data);
  assert.equal(store.damage(a.id, 5), true);
  await rejectsWith(store.get(a.id), 'Corrupt');
  await rejectsWith(store.get(a.id), 'FragmentNotFound');
  assert.equal((await store.stat()).used, 0);
});

test('memory: closed store refuses work', async () => {
  const store = new MemoryFragmentStore();
  await store.close();
  const a = fragment(10);
  await rejectsWith(store.put(a.id, a.data), 'Unavailable');
});
