/**
 * The peers part of `peerstor status --json`, and the chunk-health numbers the index supplies:
 *   {"peers": [{"id","address","host","capacity","free","lastSeen","healthy"}…],
 *    "chunks": {"total","healthy","degraded","lost"}}
 * healthy = all n fragments on live peers; degraded = fewer than n but at least k; lost = fewer than k.
 */
import type { Placement } from '../core/placement.js';
import type { Member } from './control-plane.js';

export interface PeerStatus {
  id: string;
  /** data-plane HOST:PORT, or 'local' for the embedded peer */
  address: string;
  host: string;
  capacity: number;
  free: number;
  /** ISO time of the last heartbeat answer (now for the local peer) */
  lastSeen: string;
  healthy: boolean;
}

export interface ChunkHealth {
  total: number;
  healthy: number;
  degraded: number;
  lost: number;
}

/** Implemented by the index: counts chunks by how many fragments sit on peers not in `deadPeers`. */
export interface ChunkHealthSource {
  chunkHealth(deadPeers: ReadonlySet<string>): Promise<ChunkHealth>;
}

export interface NetworkStatus {
  peers: PeerStatus[];
  chunks: ChunkHealth;
}

export interface StatusComponents {
  placement: Placement;
  membership: { members(): Member[] };
  chunks?: ChunkHealthSource;
  /** the embedded peer's own numbers, when there is one */
  local?: { id: string; host: string; stat(): Promise<{ capacity: number; free: number }> };
}

export async function collectStatus(c: StatusComponents): Promise<NetworkStatus> {
  const peers: PeerStatus[] = [];
  if (c.local) {
    const s = await c.local.stat();
    peers.push({ id: c.local.id, address: 'local', host: c.local.host, capacity: s.capacity, free: s.free, lastSeen: new Date().toISOString(), healthy: true });
  }
  for (const m of c.membership.members()) {
    if (m.role !== 'peer' || !m.dataAddress || m.id === c.local?.id) continue;
    peers.push({
      id: m.id,
      address: m.dataAddress,
      host: m.host,
      capacity: m.capacity,
      free: m.free,
      lastSeen: new Date(m.lastSeen).toISOString(),
      healthy: c.placement.isHealthy(m.id),
    });
  }
  peers.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const dead = new Set(peers.filter((p) => !p.healthy).map((p) => p.id));
  const chunks = c.chunks ? await c.chunks.chunkHealth(dead) : { total: 0, healthy: 0, degraded: 0, lost: 0 };
  return { peers, chunks };
}
