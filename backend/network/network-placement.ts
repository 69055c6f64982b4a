/**
 * NetworkPlacement: the Placement (backend/core/placement.ts) over the control plane's membership.
 *
 * - choose(): healthy storage peers with room, by XOR distance between SHA-256(key) and
 *   SHA-256(peer id multihash) — the same metric kad-dht uses, so the DHT's closest peers and
 *   placement agree. Spread across hosts first: round-robin over hosts (each host's closest peer,
 *   then each host's second closest, …); the picks come back ordered by distance. Fewer healthy
 *   peers than `count` → repeats round-robin, as the contract allows.
 * - Health: `failuresToDead` consecutive transport failures (Unavailable/Timeout, reported by the
 *   data path or counted by the handles' own wrapper) or missed heartbeats mark a peer dead. It
 *   revives on the next heartbeat answered after that, or gets another chance after `deadForMs`.
 * - A peer the data path marked dead is not asked again until then: its handle's calls fail at
 *   once with Unavailable (no connect, no timeout), and failures reported meanwhile do not push
 *   the dead period forward. Readers ask recorded holders without checking health first, and a
 *   hung or unroutable holder would otherwise cost every chunk a full request timeout.
 * - Capacity: peers announcing less than `minFree` bytes free are not chosen; a QuotaExceeded
 *   answer marks the peer full until its next announcement.
 * - Fallback: locate(id) asks the DHT for a peer that is not (or no longer) where we thought.
 */
import { createHash } from 'node:crypto';
import { peerIdFromString } from '@libp2p/peer-id';
import type { FragmentStore, FragmentEntry, FragmentOpOptions, FragmentStat } from '../core/fragment-store.js';
import type { PeerHandle, Placement } from '../core/placement.js';
import { isStoreError, StoreError } from '../core/errors.js';
import type { Member } from './control-plane.js';
import { RemoteFragmentStore } from './remote-fragment-store.js';

/** What placement needs from the control plane (ControlPlane implements it; tests use doubles). */
export interface Membership {
  members(): Member[];
  member(id: string): Member | undefined;
  /** DHT fallback: find the peer and refresh its announcement */
  locate(id: string): Promise<Member | undefined>;
  /**
   * Keep members fresh (periodic heartbeats) until the returned function is called. Placement
   * calls it once when built and releases it in close(): a storage peer's control plane refreshes
   * nothing on a timer unless a gateway's placement sits on it (the embedded default).
   */
  track?(): () => void;
  /** a data-path call went to this peer: keep its announcement (free space) fresh */
  use?(id: string): void;
  /** longest time between two refreshes of one member (sampling in large networks); Infinity if none */
  refreshPeriodMs?(): number;
}

export interface NetworkPlacementInit {
  networkKey: Uint8Array;
  /** consecutive transport failures before a peer is dead; default 2 */
  failuresToDead?: number;
  /** how long a dead peer stays dead without a heartbeat; default 30 s */
  deadForMs?: number;
  /**
   * a member whose last answer is older than this is dead; default 20 s (4 heartbeats). When the
   * membership samples (a large network), twice its refresh period if that is longer.
   */
  staleMs?: number;
  /** peers announcing less free space are skipped; default 16 MiB */
  minFree?: number;
  /** per-request timeout of the remote stores; default 30 s */
  requestTimeoutMs?: number;
  /** the embedded peer, always a candidate (its store is used directly, not over the network) */
  local?: PeerHandle;
  /** build the store for a member (tests); default RemoteFragmentStore */
  storeFor?: (m: Member) => FragmentStore;
}

export interface NetworkPlacementComponents {
  membership: Membership;
}

interface Health {
  failures: number;
  deadAt?: number;
  full?: number;
  latencyMs?: number;
}

const keyHashCache = new Map<string, Buffer>();
/** SHA-256 of the peer id's multihash: the peer's position in the DHT keyspace. */
export function peerKey(id: string): Buffer {
  let h = keyHashCache.get(id);
  if (!h) {
    h = createHash('sha256').update(peerIdFromString(id).toMultihash().bytes).digest();
    if (keyHashCache.size > 10_000) keyHashCache.clear();
    keyHashCache.set(id, h);
  }
  return h;
}

