/**
 * One Prometheus registry per process and the typed recording functions the other components
 * call. Components never touch prom-client objects directly: they call `metrics.observeRequest`
 * and friends, so metric names, labels and buckets live in this one file (and docs/metrics.md).
 *
 * Label values are bounded on purpose: protocol and stage are closed unions, operation is the S3
 * operation name or the protocol's verb, codes are error codes. The one open label is `peer`
 * (a peer id): call `forgetPeer` when a peer leaves the routing table for good, so a churning
 * network does not grow the series set without bound.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Protocol = 's3' | 'webdav' | 'sftp' | 'ftp' | 'web' | 'peer';

/** Pipeline stages of the data path (ARCHITECTURE.md §2), in the order a PUT runs them. */
export type PipelineStage = 'chunk' | 'hash' | 'encrypt' | 'encode' | 'place' | 'index' | 'fetch' | 'decode' | 'decrypt';

export type FragmentOp = 'put' | 'get' | 'has' | 'delete' | 'list' | 'stat' | 'scrub';

export type ChunkHealthState = 'healthy' | 'degraded' | 'lost';

export interface MetricsInit {
  /** metric name prefix; default `peerstor_` */
  prefix?: string;
  /** also export Node's process metrics (CPU, memory, event-loop lag, GC); default true */
  processMetrics?: boolean;
  /** constant labels on every series, e.g. `{ role: 'peer' }` */
  labels?: Record<string, string>;
}

export interface RequestObservation {
  protocol: Protocol;
  /** S3 operation name (`PutObject`…) or the protocol's verb (`PROPFIND`, `RETR`…) */
  operation: string;
  /** `OK`, or the error code sent (`NoSuchKey`, `SlowDown`, `550`…) */
  code: string;
  seconds: number;
  bytesIn?: number;
  bytesOut?: number;
}

export interface FragmentObservation {
  peer: string;
  op: FragmentOp;
  /** undefined = success, else the StoreError code (`Timeout`, `Unavailable`, `Corrupt`…) */
  error?: string;
  seconds: number;
  bytes?: number;
}

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const STAGE_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5];

export class Metrics {
  readonly registry: Registry;
  readonly #requests: Counter<'protocol' | 'operation' | 'code'>;
  readonly #requestSeconds: Histogram<'protocol' | 'operation'>;
  readonly #bytesIn: Counter<'protocol'>;
  readonly #bytesOut: Counter<'protocol'>;
  readonly #stageSeconds: Histogram<'stage'>;
  readonly #stageBytes: Counter<'stage'>;
  readonly #fragmentOps: Counter<'peer' | 'op'>;
  readonly #fragmentFailures: Counter<'peer' | 'op' | 'code'>;
  readonly #fragmentSeconds: Histogram<'op'>;
  readonly #fragmentBytes: Counter<'op'>;
  readonly #repairQueue: Gauge;
  readonly #repairActive: Gauge;
  readonly #repairs: Counter<'result'>;
  readonly #chunks: Gauge<'state'>;
  readonly #peers: Gauge<'state'>;
  readonly #logicalBytes: Counter;
  readonly #storedBytes: Counter;
  readonly #cache: Counter<'cache' | 'result'>;
  readonly #hits = new Map<string, { hit: number; miss: number }>();
  /** label sets recorded per peer, so forgetPeer can remove exactly those series */
  readonly #peerSeries = new Map<string, Record<string, string>[]>();
  /** refreshers run before each exposition (see addCollector) */
  readonly #collectors: (() => Promise<void> | void)[] = [];
  #logical = 0;
  #stored = 0;

