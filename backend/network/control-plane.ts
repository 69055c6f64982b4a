/**
 * The control plane: a js-libp2p node with a private Kademlia DHT.
 *
 * Choices (ARCHITECTURE §5):
 * - Privacy: private-network.ts wraps every connection in XSalsa20 keyed by the network key
 *   (libp2p's private-network PSK, wire-compatible with @libp2p/pnet), so a node without the key
 *   cannot complete the noise handshake, never appears in a routing table, and cannot even learn
 *   our peer id. A gater plus a keyed protocol name would still let outsiders connect, identify
 *   and probe; the PSK refuses them at the first bytes. Not @libp2p/pnet itself: its xsalsa20
 *   cipher leaks WASM memory per connection attempt and kills the process after ~10k of them.
 *   The DHT protocol name is private too (`/peerstor/kad/1.0.0`) so a PeerStor node can never
 *   merge with the public IPFS DHT by accident.
 * - Announcements: a tiny request/response protocol `/peerstor/info/1.0.0` returns the peer's
 *   JSON announcement (data-plane address, host name, role, capacity, free). A DHT record would
 *   need a custom validator and go stale; identify metadata is only sent on connect. The same
 *   call doubles as the heartbeat: a peer is "seen" when it answers.
 * - Membership: every peer learned through the DHT (routing table), a connection or gossip is asked
 *   for its announcement once. Periodic refreshes (the heartbeat, every `heartbeatMs`) run only on
 *   nodes whose membership someone relies on: gateways, through `track()` (NetworkPlacement calls
 *   it). A `passive` node (a storage peer) never refreshes on a timer: its list only feeds gossip
 *   and lookups, and all-to-all refreshes were most of an idle network's CPU. Up to
 *   `fullRefreshMax` members a heartbeat asks all of them; above it, the members in use (`use(id)`),
 *   those that just missed one and the `refreshSample` asked longest ago, so the cost per beat stays
 *   flat as the network grows and every member is still asked every `refreshPeriodMs()`.
 *   `lastSeen` is the last answer.
 * - Fallback locator: storage peers provide a well-known CID (provider records) and are findable
 *   by id (peer routing), so a gateway can find a peer that moved or that its table lacks.
 */
import './polyfills.js';
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { createLibp2p, type Libp2p } from 'libp2p';
import { tcp } from '@libp2p/tcp';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify } from '@libp2p/identify';
import { ping } from '@libp2p/ping';
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { CID } from 'multiformats/cid';
import { create as createDigest } from 'multiformats/hashes/digest';
import type { PeerId, Stream } from '@libp2p/interface';
import type { Logger } from '../core/logger.js';
import { StoreError } from '../core/errors.js';
import type { PeerIdentity } from './identity.js';
import { pskBytes } from './identity.js';
import { privateNetwork } from './private-network.js';
import { peerKey, xorCompare } from './network-placement.js';

export const DHT_PROTOCOL = '/peerstor/kad/1.0.0';
export const INFO_PROTOCOL = '/peerstor/info/1.0.0';
const GOSSIP_MAX = 20;
/** members in use within this many heartbeats are refreshed on every beat */
const HOT_BEATS = 6;
/**
 * timer heartbeats look in the peer store for peers never answered every this many beats (peers
 * the DHT named; gossip and new connections are asked at once anyway)
 */
const PEER_STORE_SCAN_BEATS = 6;

/** What a node tells others about itself. */
export interface Announcement {
  id: string;
  role: 'peer' | 'gateway';
  /** data-plane HOST:PORT; absent for gateways that store nothing */
  dataAddress?: string;
  /** machine name, to spread fragments across hosts */
  host: string;
  capacity: number;
  free: number;
  /** protocol version of this announcement */
  v: 1;
  /** up to GOSSIP_MAX other members the sender saw recently (id + multiaddrs), for fast joins */
  known?: { id: string; addrs: string[] }[];
}

export interface Member extends Omit<Announcement, 'known'> {
  /** ms since epoch of the last answer to an info request */
  lastSeen: number;
  /** consecutive failed heartbeats */
  failures: number;
  multiaddrs: string[];
}