/** XOR distance, compared as a big-endian number. */
export function xorCompare(target: Buffer, a: Buffer, b: Buffer): number {
  for (let i = 0; i < target.length; i++) {
    const da = a[i] ^ target[i];
    const db = b[i] ^ target[i];
    if (da !== db) return da - db;
  }
  return 0;
}

export class NetworkPlacement implements Placement {
  readonly #init: NetworkPlacementInit;
  readonly #membership: Membership;
  readonly #health = new Map<string, Health>();
  readonly #handles = new Map<string, { address: string; handle: PeerHandle; remote: FragmentStore }>();
  readonly #untrack: (() => void) | undefined;

  constructor(init: NetworkPlacementInit, components: NetworkPlacementComponents) {
    this.#init = init;
    this.#membership = components.membership;
    this.#untrack = this.#membership.track?.();
  }

  #h(id: string): Health {
    let h = this.#health.get(id);
    if (!h) this.#health.set(id, (h = { failures: 0 }));
    return h;
  }

  #handleOf(m: Member): PeerHandle | undefined {
    if (m.role !== 'peer' || !m.dataAddress) return undefined;
    const cached = this.#handles.get(m.id);
    if (cached && cached.address === m.dataAddress) {
      cached.handle.host = m.host;
      return cached.handle;
    }
    if (cached) void cached.remote.close();
    const remote =
      this.#init.storeFor?.(m) ??
      new RemoteFragmentStore({ address: m.dataAddress, peerId: m.id, networkKey: this.#init.networkKey, timeoutMs: this.#init.requestTimeoutMs });
    const handle: PeerHandle = { id: m.id, host: m.host, store: this.#instrument(m.id, remote) };
    this.#handles.set(m.id, { address: m.dataAddress, handle, remote });
    return handle;
  }

  /** Wraps a store so transport failures and successes feed health tracking by themselves. */
  #instrument(id: string, s: FragmentStore): FragmentStore {
    const run = async <T>(op: () => Promise<T>): Promise<T> => {
      this.#membership.use?.(id);
      if (this.#deadOnDataPath(id)) throw new StoreError('Unavailable', `peer ${id} is marked dead (recent transport failures); not asked until a heartbeat answers or ${this.#deadForMs()} ms pass`);
      const t0 = performance.now();
      try {
        const r = await op();
        this.reportSuccess(id, performance.now() - t0);
        return r;
      } catch (err) {
        if (isStoreError(err, 'Unavailable') || isStoreError(err, 'Timeout') || isStoreError(err, 'QuotaExceeded')) this.reportFailure(id, err);
        throw err;
      }
    };
    return {
      put: (fid: string, data: Uint8Array, o?: FragmentOpOptions) => run(() => s.put(fid, data, o)),
      get: (fid: string, o?: FragmentOpOptions) => run(() => s.get(fid, o)),
      has: (fid: string, o?: FragmentOpOptions) => run(() => s.has(fid, o)),
      delete: (fid: string, o?: FragmentOpOptions) => run(() => s.delete(fid, o)),
      list: (o?: FragmentOpOptions): AsyncIterable<FragmentEntry> => s.list(o),
      stat: (o?: FragmentOpOptions): Promise<FragmentStat> => run(() => s.stat(o)),
      close: () => s.close(),
    };
  }

  #candidates(exclude?: ReadonlySet<string>): PeerHandle[] {
    const minFree = this.#init.minFree ?? 16 * 2 ** 20;
    const out: PeerHandle[] = [];
    const local = this.#init.local;
    if (local && !exclude?.has(local.id) && this.isHealthy(local.id)) out.push(local);
    for (const m of this.#membership.members()) {
      if (exclude?.has(m.id) || m.id === local?.id) continue;
      if (m.free < minFree) continue;
      const h = this.#health.get(m.id);
      if (h?.full !== undefined && h.full >= m.lastSeen) continue;
      if (!this.isHealthy(m.id)) continue;
      const handle = this.#handleOf(m);
      if (handle) out.push(handle);
    }
    return out;
  }

  choose(key: Uint8Array, count: number, exclude?: ReadonlySet<string>): PeerHandle[] {
    if (count <= 0) return [];
    const target = createHash('sha256').update(key).digest();
    const all = this.#candidates(exclude).sort((a, b) => xorCompare(target, peerKey(a.id), peerKey(b.id)));
    if (all.length === 0) return [];
    // hosts in order of their closest peer; each host's peers in distance order
    const byHost = new Map<string, PeerHandle[]>();
    for (const p of all) {
      const list = byHost.get(p.host);
      if (list) list.push(p);
      else byHost.set(p.host, [p]);
    }
    const picked: PeerHandle[] = [];
    for (let round = 0; picked.length < count && picked.length < all.length; round++) {
      for (const list of byHost.values()) {
        if (round < list.length) picked.push(list[round]);
        if (picked.length === count) break;
      }
    }
    picked.sort((a, b) => xorCompare(target, peerKey(a.id), peerKey(b.id)));
    // fewer healthy peers than fragments: repeat round-robin (the contract's last resort)
    for (let i = 0; picked.length < count; i++) picked.push(picked[i % all.length]);
    return picked;
  }

  peer(id: string): PeerHandle | undefined {
    if (this.#init.local?.id === id) return this.#init.local;
    const m = this.#membership.member(id);
    return m ? this.#handleOf(m) : undefined;
  }

  /** DHT fallback for a recorded holder that is unknown or unreachable at its old address. */
  async locate(id: string): Promise<PeerHandle | undefined> {
    const m = await this.#membership.locate(id);
    return m ? this.#handleOf(m) : undefined;
  }

  peers(): PeerHandle[] {
    const out: PeerHandle[] = this.#init.local ? [this.#init.local] : [];
    for (const m of this.#membership.members()) {
      const h = m.id === this.#init.local?.id ? undefined : this.#handleOf(m);
      if (h) out.push(h);
    }
    return out;
  }

  reportSuccess(id: string, latencyMs: number): void {
    const h = this.#h(id);
    h.failures = 0;
    h.deadAt = undefined;
    h.latencyMs = h.latencyMs === undefined ? latencyMs : h.latencyMs * 0.8 + latencyMs * 0.2;
  }

  reportFailure(id: string, err: unknown): void {
    const h = this.#h(id);
    if (isStoreError(err, 'QuotaExceeded')) {
      h.full = Date.now();
      return;
    }
    // already dead: the failure is the fast one above (or a request sent before the mark);
    // moving deadAt would keep a recovered peer's heartbeats from ever reviving it
    if (this.#deadOnDataPath(id)) return;
    h.failures++;
    if (h.failures >= this.#failuresToDead()) h.deadAt = Date.now();
  }

  #deadForMs(): number {
    return this.#init.deadForMs ?? 30_000;
  }

  #failuresToDead(): number {
    return this.#init.failuresToDead ?? 2;
  }

  /**
   * True while failures on the data path hold the peer dead: no heartbeat answered since, and the
   * dead period not over. Clears the mark (one failure short of dead again) once either holds.
   */
  #deadOnDataPath(id: string): boolean {
    const h = this.#health.get(id);
    if (h?.deadAt === undefined) return false;
    const m = this.#membership.member(id);
    if ((m && m.lastSeen > h.deadAt) || Date.now() - h.deadAt > this.#deadForMs()) {
      h.deadAt = undefined;
      h.failures = Math.max(0, this.#failuresToDead() - 1);
      return false;
    }
    return true;
  }

  /** smoothed latency of recent successful calls (for the reader's "fastest k") */
  latency(id: string): number | undefined {
    return this.#health.get(id)?.latencyMs;
  }

  isHealthy(id: string): boolean {
    if (this.#init.local?.id === id) return true;
    const m = this.#membership.member(id);
    if (!m) return false;
    const now = Date.now();
    if (m.failures >= this.#failuresToDead()) return false;
    if (now - m.lastSeen > this.#staleMs()) return false;
    // a heartbeat answered after the failures, or the dead period is over: another chance
    return !this.#deadOnDataPath(id);
  }

  #staleMs(): number {
    const period = this.#membership.refreshPeriodMs?.() ?? Infinity;
    const staleMs = this.#init.staleMs ?? 20_000;
    return Number.isFinite(period) ? Math.max(staleMs, 2 * period) : staleMs;
  }

  /** Stops tracking membership; closes every remote store (not the local one). */
  async close(): Promise<void> {
    this.#untrack?.();
    const all = [...this.#handles.values()];
    this.#handles.clear();
    await Promise.all(all.map((h) => h.remote.close().catch(() => undefined)));
  }
}