  constructor(init: MetricsInit = {}) {
    const p = init.prefix ?? 'peerstor_';
    const registry = new Registry();
    if (init.labels) registry.setDefaultLabels(init.labels);
    this.registry = registry;
    const registers = [registry];
    this.#requests = new Counter({ name: `${p}requests_total`, help: 'Requests answered, by protocol, operation and result code (OK or the error code sent).', labelNames: ['protocol', 'operation', 'code'], registers });
    this.#requestSeconds = new Histogram({ name: `${p}request_duration_seconds`, help: 'Time from request to the last byte of the answer, by protocol and operation.', labelNames: ['protocol', 'operation'], buckets: LATENCY_BUCKETS, registers });
    this.#bytesIn = new Counter({ name: `${p}received_bytes_total`, help: 'Payload bytes received from clients (request bodies, uploads), by protocol.', labelNames: ['protocol'], registers });
    this.#bytesOut = new Counter({ name: `${p}sent_bytes_total`, help: 'Payload bytes sent to clients (response bodies, downloads), by protocol.', labelNames: ['protocol'], registers });
    this.#stageSeconds = new Histogram({ name: `${p}pipeline_stage_duration_seconds`, help: 'Time one chunk spends in each data-path stage.', labelNames: ['stage'], buckets: STAGE_BUCKETS, registers });
    this.#stageBytes = new Counter({ name: `${p}pipeline_stage_bytes_total`, help: 'Bytes that went through each data-path stage.', labelNames: ['stage'], registers });
    this.#fragmentOps = new Counter({ name: `${p}fragment_operations_total`, help: 'Fragment operations attempted, by peer and operation.', labelNames: ['peer', 'op'], registers });
    this.#fragmentFailures = new Counter({ name: `${p}fragment_failures_total`, help: 'Fragment operations that failed, by peer, operation and error code.', labelNames: ['peer', 'op', 'code'], registers });
    this.#fragmentSeconds = new Histogram({ name: `${p}fragment_operation_duration_seconds`, help: 'Fragment operation latency, by operation (all peers).', labelNames: ['op'], buckets: LATENCY_BUCKETS, registers });
    this.#fragmentBytes = new Counter({ name: `${p}fragment_bytes_total`, help: 'Fragment bytes moved, by operation (put = sent to peers, get = fetched).', labelNames: ['op'], registers });
    this.#repairQueue = new Gauge({ name: `${p}repair_queue_chunks`, help: 'Chunks waiting for repair.', registers });
    this.#repairActive = new Gauge({ name: `${p}repair_active_chunks`, help: 'Chunks being rebuilt right now.', registers });
    this.#repairs = new Counter({ name: `${p}repairs_total`, help: 'Chunk repairs finished, by result (repaired, failed).', labelNames: ['result'], registers });
    this.#chunks = new Gauge({ name: `${p}chunks`, help: 'Chunks by health: healthy = all n fragments on live peers, degraded = k..n-1, lost = fewer than k.', labelNames: ['state'], registers });
    this.#peers = new Gauge({ name: `${p}peers`, help: 'Known storage peers by state (self, connected, unreachable).', labelNames: ['state'], registers });
    this.#logicalBytes = new Counter({ name: `${p}dedup_logical_bytes_total`, help: 'Plaintext bytes written by clients (before dedup).', registers });
    this.#storedBytes = new Counter({ name: `${p}dedup_stored_bytes_total`, help: 'Plaintext bytes of new, not yet stored chunks among them (after dedup).', registers });
    // prom-client calls collect() with the gauge as `this`; these closures read our totals instead.
    const dedupRatio = (): number => this.dedupRatio();
    const hits = this.#hits;
    new Gauge({
      name: `${p}dedup_ratio`,
      help: 'Logical bytes written / bytes stored after dedup, since start (1 = nothing deduplicated; 0 before any write; +Inf when every byte was a duplicate).',
      registers,
      collect() {
        this.set(dedupRatio());
      },
    });
    this.#cache = new Counter({ name: `${p}cache_requests_total`, help: 'Cache lookups, by cache and result (hit, miss).', labelNames: ['cache', 'result'], registers });
    new Gauge({
      name: `${p}cache_hit_ratio`,
      help: 'Hits / lookups since start, by cache (0 before any lookup).',
      labelNames: ['cache'],
      registers,
      collect() {
        for (const [cache, h] of hits) this.set({ cache }, h.hit + h.miss === 0 ? 0 : h.hit / (h.hit + h.miss));
      },
    });
    if (init.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: p });
  }

  /** One finished request (call once, after the last byte was sent or the request failed). */
  observeRequest(o: RequestObservation): void {
    this.#requests.inc({ protocol: o.protocol, operation: o.operation, code: o.code });
    this.#requestSeconds.observe({ protocol: o.protocol, operation: o.operation }, o.seconds);
    if (o.bytesIn) this.#bytesIn.inc({ protocol: o.protocol }, o.bytesIn);
    if (o.bytesOut) this.#bytesOut.inc({ protocol: o.protocol }, o.bytesOut);
  }

  /** Starts a request timer; the returned function records it (see observeRequest). */
  startRequest(protocol: Protocol, operation: string): (result: { code: string; bytesIn?: number; bytesOut?: number }) => void {
    const t0 = process.hrtime.bigint();
    return (r) => this.observeRequest({ protocol, operation, ...r, seconds: Number(process.hrtime.bigint() - t0) / 1e9 });
  }

  /** Bytes moved outside a request's accounting (e.g. a long download, counted as it streams). */
  addBytes(direction: 'in' | 'out', protocol: Protocol, bytes: number): void {
    (direction === 'in' ? this.#bytesIn : this.#bytesOut).inc({ protocol }, bytes);
  }

  observeStage(stage: PipelineStage, seconds: number, bytes?: number): void {
    this.#stageSeconds.observe({ stage }, seconds);
    if (bytes) this.#stageBytes.inc({ stage }, bytes);
  }

  /** Times `fn` as one pass through `stage` (also when it throws). */
  async timeStage<T>(stage: PipelineStage, fn: () => Promise<T> | T, bytes?: number): Promise<T> {
    const t0 = process.hrtime.bigint();
    try {
      return await fn();
    } finally {
      this.observeStage(stage, Number(process.hrtime.bigint() - t0) / 1e9, bytes);
    }
  }

  observeFragment(o: FragmentObservation): void {
    this.#fragmentOps.inc({ peer: o.peer, op: o.op });
    this.#notePeerSeries(o.peer, { peer: o.peer, op: o.op });
    this.#fragmentSeconds.observe({ op: o.op }, o.seconds);
    if (o.error !== undefined) {
      this.#fragmentFailures.inc({ peer: o.peer, op: o.op, code: o.error });
      this.#notePeerSeries(o.peer, { peer: o.peer, op: o.op, code: o.error });
    } else if (o.bytes) this.#fragmentBytes.inc({ op: o.op }, o.bytes);
  }

  /** Drops every per-peer series of a peer that left for good. */
  forgetPeer(peer: string): void {
    for (const labels of this.#peerSeries.get(peer) ?? []) {
      if ('code' in labels) this.#fragmentFailures.remove(labels as { peer: string; op: string; code: string });
      else this.#fragmentOps.remove(labels);
    }
    this.#peerSeries.delete(peer);
  }

  #notePeerSeries(peer: string, labels: Record<string, string>): void {
    let set = this.#peerSeries.get(peer);
    if (!set) this.#peerSeries.set(peer, (set = []));
    if (!set.some((l) => l.op === labels.op && l.code === labels.code)) set.push(labels);
  }

  setRepairQueue(queued: number, active = 0): void {
    this.#repairQueue.set(queued);
    this.#repairActive.set(active);
  }

  countRepair(result: 'repaired' | 'failed', n = 1): void {
    this.#repairs.inc({ result }, n);
  }

  setChunkHealth(h: Record<ChunkHealthState, number>): void {
    for (const state of ['healthy', 'degraded', 'lost'] as const) this.#chunks.set({ state }, h[state]);
  }

  setPeers(counts: Partial<Record<'self' | 'connected' | 'unreachable', number>>): void {
    for (const state of ['self', 'connected', 'unreachable'] as const) this.#peers.set({ state }, counts[state] ?? 0);
  }

  /** A client write of `logicalBytes` plaintext, of which `storedBytes` were chunks not stored before. */
  addDedup(logicalBytes: number, storedBytes: number): void {
    this.#logical += logicalBytes;
    this.#stored += storedBytes;
    this.#logicalBytes.inc(logicalBytes);
    this.#storedBytes.inc(storedBytes);
  }

  dedupRatio(): number {
    if (this.#logical === 0) return 0;
    // Everything deduplicated: the ratio is unbounded, which Prometheus writes as +Inf.
    return this.#stored === 0 ? Infinity : this.#logical / this.#stored;
  }

  countCache(cache: string, hit: boolean): void {
    this.#cache.inc({ cache, result: hit ? 'hit' : 'miss' });
    const h = this.#hits.get(cache) ?? { hit: 0, miss: 0 };
    if (hit) h.hit++;
    else h.miss++;
    this.#hits.set(cache, h);
  }

  /**
   * Runs `fn` before every exposition (text()), for gauges that are cheaper to recount on a scrape
   * than to keep current (chunk health, peers). `fn` decides itself how stale it may be (e.g. at
   * most one recount per 30 s); one that throws leaves the gauges as they were.
   */
  addCollector(fn: () => Promise<void> | void): void {
    this.#collectors.push(fn);
  }

  /** The Prometheus text exposition of every metric. */
  async text(): Promise<string> {
    await Promise.all(
      this.#collectors.map(async (fn) => {
        try {
          await fn();
        } catch {
          // a failed recount keeps the last values; the scrape itself must not fail
        }
      }),
    );
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

export function createMetrics(init: MetricsInit = {}): Metrics {
  return new Metrics(init);
}
