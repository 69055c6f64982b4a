/**
 * Where fragments go. The store asks a Placement for holders when it writes a chunk, records the
 * chosen peer of every fragment in the index, and resolves recorded holders through it on reads.
 * Implementations: LocalPlacement (backend/store/, the single embedded peer) and the DHT-backed
 * NetworkPlacement (backend/network/).
 */
import type { FragmentStore } from './fragment-store.js';

export interface PeerHandle {
  /** libp2p peer id (or 'local' style id for the embedded peer); stable across restarts */
  id: string;
  /** the machine it runs on, so placement can spread fragments across hosts */
  host: string;
  store: FragmentStore;
}

export interface Placement {
  /**
   * Holders for the `count` fragments of one chunk, ordered by XOR distance of the peer id from
   * `key`. Returns exactly `count` handles when at least one healthy peer is known: distinct peers
   * while there are enough healthy ones (spread across hosts first), repeating peers round-robin
   * only when there are fewer healthy peers than `count`. Peers in `exclude` are skipped.
   * Returns [] when no healthy peer is known.
   */
  choose(key: Uint8Array, count: number, exclude?: ReadonlySet<string>): PeerHandle[];
  /** A recorded holder by id; undefined when the peer is unknown (the caller may fall back to the DHT). */
  peer(id: string): PeerHandle | undefined;
  /** All known peers, healthy or not. */
  peers(): PeerHandle[];
  /** Health feedback from the data path. */
  reportSuccess(id: string, latencyMs: number): void;
  reportFailure(id: string, err: unknown): void;
  /** false while a peer is considered dead (recent failures, no heartbeat) */
  isHealthy(id: string): boolean;
}
