/**
 * The network view as operators and the web page see it. The peer network (backend/network)
 * produces it; `/-/status` serves it as JSON and `peerstor status --json` prints the same object
 * (issue 4, item 7), so its field names are a public contract: add fields, never rename them.
 */

export interface PeerStatus {
  /** libp2p peer id (base58) */
  id: string;
  /** how the gateway reaches it, e.g. a multiaddr or `host:port` of its data plane */
  address?: string;
  /** bytes the peer offers in total, if it says */
  capacity?: number;
  /** bytes still free on the peer, if it says */
  free?: number;
  /** ISO 8601 time of the last successful contact */
  lastSeen?: string;
  /** `self` = this process's own storage peer */
  state: 'self' | 'connected' | 'unreachable';
  /** fragments this gateway placed on the peer, if known */
  fragments?: number;
}

export interface ChunkHealth {
  total: number;
  /** all n fragments on live peers */
  healthy: number;
  /** at least k but fewer than n fragments on live peers: repair will rebuild the rest */
  degraded: number;
  /** fewer than k: unreadable until a peer comes back */
  lost: number;
}

export interface RepairStatus {
  /** chunks waiting for repair */
  queued: number;
  /** chunks being rebuilt right now */
  active: number;
  /** chunks rebuilt since start */
  repaired: number;
  /** repairs that failed since start (they are retried) */
  failed: number;
}

export interface NetworkStatus {
  /** this process's peer id, if it runs a peer */
  self?: string;
  /** erasure code in force: k data fragments out of n */
  placement: { k: number; n: number };
  peers: PeerStatus[];
  chunks: ChunkHealth;
  repair?: RepairStatus;
  /** ISO 8601 time this snapshot was taken */
  at: string;
}

export interface Readiness {
  ok: boolean;
  /** why not ready, one sentence each, for people (empty when ok) */
  reasons: string[];
}

export interface ReadinessInput {
  /** the metadata index is open and answered a query */
  indexOpen: boolean;
  /** peers that can take fragments right now, this process's own peer included */
  healthyPeers: number;
  k: number;
  /**
   * Peers needed before writes are accepted. Default k + 2 (issue 6): enough distinct peers that
   * a chunk keeps two spare fragments. A deliberately single-machine store (no --bootstrap) keeps
   * all n fragments on its own volumes and should pass 1 here.
   */
  minPeers?: number;
}

/** The `/-/ready` rule, kept here so gateways and storage peers decide it the same way. */
export function readiness(input: ReadinessInput): Readiness {
  const reasons: string[] = [];
  if (!input.indexOpen) reasons.push('the metadata index is not open');
  const need = input.minPeers ?? input.k + 2;
  if (input.healthyPeers < need) {
    reasons.push(`only ${input.healthyPeers} healthy peer${input.healthyPeers === 1 ? '' : 's'}; placement needs ${need}`);
  }
  return { ok: reasons.length === 0, reasons };
}
