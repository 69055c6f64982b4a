/**
 * The JSON-lines protocol between bench/dht.bench.ts and its node-host children: one object a
 * line on the child's stdin (commands) and stdout (replies and events). Every command carries a
 * `seq` that its reply repeats, so several commands may be in flight at once.
 */

/** How node-host.ts is started: argv[2] is this, as JSON. */
export interface HostInit {
  /** how many ControlPlane nodes this process runs */
  count: number;
  /** the network key, hex */
  networkKey: string;
  /**
   * addresses every node of this process bootstraps to; when empty, node 0 starts alone (the seed
   * of a new network) and the others bootstrap to node 0
   */
  bootstrap: string[];
  /** ControlPlane heartbeatMs */
  heartbeatMs: number;
}

export interface NodeInfo {
  id: string;
  /** one listening multiaddr with /p2p/<id> */
  addr: string;
}

export type Command =
  | { seq: number; op: 'lookup'; node: number; key: string }
  | { seq: number; op: 'join'; bootstrap: string }
  | { seq: number; op: 'usage' }
  | { seq: number; op: 'stop' };

/** Reply to `lookup`: one getClosestPeers query, DHT answer only (no membership merge). */
export interface LookupReply {
  seq: number;
  ms: number;
  /** FINAL_PEER ids, closest first as the DHT sorted them */
  closest: string[];
  /**
   * `closest` merged with the node's live members and cut to 20, as ControlPlane.closest (what
   * placement uses) returns it
   */
  merged: string[];
  /** peers that answered a FIND_NODE (PEER_RESPONSE events) */
  queried: number;
  /** failed requests (QUERY_ERROR events) */
  errors: number;
  /**
   * sequential rounds: the longest chain of FIND_NODE requests, each sent to a peer learned from
   * the previous answer (1 = only peers from our own routing table were asked)
   */
  rounds: number;
  /** the round in which the closest FINAL_PEER answered (its path length from us); 0 when none */
  closestDepth: number;
}

export interface JoinReply {
  seq: number;
  node: number;
  info: NodeInfo;
  /** Date.now() just before ControlPlane.start */
  t0: number;
  /** ms until ControlPlane.start resolved (bootstrap peer answered) */
  startMs: number;
}

export interface UsageReply {
  seq: number;
  rssMiB: number;
  cpuMs: number;
  /** kad-dht routing-table size of each node */
  routingTable: number[];
  /** open connections of each node */
  connections: number[];
  /** event-loop delay since the previous usage request: p50 and max, ms (CPU starvation shows here) */
  loopDelayP50Ms: number;
  loopDelayMaxMs: number;
  /** xsalsa20 package cipher slots ever taken in this process: 0 since the control plane stopped
   *  using @libp2p/pnet (which leaked two per connection end, fatal past ~10,240; README.md) */
  cipherSlots?: number;
}

export interface ErrorReply {
  seq: number;
  error: string;
}

/** First line a host prints once all its nodes run. */
export interface ReadyEvent {
  ready: true;
  nodes: NodeInfo[];
  /** ms from process start (performance.timeOrigin) to ready */
  sinceProcessStartMs: number;
  /** ms the ControlPlane starts took */
  startMs: number;
}
