/**
 * The placement of the embedded default: one local storage peer holds all n fragments of every
 * chunk. That protects against bit rot and lost fragment files (any n−k of them), not against
 * losing the machine — it says so in the log at start. The DHT-backed NetworkPlacement
 * (backend/network/) replaces it when other peers join.
 */
import { hostname } from 'node:os';
import type { FragmentStore } from '../core/fragment-store.js';
import type { Logger } from '../core/logger.js';
import type { PeerHandle, Placement } from '../core/placement.js';

export interface LocalPlacementInit {
  /** the local peer's id (its libp2p peer id when it has one); default 'local' */
  id?: string;
  host?: string;
}

export interface LocalPlacementComponents {
  store: FragmentStore;
  logger: Logger;
}

export class LocalPlacement implements Placement {
  readonly #peer: PeerHandle;

  constructor(components: LocalPlacementComponents, init: LocalPlacementInit = {}) {
    this.#peer = { id: init.id ?? 'local', host: init.host ?? hostname(), store: components.store };
    components.logger.warn(
      { peer: this.#peer.id },
      'single-peer storage: every fragment of a chunk is on this machine — this protects against bit rot and lost fragment files, not against losing the machine',
    );
  }

  choose(_key: Uint8Array, count: number, exclude?: ReadonlySet<string>): PeerHandle[] {
    if (exclude?.has(this.#peer.id)) return [];
    return Array.from({ length: count }, () => this.#peer);
  }

  peer(id: string): PeerHandle | undefined {
    return id === this.#peer.id ? this.#peer : undefined;
  }

  peers(): PeerHandle[] {
    return [this.#peer];
  }

  reportSuccess(): void {}

  reportFailure(): void {}

  isHealthy(id: string): boolean {
    return id === this.#peer.id;
  }
}
