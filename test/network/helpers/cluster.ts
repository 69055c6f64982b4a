/**
 * Real storage-peer processes on loopback for tests and benches. Each peer is
 * `node --import tsx backend/network/peer-main.ts …` (from sources) or
 * `node dist/backend/network/peer-main.js …` (compiled), with its own temp volume, talking to
 * the others only through its ports. All peers share one network key file unless told otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const fromSources = import.meta.url.endsWith('.ts');
// test/network/helpers → repo root (sources) or dist/ (compiled)
const root = fileURLToPath(new URL('../../../', import.meta.url));
const repo = fromSources ? root : join(root, '..');
const entry = fromSources ? ['--import', 'tsx', join(root, 'backend/network/peer-main.ts')] : [join(root, 'backend/network/peer-main.js')];

export interface PeerProcInit {
  /** volume dir; a fresh temp dir when absent */
  dir?: string;
  networkKeyFile: string;
  bootstrap: string[];
  quota?: string;
  hostLabel?: string;
  heartbeatMs?: number;
  bootstrapWaitMs?: number;
  extraArgs?: string[];
  /** node flags placed before the entry, e.g. ['--cpu-prof', '--cpu-prof-dir', DIR] */
  nodeArgs?: string[];
}

export interface Ready {
  peerId: string;
  dataAddress: string;
  multiaddrs: string[];
  networkKeyPath: string;
}

export class PeerProc {
  readonly proc: ChildProcess;
  readonly dir: string;
  info!: Ready;
  readonly #waiters: ((o: Record<string, unknown>) => boolean)[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(proc: ChildProcess, dir: string) {
    this.proc = proc;
    this.dir = dir;
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.stderr!.on('data', (d: Buffer) => {
      // keep the tail only: a chatty peer must not grow test memory
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
    });
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let o: Record<string, unknown>;
      try {
        o = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      const i = this.#waiters.findIndex((w) => w(o));
      if (i >= 0) this.#waiters.splice(i, 1);
    });
  }

  get id(): string {
    return this.info.peerId;
  }

  /** Bootstrap address as HOST:PORT (no peer id), the form users type. */
  get hostPort(): string {
    const m = /\/ip4\/([^/]+)\/tcp\/(\d+)/.exec(this.info.multiaddrs[0]);
    return `${m![1]}:${m![2]}`;
  }

  waitFor(pred: (o: Record<string, unknown>) => boolean, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`peer in ${this.dir}: no answer in ${timeoutMs} ms; stderr tail:\n${this.stderr.slice(-2000)}`)), timeoutMs);
      const onExit = (): void => reject(new Error(`peer in ${this.dir} exited; stderr tail:\n${this.stderr.slice(-2000)}`));
      this.proc.once('exit', onExit);
      this.#waiters.push((o) => {
        if (!pred(o)) return false;
        clearTimeout(timer);
        this.proc.off('exit', onExit);
        resolve(o);
        return true;
      });
    });
  }

  /** Sends a --control-stdin request and waits for the answer with the same op. */
  async ask<T extends Record<string, unknown>>(req: { op: string; key?: string }, timeoutMs = 60_000): Promise<T> {
    const answer = this.waitFor((o) => o.op === req.op, timeoutMs);
    this.proc.stdin!.write(`${JSON.stringify(req)}\n`);
    return (await answer) as T;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.alive) this.proc.kill(signal);
    return this.exited;
  }

  /** SIGTERM, escalating to SIGKILL after 5 s. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.kill('SIGTERM');
    clearTimeout(t);
  }
}

export async function startPeer(init: PeerProcInit): Promise<PeerProc> {
  const dir = init.dir ?? (await mkdtemp(join(tmpdir(), 'peerstor-peer-')));
  const args = [
    ...(init.nodeArgs ?? []),
    ...entry,
    '-v', `${dir}::rw`,
    '--listen', '127.0.0.1:0',
    '--dht-port', '0',
    '--network-key', init.networkKeyFile,
    '--control-stdin',
    '--log-level', 'warn',
    '--heartbeat-ms', String(init.heartbeatMs ?? 1000),
    '--bootstrap-wait-ms', String(init.bootstrapWaitMs ?? 20_000),
    '--scrub-interval-ms', '0',
    ...(init.quota ? ['--quota', init.quota] : []),
    ...(init.hostLabel ? ['--host-label', init.hostLabel] : []),
    ...init.bootstrap.flatMap((b) => ['--bootstrap', b]),
    ...(init.extraArgs ?? []),
  ];
  const proc = spawn(process.execPath, args, { cwd: repo, stdio: ['pipe', 'pipe', 'pipe'] });
  const peer = new PeerProc(proc, dir);
  let ready: Record<string, unknown>;
  try {
    ready = await peer.waitFor((o) => o.ready === true, 180_000);
  } catch (err) {
    await peer.kill('SIGKILL');
    if (!init.dir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  peer.info = ready as unknown as Ready;
  return peer;
}

export interface ClusterInit {
  peers: number;
  heartbeatMs?: number;
  /** distinct host labels (default: one per peer, so placement treats them as separate machines) */
  hostLabels?: number;
  quota?: string;
  /** node flags for every peer process (PeerProcInit.nodeArgs) */
  nodeArgs?: string[];
}

