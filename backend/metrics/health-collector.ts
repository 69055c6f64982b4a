/**
 * Keeps the `peerstor_chunks{state}` and `peerstor_peers{state}` gauges current without a timer:
 * recounted when Prometheus scrapes (`Metrics.addCollector`), at most once per `minIntervalMs`
 * (default 30 s), because counting chunk health walks the index. Peers are cheap and are recounted
 * with it: the placement's peers, `self` for this process's own peer, else connected / unreachable
 * by the placement's health.
 *
 * The chunk source is the index's `chunkHealth(deadPeers)` (backend/store/repair-index.ts, the
 * same count /-/status serves), matched structurally so this folder imports no store code.
 */
import type { Placement } from '../core/placement.js';
import type { Metrics } from './metrics.js';

export interface HealthCollectorInit {
  /** least time between two recounts; default 30 000 ms */
  minIntervalMs?: number;
  /** this process's own peer id (LocalPlacement's 'local', or the embedded peer's libp2p id) */
  selfId?: string;
  /** clock, for tests; default Date.now */
  now?: () => number;
}

export interface HealthCollectorComponents {
  metrics: Metrics;
  placement: Placement;
  chunks: { chunkHealth(deadPeers: ReadonlySet<string>): Promise<{ healthy: number; degraded: number; lost: number }> };
}

/** Registers the recount on `metrics` and returns it (callable directly, e.g. by tests). */
export function addHealthCollector(init: HealthCollectorInit, components: HealthCollectorComponents): () => Promise<void> {
  const { metrics, placement, chunks } = components;
  const every = init.minIntervalMs ?? 30_000;
  const now = init.now ?? Date.now;
  let last = -Infinity;
  let running: Promise<void> | undefined;
  const recount = async (): Promise<void> => {
    const counts = { self: 0, connected: 0, unreachable: 0 };
    const dead = new Set<string>();
    for (const p of placement.peers()) {
      if (p.id === init.selfId) counts.self++;
      else if (placement.isHealthy(p.id)) counts.connected++;
      else {
        counts.unreachable++;
        dead.add(p.id);
      }
    }
    metrics.setPeers(counts);
    metrics.setChunkHealth(await chunks.chunkHealth(dead));
  };
  const collect = (): Promise<void> => {
    if (running) return running;
    if (now() - last < every) return Promise.resolve();
    last = now();
    running = recount().finally(() => {
      running = undefined;
    });
    return running;
  };
  metrics.addCollector(collect);
  return collect;
}
