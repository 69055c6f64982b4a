/**
 * The FragmentStore conformance suite against RemoteFragmentStore over a real HTTP/2+TLS data plane
 * (backed by the disk store, as on a real peer).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { fragmentStoreSuite } from '../conformance/fragment-store-suite.js';
import { DiskFragmentStore } from '../../backend/fragments/disk-fragment-store.js';
import { identityFromKey } from '../../backend/network/identity.js';
import { startDataPlane } from '../../backend/network/data-plane.js';
import { RemoteFragmentStore } from '../../backend/network/remote-fragment-store.js';
import { silentLogger } from '../../backend/core/logger.js';

fragmentStoreSuite('RemoteFragmentStore over HTTP/2+TLS (disk behind)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-remote-'));
  const disk = await DiskFragmentStore.open({ volumes: [{ path: dir, mode: 'rw' }], quota: 64 * 2 ** 20 });
  const identity = await identityFromKey(await generateKeyPair('Ed25519'));
  const networkKey = randomBytes(32);
  const server = await startDataPlane({ host: '127.0.0.1', port: 0, identity, networkKey, logger: silentLogger() }, { store: disk });
  const store = new RemoteFragmentStore({ address: server.address, peerId: identity.peerId, networkKey });
  return {
    store,
    async cleanup() {
      await store.close();
      await server.close();
      await disk.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});
