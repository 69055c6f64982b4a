import { objectStoreSuite } from '../conformance/object-store-suite.js';
import { makeStore, type TestStore } from './helpers.js';

objectStoreSuite('PeerStore', async () => {
  const minPartSize = 64 * 1024;
  let s: TestStore | undefined = await makeStore({ minPartSize, avgChunkSize: 64 * 1024, erasure: { k: 3, n: 5 } });
  return {
    stores: {
      open: (user) => s!.stores.open(user),
      capacity: () => s!.stores.capacity(),
    },
    cleanup: async () => {
      await s?.close();
      s = undefined;
    },
    minPartSize,
  };
});
