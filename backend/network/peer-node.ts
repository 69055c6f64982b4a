/**
 * A storage peer: what `peerstor node` runs (and the peer half of the embedded default).
 *
 * One DiskFragmentStore over the `-v` volumes, served on the HTTP/2+TLS data plane; one libp2p
 * control-plane node announcing the data-plane address, host and free capacity; a scheduled scrub
 * that re-hashes every fragment and drops (quarantines) corrupt ones. Identity and, without
 * `--network-key`, the network key live in `<first rw volume>/.peerstor-peer/`.
 */
import './polyfills.js';
import { join } from 'node:path';
import { hostname } from 'node:os';
import type { Logger } from '../core/logger.js';
import type { FragmentStore } from '../core/fragment-store.js';
import { StoreError } from '../core/errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { createOpsResponder } from '../metrics/ops-handler.js';
import { DiskFragmentStore, type ScrubResult } from '../fragments/disk-fragment-store.js';
import { parseVolumeSpec, type VolumeSpec } from '../fragments/volume-spec.js';
import { loadOrCreateIdentity, loadOrCreateNetworkKey, PEER_DIR } from './identity.js';
import { startDataPlane, type DataPlaneServer } from './data-plane.js';
import { ControlPlane } from './control-plane.js';

export interface PeerNodeInit {
  /** `PATH`, `PATH::rw`, `PATH::ro`, `PATH::rw::QUOTA` strings or parsed specs */
  volumes: (string | VolumeSpec)[];
  /** bytes of fragments per volume (a volume's own quota wins) */
  quota?: number;
  /** data plane HOST:PORT (port 0 = ephemeral) */
  listen: string;
  /** libp2p TCP port (0 = ephemeral); it listens on the data plane's host */
  dhtPort: number;
  /** HOST:PORT or multiaddrs of any running peer */
  bootstrap: string[];
  /** network key file; created with a fresh key when missing. Default `<vol>/.peerstor-peer/network.key` */
  networkKeyFile?: string;
  logger: Logger;
  /** host name announced for placement's spreading; default os.hostname() */
  hostLabel?: string;
  /**
   * the network's heartbeat, default 5 s. A storage peer never refreshes its member list on a
   * timer (its control plane is passive): gateways place and judge health from their own
   * refreshes, a peer's list only feeds gossip and lookups, and all-to-all refreshes were most of
   * an idle network's CPU (bench/dht/idle-cpu.ts). The embedded gateway's NetworkPlacement tracks
   * the membership (ControlPlane.track), which turns the heartbeat on at this interval.
   */
  heartbeatMs?: number;
  /** time between scrubs; default 6 h; 0 disables */
  scrubIntervalMs?: number;
  /** default 30 s */
  bootstrapWaitMs?: number;
  /**
   * Optional: data-plane requests are recorded (protocol peer) and the data plane serves
   * /-/health, /-/ready (the volumes answer stat) and /-/metrics without the network token.
   */
  metrics?: Metrics;
}

export interface PeerNode {
  readonly peerId: string;
  /** data plane HOST:PORT as bound */
  readonly dataAddress: string;
  /** libp2p listen multiaddrs with /p2p/<id> (give one to others as --bootstrap) */
  readonly multiaddrs: string[];
  readonly networkKeyPath: string;
  readonly networkKey: Uint8Array;
  readonly controlPlane: ControlPlane;
  /** the local disk store (the embedded gateway uses it directly for its own peer) */
  readonly store: FragmentStore;
  /** Re-hashes every fragment now; corrupt ones are quarantined and returned. */
  scrub(): Promise<ScrubResult>;
  /** Stops the control plane, the data plane and the store, in that order. */
  stop(): Promise<void>;
}

function splitListen(listen: string): { host: string; port: number } {
  const m = /^\[(.+)\]:(\d+)$/.exec(listen) ?? /^([^:]+):(\d+)$/.exec(listen);
  if (!m) throw new StoreError('InvalidArgument', `--listen must be HOST:PORT, got "${listen}"`);
  return { host: m[1], port: Number(m[2]) };
}

