/**
 * The gateway's side of the network: a control-plane node that stores nothing (role 'gateway')
 * plus a NetworkPlacement over its membership. The embedded default passes its own peer as
 * `local` so the gateway uses that store directly, without a network hop.
 */
import './polyfills.js';
import { join } from 'node:path';
import type { Logger } from '../core/logger.js';
import type { PeerHandle } from '../core/placement.js';
import { loadOrCreateIdentity, loadOrCreateNetworkKey, PEER_DIR } from './identity.js';
import { ControlPlane } from './control-plane.js';
import { NetworkPlacement, type NetworkPlacementInit } from './network-placement.js';

export interface NetworkClientInit {
  /** directory for the gateway's identity (and network key when no file is given), e.g. --state DIR */
  stateDir: string;
  networkKeyFile?: string;
  /** address to listen on for libp2p; default 127.0.0.1 */
  host?: string;
  /** default 0 (ephemeral) */
  dhtPort?: number;
  bootstrap: string[];
  logger: Logger;
  heartbeatMs?: number;
  bootstrapWaitMs?: number;
  /** the embedded peer, when the gateway runs one */
  local?: PeerHandle;
  placement?: Omit<NetworkPlacementInit, 'networkKey' | 'local'>;
}

export interface NetworkClient {
  readonly controlPlane: ControlPlane;
  readonly placement: NetworkPlacement;
  readonly networkKeyPath: string;
  stop(): Promise<void>;
}

export async function startNetworkClient(init: NetworkClientInit): Promise<NetworkClient> {
  const dir = join(init.stateDir, PEER_DIR);
  const identity = await loadOrCreateIdentity(dir);
  const nk = await loadOrCreateNetworkKey(init.networkKeyFile, dir);
  if (nk.created) init.logger.warn({ networkKey: nk.path }, `created a new network key at ${nk.path}`);
  const controlPlane = await ControlPlane.start({
    identity,
    networkKey: nk.key,
    host: init.host,
    dhtPort: init.dhtPort ?? 0,
    bootstrap: init.bootstrap,
    heartbeatMs: init.heartbeatMs,
    bootstrapWaitMs: init.bootstrapWaitMs,
    logger: init.logger,
    announce: async () => ({ role: 'gateway', host: init.local?.host ?? 'gateway', capacity: 0, free: 0 }),
  });
  const placement = new NetworkPlacement({ ...init.placement, networkKey: nk.key, local: init.local }, { membership: controlPlane });
  return {
    controlPlane,
    placement,
    networkKeyPath: nk.path,
    async stop() {
      await placement.close();
      await controlPlane.stop();
    },
  };
}
