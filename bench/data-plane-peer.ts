/**
 * A storage peer's data plane alone, for bench/data-plane.bench.ts: DiskFragmentStore on DIR
 * behind startDataPlane (HTTP/2 + TLS 1.3, the product code), without the control plane, so the
 * bench measures what fragment requests cost a peer with no heartbeats or DHT work in the figure.
 *   node dist/bench/data-plane-peer.js DIR NETWORK_KEY_HEX
 * Prints {"address","peerId"} when listening; SIGTERM stops it. Not part of the product.
 */
import { join } from 'node:path';
import { silentLogger } from '../backend/core/logger.js';
import { DiskFragmentStore } from '../backend/fragments/disk-fragment-store.js';
import { startDataPlane } from '../backend/network/data-plane.js';
import { loadOrCreateIdentity, PEER_DIR } from '../backend/network/identity.js';

const [dir, keyHex] = process.argv.slice(2);
const logger = silentLogger();
const identity = await loadOrCreateIdentity(join(dir, PEER_DIR));
const store = await DiskFragmentStore.open({ volumes: [{ path: dir, mode: 'rw' }], logger });
const server = await startDataPlane({ host: '127.0.0.1', port: 0, identity, networkKey: Buffer.from(keyHex, 'hex'), logger }, { store });
process.stdout.write(`${JSON.stringify({ address: server.address, peerId: identity.peerId })}\n`);
process.once('SIGTERM', () => {
  void server
    .close()
    .then(() => store.close())
    .then(() => process.exit(0));
});