export class Cluster {
  readonly peers: PeerProc[] = [];
  readonly dir: string;
  readonly networkKeyFile: string;
  readonly #init: ClusterInit;

  private constructor(dir: string, init: ClusterInit) {
    this.dir = dir;
    this.networkKeyFile = join(dir, 'network.key');
    this.#init = init;
  }

  /** Starts one peer (it creates the network key), then the rest in parallel bootstrapping from it. */
  static async start(init: ClusterInit): Promise<Cluster> {
    const c = new Cluster(await mkdtemp(join(tmpdir(), 'peerstor-cluster-')), init);
    try {
      await c.add(1);
      await c.add(init.peers - 1);
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  get bootstrap(): string[] {
    return this.peers.filter((p) => p.alive).slice(0, 2).map((p) => p.hostPort);
  }

  /** Adds `count` peers, 4 starting at a time (16 at once starve 2 cores), bootstrapping from live ones. */
  async add(count: number, overrides: Partial<PeerProcInit> = {}): Promise<PeerProc[]> {
    const out: PeerProc[] = [];
    while (out.length < count) out.push(...(await this.#addBatch(Math.min(4, count - out.length), overrides)));
    return out;
  }

  async #addBatch(count: number, overrides: Partial<PeerProcInit>): Promise<PeerProc[]> {
    const base = this.peers.length;
    const settled = await Promise.allSettled(
      Array.from({ length: count }, async (_, i) => {
        const n = base + i;
        const labels = this.#init.hostLabels;
        return startPeer({
          networkKeyFile: this.networkKeyFile,
          bootstrap: this.bootstrap,
          heartbeatMs: this.#init.heartbeatMs,
          hostLabel: `host-${labels ? n % labels : n}`,
          quota: this.#init.quota,
          nodeArgs: this.#init.nodeArgs,
          ...overrides,
        });
      }),
    );
    const started = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    // keep the ones that started so stop() ends them and removes their dirs, then fail
    this.peers.push(...started);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return started;
  }

  live(): PeerProc[] {
    return this.peers.filter((p) => p.alive);
  }

  /**
   * Polls until every live peer, asked to refresh now (`{"op":"refresh"}`: it asks every peer it
   * knows of once), knows every other live peer; throws after timeoutMs. Storage peers refresh
   * nothing on a timer, so their own lists lag by design: this proves each one can find and
   * reach all the others, not that it keeps them fresh (gateways do that for themselves).
   */
  async waitConverged(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const live = this.live();
      const want = new Set(live.map((p) => p.id));
      const views = await Promise.all(live.map((p) => p.ask<{ members: string[] }>({ op: 'refresh' })));
      const ok = views.every((v, i) => [...want].every((id) => id === live[i].id || v.members.includes(id)));
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`peers did not converge in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.stop()));
    await Promise.all(this.peers.map((p) => rm(p.dir, { recursive: true, force: true })));
    await rm(this.dir, { recursive: true, force: true });
  }
}