export interface ControlPlaneInit {
  identity: PeerIdentity;
  networkKey: Uint8Array;
  /** address to listen on, default 127.0.0.1 */
  host?: string;
  /** TCP port for libp2p, 0 = ephemeral */
  dhtPort: number;
  /** HOST:PORT or full multiaddrs (with or without /p2p/<id>) */
  bootstrap: string[];
  /** called for every info request, so capacity/free are fresh */
  announce: () => Promise<Omit<Announcement, 'id' | 'v'>>;
  logger: Logger;
  /** time between membership refreshes while tracked (see track()); default 5000 */
  heartbeatMs?: number;
  /**
   * true: no periodic refreshes until someone calls track() (storage peers); false (default):
   * refresh every heartbeatMs from the start (gateways, benches, tests)
   */
  passive?: boolean;
  /** up to this many members, every heartbeat asks all of them; default 64 */
  fullRefreshMax?: number;
  /** above fullRefreshMax, how many members not in use a heartbeat asks (oldest asked first); default 32 */
  refreshSample?: number;
  /** how long to keep retrying bootstrap addresses while none answers; default 30000 */
  bootstrapWaitMs?: number;
}

export interface ControlPlaneEvents {
  /** a member answered (new or again) */
  onSeen?: (m: Member) => void;
  /** a member failed a heartbeat */
  onMissed?: (m: Member, err: unknown) => void;
}

export interface ClosestResult {
  peers: string[];
  /** number of peers queried (a hop count proxy: each response is one RPC on some path) */
  queried: number;
}

/** `/peerstor/storage-peer/1` as a raw CID: every storage peer provides it. */
export const STORAGE_PEER_CID = CID.createV1(0x55, createDigest(0x12, createHash('sha256').update('/peerstor/storage-peer/1').digest()));

/** Turns `HOST:PORT`, `[v6]:PORT` or a multiaddr string into a multiaddr. */
export function toMultiaddr(addr: string): Multiaddr {
  if (addr.startsWith('/')) return multiaddr(addr);
  const m = /^\[(.+)\]:(\d+)$/.exec(addr) ?? /^([^:]+):(\d+)$/.exec(addr);
  if (!m) throw new StoreError('InvalidArgument', `bootstrap address must be HOST:PORT or a multiaddr, got "${addr}"`);
  const [, host, port] = m;
  const proto = host.includes(':') ? 'ip6' : /^\d+\.\d+\.\d+\.\d+$/.test(host) ? 'ip4' : 'dns';
  return multiaddr(`/${proto}/${host}/tcp/${port}`);
}

async function readAll(stream: Stream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from('subarray' in c && typeof c.subarray === 'function' ? c.subarray() : (c as Uint8Array)));
  return Buffer.concat(chunks);
}

type Services = { dht: KadDHT; identify: unknown; ping: unknown };