export async function startPeerNode(init: PeerNodeInit): Promise<PeerNode> {
  const log = init.logger.child({ component: 'peer-node' });
  const volumes = init.volumes.map((v) => (typeof v === 'string' ? parseVolumeSpec(v) : v));
  const home = volumes.find((v) => v.mode === 'rw') ?? volumes[0];
  if (!home) throw new StoreError('InvalidArgument', 'a storage peer needs at least one volume (-v PATH::rw)');
  const peerDir = join(home.path, PEER_DIR);
  const identity = await loadOrCreateIdentity(peerDir);
  const nk = await loadOrCreateNetworkKey(init.networkKeyFile, peerDir);
  if (nk.created) log.warn({ networkKey: nk.path }, `created a new network key at ${nk.path}: give this file to every peer and gateway of this network (--network-key)`);
  else if (!init.networkKeyFile) log.info({ networkKey: nk.path }, `network key: ${nk.path}`);

  const { host, port } = splitListen(init.listen);
  const store = await DiskFragmentStore.open({ volumes, quota: init.quota, logger: init.logger });
  let data: DataPlaneServer | undefined;
  let control: ControlPlane | undefined;
  try {
    const { metrics } = init;
    const ops = metrics
      ? createOpsResponder(
          {},
          {
            metrics,
            logger: log,
            // a peer is ready when its volumes answer; placement rules are the gateways' business
            ready: async () => {
              await store.stat();
              return { ok: true, reasons: [] };
            },
          },
        )
      : undefined;
    data = await startDataPlane({ host, port, identity, networkKey: nk.key, logger: init.logger }, { store, metrics, ops });
    const dataAddress = data.address;
    const hostLabel = init.hostLabel ?? hostname();
    control = await ControlPlane.start({
      identity,
      networkKey: nk.key,
      host,
      dhtPort: init.dhtPort,
      bootstrap: init.bootstrap,
      heartbeatMs: init.heartbeatMs,
      passive: true,
      bootstrapWaitMs: init.bootstrapWaitMs,
      logger: init.logger,
      announce: async () => {
        const s = await store.stat();
        return { role: 'peer', dataAddress, host: hostLabel, capacity: s.capacity, free: s.free };
      },
    });
  } catch (err) {
    await control?.stop().catch(() => undefined);
    await data?.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
  const cp = control;
  const dp = data;

  let scrubbing: Promise<ScrubResult> | undefined;
  const scrub = (): Promise<ScrubResult> => {
    const t0 = process.hrtime.bigint();
    scrubbing ??= store
      .scrub()
      .then((r) => {
        // one scrub = one operation on this peer's own store; corrupt fragments count as failures
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        init.metrics?.observeFragment({ peer: identity.peerId, op: 'scrub', seconds, ...(r.corrupt.length > 0 ? { error: 'Corrupt' } : {}) });
        if (r.corrupt.length > 0) log.warn({ corrupt: r.corrupt, checked: r.checked }, `scrub: ${r.corrupt.length} corrupt fragment(s) dropped`);
        else log.info({ checked: r.checked }, 'scrub: all fragments intact');
        return r;
      })
      .finally(() => {
        scrubbing = undefined;
      });
    return scrubbing;
  };
  const every = init.scrubIntervalMs ?? 6 * 3600_000;
  let timer: NodeJS.Timeout | undefined;
  const schedule = (): void => {
    if (every <= 0) return;
    timer = setTimeout(() => {
      scrub()
        .catch((err: unknown) => log.error({ err }, 'scrub failed'))
        .finally(schedule);
    }, every);
    timer.unref();
  };
  schedule();

  log.info({ peerId: identity.peerId, data: dp.address, dht: cp.multiaddrs() }, 'storage peer running');
  let stopped: Promise<void> | undefined;
  return {
    peerId: identity.peerId,
    dataAddress: dp.address,
    multiaddrs: cp.multiaddrs(),
    networkKeyPath: nk.path,
    networkKey: nk.key,
    controlPlane: cp,
    store,
    scrub,
    stop() {
      stopped ??= (async () => {
        if (timer) clearTimeout(timer);
        await scrubbing?.catch(() => undefined);
        await cp.stop().catch((err: unknown) => log.warn({ err }, 'control plane stop failed'));
        await dp.close();
        await store.close();
      })();
      return stopped;
    },
  };
}
