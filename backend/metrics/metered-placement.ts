/**
 * A Placement whose peers' fragment stores report every operation to `Metrics` (per-peer counts,
 * failures, latency, bytes), through the `withMetrics` FragmentStore decorator. Everything else
 * (choice, health, reports) is the inner placement's.
 *
 * The label of a peer is its handle id: `local` for the single-peer LocalPlacement's volumes, the
 * libp2p peer id for the network's peers (the embedded peer included). Wrapped stores are cached
 * per inner store object, so a handle's store keeps one identity (callers dedupe stores by
 * identity, e.g. PeerStore.capacity) and wrapping costs nothing per call after the first.
 */
import type { FragmentStore } from '../core/fragment-store.js';
import type { PeerHandle, Placement } from '../core/placement.js';
import { withMetrics } from '../fragments/with-metrics.js';
import type { Metrics } from './metrics.js';

export function meterPlacement(inner: Placement, metrics: Metrics): Placement {
  const stores = new WeakMap<FragmentStore, { peer: string; store: FragmentStore }>();
  const handles = new WeakMap<PeerHandle, PeerHandle>();
  const wrap = (h: PeerHandle): PeerHandle => {
    let w = handles.get(h);
    let s = stores.get(h.store);
    if (!s || s.peer !== h.id) {
      const peer = h.id;
      s = {
        peer,
        store: withMetrics(h.store, {
          onOp: (e) => metrics.observeFragment({ peer, op: e.op, seconds: e.ms / 1000, bytes: e.bytes, ...(e.error ? { error: e.error } : {}) }),
        }),
      };
      stores.set(h.store, s);
    }
    if (!w || w.store !== s.store) {
      // host is read through, so a peer that moved host is spread correctly
      const store = s.store;
      w = {
        id: h.id,
        get host() {
          return h.host;
        },
        store,
      };
      handles.set(h, w);
    }
    return w;
  };
  const maybe = (h: PeerHandle | undefined): PeerHandle | undefined => (h ? wrap(h) : undefined);
  return {
    choose: (key, count, exclude) => inner.choose(key, count, exclude).map(wrap),
    peer: (id) => maybe(inner.peer(id)),
    peers: () => inner.peers().map(wrap),
    reportSuccess: (id, latencyMs) => inner.reportSuccess(id, latencyMs),
    reportFailure: (id, err) => inner.reportFailure(id, err),
    isHealthy: (id) => inner.isHealthy(id),
  };
}