export class ControlPlane {
  readonly node: Libp2p<Services>;
  readonly peerId: string;
  readonly #init: ControlPlaneInit;
  readonly #log: Logger;
  readonly #members = new Map<string, Member>();
  readonly #events: ControlPlaneEvents;
  readonly #inflight = new Map<string, Promise<Member | undefined>>();
  /** when each peer was last asked (answered or not): the sample's rotation order */
  readonly #askedAt = new Map<string, number>();
  /** when placement last used each peer (use()) */
  readonly #usedAt = new Map<string, number>();
  /** members the last heartbeat could not reach in one beat (sampling): for refreshPeriodMs() */
  #cold = 0;
  #trackers: number;
  #beats = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  private constructor(node: Libp2p<Services>, init: ControlPlaneInit, events: ControlPlaneEvents) {
    this.node = node;
    this.peerId = node.peerId.toString();
    this.#init = init;
    this.#events = events;
    this.#log = init.logger.child({ component: 'control-plane' });
    this.#trackers = init.passive ? 0 : 1;
  }

  static async start(init: ControlPlaneInit, events: ControlPlaneEvents = {}): Promise<ControlPlane> {
    const host = init.host ?? '127.0.0.1';
    const listen = host.includes(':') ? `/ip6/${host}/tcp/${init.dhtPort}` : `/ip4/${host}/tcp/${init.dhtPort}`;
    const node = await createLibp2p({
      privateKey: init.identity.privateKey,
      addresses: { listen: [listen] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      // yamux pings every connection both ways every 30 s by default, only to measure RTT (a failed
      // ping closes nothing): in a full mesh that was a steady trickle of frames on idle peers.
      // Every 2 minutes still keeps NAT and firewall state of idle connections alive.
      streamMuxers: [yamux({ keepAliveInterval: 120_000 })],
      connectionProtector: privateNetwork({ psk: pskBytes(init.networkKey) }),
      // the data plane and our heartbeat judge liveness; the monitor's pings only add load
      connectionMonitor: { enabled: false },
      connectionManager: {
        maxConnections: 500,
        // every test peer dials from 127.0.0.1: the default per-host rate limit would refuse them
        inboundConnectionThreshold: 10_000,
        maxIncomingPendingConnections: 200,
      },
      services: {
        identify: identify(),
        ping: ping(),
        dht: kadDHT({
          protocol: DHT_PROTOCOL,
          clientMode: false,
          // keep loopback and private addresses: PeerStor networks are often on one LAN or host
          peerInfoMapper: passthroughMapper,
          allowQueryWithZeroPeers: true,
          initialQuerySelfInterval: 200,
        }),
      },
    });
    const cp = new ControlPlane(node as unknown as Libp2p<Services>, init, events);
    await cp.#wire();
    return cp;
  }

  async #wire(): Promise<void> {
    await this.node.handle(
      INFO_PROTOCOL,
      async (stream) => {
        try {
          const a: Announcement = { ...(await this.#init.announce()), id: this.peerId, v: 1, known: this.#gossipFor() };
          stream.send(new TextEncoder().encode(JSON.stringify(a)));
          await stream.close();
        } catch (err) {
          stream.abort(err as Error);
        }
      },
      { runOnLimitedConnection: false },
    );
    // every node of a private network speaks INFO_PROTOCOL: ask a new connection at once rather
    // than after identify (a round trip or two later, about a second on a loaded machine)
    this.node.addEventListener('peer:connect', (evt) => {
      void this.refresh(evt.detail.toString());
    });
    // identify brings the listen addresses (a restarted peer's new port): a member's are updated
    // in place, no request needed; an unknown peer that speaks the protocol is asked
    this.node.addEventListener('peer:identify', (evt) => {
      const id = evt.detail.peerId.toString();
      const m = this.#members.get(id);
      const addrs = evt.detail.listenAddrs.map((a) => a.toString());
      if (m && addrs.length > 0) m.multiaddrs = addrs;
      else if (!m && evt.detail.protocols.includes(INFO_PROTOCOL) && !this.#inflight.has(id)) void this.refresh(id);
    });
    this.node.addEventListener('peer:discovery', (evt) => {
      void this.refresh(evt.detail.id.toString());
    });
    this.#schedule();
    await this.bootstrap(this.#init.bootstrap, this.#init.bootstrapWaitMs);
    if ((await this.#init.announce()).role === 'peer') void this.provide();
  }

  #heartbeatMs(): number {
    return this.#init.heartbeatMs ?? 5000;
  }

  /** members not in use a sampling heartbeat asks (refreshSample, default 32, at least 1) */
  #refreshSample(): number {
    return Math.max(1, this.#init.refreshSample ?? 32);
  }

  /** Starts the heartbeat timer if someone tracks membership and it is not running. */
  #schedule(): void {
    if (this.#stopped || this.#timer || this.#trackers === 0) return;
    const beat = (): void => {
      if (this.#stopped || this.#trackers === 0) {
        this.#timer = undefined;
        return;
      }
      // the peer store (decoding every record) is scanned every PEER_STORE_SCAN_BEATS beats only
      const scan = this.#beats++ % PEER_STORE_SCAN_BEATS === 0;
      void this.heartbeat({ scanPeerStore: scan }).finally(() => {
        this.#timer = undefined;
        this.#schedule();
      });
    };
    this.#timer = setTimeout(beat, this.#heartbeatMs()).unref();
  }

  /**
   * Keeps membership fresh (heartbeats every heartbeatMs) until the returned function is called.
   * Placement calls it: health and free space come from these refreshes. Counted: the heartbeat
   * stops when the last tracker releases (and never on a node started with passive: false).
   */
  track(): () => void {
    this.#trackers++;
    this.#schedule();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#trackers--;
      if (this.#trackers === 0 && this.#timer) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  /** Placement is using this peer (a data-path call): heartbeats keep its announcement (free space) fresh. */
  use(id: string): void {
    this.#usedAt.set(id, Date.now());
  }

  /**
   * Longest time between two refreshes of one member under the current schedule: heartbeatMs while
   * every beat asks everyone, longer while sampling; Infinity when nobody tracks membership.
   */
  refreshPeriodMs(): number {
    if (this.#trackers === 0) return Infinity;
    const sample = this.#refreshSample();
    return this.#heartbeatMs() * Math.max(1, Math.ceil(this.#cold / sample));
  }

  /** (Re-)publishes this node's provider record for STORAGE_PEER_CID. Never throws. */
  async provide(): Promise<void> {
    try {
      for await (const _e of this.node.services.dht.provide(STORAGE_PEER_CID, { signal: AbortSignal.timeout(30_000) })) {
        if (this.#stopped) break;
      }
    } catch (err) {
      this.#log.debug({ err }, 'provide failed (no peers yet?)');
    }
  }

  /** Listening multiaddrs including /p2p/<id>, for others' --bootstrap. */
  multiaddrs(): string[] {
    return this.node.getMultiaddrs().map((m) => m.toString());
  }

  /**
   * Dials each bootstrap address (retrying for up to `waitMs` while none answers, since peers of a
   * new network start together). A HOST:PORT address has no peer id: the connection tells us.
   */
  async bootstrap(addrs: string[], waitMs = 30_000): Promise<string[]> {
    if (addrs.length === 0) return [];
    const deadline = Date.now() + waitMs;
    const joined: string[] = [];
    for (let attempt = 0; !this.#stopped; attempt++) {
      const results = await Promise.allSettled(addrs.map((a) => this.node.dial(toMultiaddr(a), { signal: AbortSignal.timeout(5000) })));
      for (const r of results) if (r.status === 'fulfilled') joined.push(r.value.remotePeer.toString());
      if (joined.length > 0 || Date.now() > deadline) break;
      await new Promise((res) => setTimeout(res, Math.min(2000, 100 * 2 ** attempt)));
    }
    if (joined.length === 0) {
      this.#log.warn({ bootstrap: addrs }, 'no bootstrap peer answered; running alone until someone dials in');
      return joined;
    }
    await Promise.all(joined.map((id) => this.refresh(id)));
    // not awaited: the node is usable once a bootstrap peer answered; lookups fill the table
    void this.selfLookup();
    // peers that joined alongside us are only in others' tables a moment later: look again
    for (const ms of [1000, 5000]) setTimeout(() => void this.selfLookup(), ms).unref();
    return joined;
  }

  /** A lookup of our own id: fills the routing table with our neighbourhood (Kademlia join). */
  async selfLookup(): Promise<void> {
    if (this.#stopped) return;
    await this.closest(this.node.peerId.toMultihash().bytes).catch((err: unknown) => this.#log.debug({ err }, 'self lookup failed'));
  }

  /** Asks one peer for its announcement; updates membership. Concurrent calls share one request. */
  refresh(id: string): Promise<Member | undefined> {
    if (id === this.peerId || this.#stopped) return Promise.resolve(undefined);
    const running = this.#inflight.get(id);
    if (running) return running;
    const p = this.#ask(id).finally(() => this.#inflight.delete(id));
    this.#inflight.set(id, p);
    return p;
  }

  async #ask(id: string): Promise<Member | undefined> {
    this.#askedAt.set(id, Date.now());
    let pid: PeerId;
    try {
      pid = peerIdFromString(id);
    } catch {
      return undefined;
    }
    try {
      // generous: a loaded machine (16 peers on 2 cores) answers slowly, and a miss costs a heartbeat
      const signal = AbortSignal.timeout(10_000);
      const stream = await this.node.dialProtocol(pid, INFO_PROTOCOL, { signal });
      const onAbort = (): void => stream.abort(new StoreError('Timeout', `info request to ${id} timed out`));
      signal.addEventListener('abort', onAbort, { once: true });
      let a: Announcement;
      try {
        // multistream-select negotiates lazily, on the dialer's first write: send a one-byte request
        // read from the start: a reply that arrives before anyone listens could be missed
        const reply = readAll(stream);
        stream.send(Uint8Array.of(1));
        await stream.close({ signal });
        a = JSON.parse((await reply).toString('utf8')) as Announcement;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      if (a.id !== id) throw new StoreError('Internal', `peer ${id} announced as ${a.id}`);
      const { known, ...announced } = a;
      if (Array.isArray(known)) void this.#learn(known);
      // listen addresses from identify (kept up to date by the peer:identify listener once known:
      // a peer-store read per heartbeat answer was a visible share of an idle gateway's CPU); an
      // inbound connection's remote address is an ephemeral port
      let multiaddrs = this.#members.get(id)?.multiaddrs ?? [];
      if (multiaddrs.length === 0) {
        const stored = await this.node.peerStore.get(pid).catch(() => undefined);
        multiaddrs = (stored?.addresses ?? []).map((x) => x.multiaddr.toString());
      }
      if (multiaddrs.length === 0) multiaddrs = this.node.getConnections(pid).filter((c) => c.direction === 'outbound').map((c) => c.remoteAddr.toString());
      const m: Member = { ...announced, lastSeen: Date.now(), failures: 0, multiaddrs };
      this.#members.set(id, m);
      this.#events.onSeen?.(m);
      return m;
    } catch (err) {
      this.#log.debug({ err, peer: id }, 'info request failed');
      const m = this.#members.get(id);
      if (m) {
        m.failures++;
        this.#events.onMissed?.(m, err);
      }
      return undefined;
    }
  }

  /**
   * A member this node has reason to think alive: its last request answered, and either recently
   * (3 heartbeats) or over a connection that is still open. A passive node never re-asks, so an
   * open connection is its evidence; a peer that exits closes it.
   */
  #liveTest(): (m: Member) => boolean {
    const recent = Date.now() - 3 * this.#heartbeatMs();
    let connected: Set<string> | undefined;
    return (m) => {
      if (m.failures > 0) return false;
      if (m.lastSeen > recent) return true;
      connected ??= new Set(this.node.getConnections().filter((c) => c.status === 'open').map((c) => c.remotePeer.toString()));
      return connected.has(m.id);
    };
  }

  /**
   * At most GOSSIP_MAX members seen recently or still connected: gateways first, then the newest
   * (the map keeps first-answer order). A joining peer that learns of a gateway asks it, and the
   * gateway, identifying the new connection, asks back: that, not the gateway's next heartbeat,
   * is what makes a new peer usable within a second; newest-first spreads joins, which is what
   * others lack (in a network of more than GOSSIP_MAX, oldest-first never mentioned a newcomer).
   */
  #gossipFor(): { id: string; addrs: string[] }[] {
    const live = this.#liveTest();
    const all = [...this.#members.values()].reverse();
    const out: { id: string; addrs: string[] }[] = [];
    for (const gateways of [true, false]) {
      for (const m of all) {
        if (out.length >= GOSSIP_MAX) return out;
        if ((m.role === 'gateway') !== gateways || m.multiaddrs.length === 0 || !live(m)) continue;
        out.push({ id: m.id, addrs: m.multiaddrs });
      }
    }
    return out;
  }

  async #learn(known: { id: string; addrs: string[] }[]): Promise<void> {
    for (const k of known.slice(0, GOSSIP_MAX)) {
      if (typeof k?.id !== 'string' || k.id === this.peerId || this.#members.has(k.id) || this.#inflight.has(k.id)) continue;
      try {
        const pid = peerIdFromString(k.id);
        const addrs = (Array.isArray(k.addrs) ? k.addrs : []).slice(0, 8).map((a) => multiaddr(a.replace(/\/p2p\/[^/]+$/, '')));
        await this.node.peerStore.merge(pid, { multiaddrs: addrs });
        void this.refresh(k.id);
      } catch (err) {
        this.#log.debug({ err, id: k.id }, 'ignoring bad gossip entry');
      }
    }
  }

  /**
   * One heartbeat round: re-asks members (and connected peers, and peers the DHT or gossip told us
   * about whose announcement we never got) for their announcement. Up to fullRefreshMax of them:
   * all. Above: the ones in use, the ones that missed the last ask, and the refreshSample asked
   * longest ago (never asked first). `scanPeerStore: false` skips the peer store (timer beats
   * between scans).
   */
  async heartbeat(options: { scanPeerStore?: boolean } = {}): Promise<void> {
    const ids = new Set([...this.#members.keys(), ...this.node.getPeers().map((p) => p.toString())]);
    if (options.scanPeerStore !== false) {
      for (const p of await this.node.peerStore.all().catch(() => [])) {
        if (ids.size >= 1000) break;
        if (p.addresses.length > 0) ids.add(p.id.toString());
      }
    }
    ids.delete(this.peerId);
    await Promise.all(this.#pick(ids).map((id) => this.refresh(id)));
  }

  #pick(ids: Set<string>): string[] {
    if (ids.size <= (this.#init.fullRefreshMax ?? 64)) {
      this.#cold = 0;
      return [...ids];
    }
    const hotSince = Date.now() - HOT_BEATS * this.#heartbeatMs();
    const now: string[] = [];
    const rest: string[] = [];
    for (const id of ids) {
      const m = this.#members.get(id);
      const used = this.#usedAt.get(id);
      // in use (free space changes as we write) or just missed one (dead or back within a beat
      // or two): every beat. Long dead ones take their turn in the rotation.
      if ((used !== undefined && used >= hotSince) || (m !== undefined && m.failures > 0 && m.failures < 3)) now.push(id);
      else rest.push(id);
    }
    rest.sort((a, b) => (this.#askedAt.get(a) ?? 0) - (this.#askedAt.get(b) ?? 0));
    this.#cold = rest.length;
    return [...now, ...rest.slice(0, this.#refreshSample())];
  }

  /** Every member ever answered (with its failures and lastSeen: judging health is the caller's). */
  members(): Member[] {
    return [...this.#members.values()];
  }

  /** Members this node has reason to think alive (answered recently, or still connected). */
  liveMembers(): Member[] {
    return this.members().filter(this.#liveTest());
  }

  member(id: string): Member | undefined {
    return this.#members.get(id);
  }

  /**
   * The K (20) peers closest to `key`: a DHT query (iterative, over the network), merged with the
   * live members this node already knows, sorted by XOR distance. Merging matters on loaded
   * machines, where individual DHT RPCs time out and a bare query comes back short.
   * `dhtOnly` returns the query's own answer (benchmarks).
   */
  async closest(key: Uint8Array, options: { signal?: AbortSignal; dhtOnly?: boolean } = {}): Promise<ClosestResult> {
    const r = await this.#query(key, options);
    if (options.dhtOnly) return r;
    const target = createHash('sha256').update(key).digest();
    const all = new Set([...r.peers, ...this.liveMembers().map((m) => m.id)]);
    const peers = [...all].sort((a, b) => xorCompare(target, peerKey(a), peerKey(b))).slice(0, 20);
    return { peers, queried: r.queried };
  }

  async #query(key: Uint8Array, options: { signal?: AbortSignal }): Promise<ClosestResult> {
    const peers: string[] = [];
    let queried = 0;
    for await (const e of this.node.services.dht.getClosestPeers(key, { signal: options.signal ?? AbortSignal.timeout(30_000) })) {
      if (e.name === 'FINAL_PEER') peers.push(e.peer.id.toString());
      else if (e.name === 'PEER_RESPONSE') queried++;
    }
    const unique = [...new Set(peers)];
    for (const id of unique) if (!this.#members.has(id)) void this.refresh(id);
    return { peers: unique, queried };
  }

  /**
   * Fallback locator: finds a peer by id through the DHT (it may have moved) and asks it for its
   * announcement. undefined when nobody knows it.
   */
  async locate(id: string, options: { signal?: AbortSignal } = {}): Promise<Member | undefined> {
    try {
      const info = await this.node.peerRouting.findPeer(peerIdFromString(id), { signal: options.signal ?? AbortSignal.timeout(10_000) });
      await this.node.peerStore.merge(info.id, { multiaddrs: info.multiaddrs });
    } catch (err) {
      this.#log.debug({ err, id }, 'findPeer failed');
    }
    return this.refresh(id);
  }

  /** Storage peers found through provider records (when the routing table is thin). */
  async findStoragePeers(options: { signal?: AbortSignal; limit?: number } = {}): Promise<Member[]> {
    const found = new Set<string>();
    const limit = options.limit ?? 64;
    try {
      for await (const e of this.node.services.dht.findProviders(STORAGE_PEER_CID, { signal: options.signal ?? AbortSignal.timeout(10_000) })) {
        if (e.name !== 'PROVIDER') continue;
        for (const p of e.providers) {
          if (p.multiaddrs.length) await this.node.peerStore.merge(p.id, { multiaddrs: p.multiaddrs });
          found.add(p.id.toString());
        }
        if (found.size >= limit) break;
      }
    } catch (err) {
      this.#log.debug({ err }, 'findProviders ended early');
    }
    const members = await Promise.all([...found].map((id) => this.refresh(id)));
    return members.filter((m): m is Member => m !== undefined);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.node.stop();
  }
}

export function defaultHostName(): string {
  return hostname();
}
