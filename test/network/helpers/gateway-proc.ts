/**
 * A real `peerstor` gateway process (the embedded default without -v: it stores no fragments and
 * keeps its index in --state) on the peer network, for tests and benches that need the gateway's
 * own process: its CPU from /proc, SIGKILL, --cpu-prof. Runs `test/cli/run-main.ts` under tsx
 * from sources, the same build's run-main.js when compiled (bin/peerstor.js would always load
 * dist/). Listens on 127.0.0.1, ephemeral ports.
 *
 * The pino log lines (JSON on stderr) are parsed: `waitForLog` resolves on a matching line, and
 * `onLog` sees every line (the caller keeps what it needs; nothing is buffered here but a short
 * tail for error messages).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const fromSources = import.meta.url.endsWith('.ts');
// test/network/helpers → repo root (sources) or dist/ (compiled)
const root = fileURLToPath(new URL('../../../', import.meta.url));
const repo = fromSources ? root : join(root, '..');
// compiled: the run-main.js of the same build, not bin/peerstor.js (which always loads dist/), so a
// build into another folder (tsc --outDir dist-NAME) runs its own gateway code
const entry = fromSources ? ['--import', 'tsx', join(root, 'test/cli/run-main.ts')] : [join(root, 'test/cli/run-main.js')];

export interface GatewayProcInit {
  networkKeyFile: string;
  /** HOST:PORT or multiaddrs of peers' DHT ports */
  bootstrap: string[];
  user: { accessKey: string; secretKey: string };
  /** --state; a fresh temp dir (removed by stop()) when absent */
  stateDir?: string;
  /** node flags placed before the entry, e.g. ['--cpu-prof', '--cpu-prof-dir', DIR] */
  nodeArgs?: string[];
  /** more peerstor flags, e.g. ['--timeout', '10s'] */
  args?: string[];
  /** default 'info' (the 'serving' line is logged at info) */
  logLevel?: string;
}

export type LogLine = Record<string, unknown> & { msg?: string; level?: number; time?: number };

export class GatewayProc {
  readonly proc: ChildProcess;
  readonly stateDir: string;
  readonly exited: Promise<number | null>;
  /** base URL of the S3 API (set once started) */
  url = '';
  stderrTail = '';
  readonly #listeners: ((l: LogLine) => void)[] = [];
  readonly #ownsState: boolean;

  constructor(proc: ChildProcess, stateDir: string, ownsState: boolean) {
    this.proc = proc;
    this.stateDir = stateDir;
    this.#ownsState = ownsState;
    this.exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    createInterface({ input: proc.stderr! }).on('line', (line) => {
      let o: LogLine;
      try {
        o = JSON.parse(line) as LogLine;
      } catch {
        this.stderrTail = `${this.stderrTail}${line}\n`.slice(-4000);
        return;
      }
      for (const f of [...this.#listeners]) f(o);
    });
    proc.stdout!.resume();
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Calls f with every JSON log line from now on; returns the unsubscribe function. */
  onLog(f: (l: LogLine) => void): () => void {
    this.#listeners.push(f);
    return () => {
      const i = this.#listeners.indexOf(f);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 120_000): Promise<LogLine> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        off();
        this.proc.off('exit', onExit);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`gateway: no matching log line in ${timeoutMs} ms; stderr tail:\n${this.stderrTail}`));
      }, timeoutMs);
      const onExit = (): void => {
        done();
        reject(new Error(`gateway exited (${this.proc.exitCode ?? this.proc.signalCode}); stderr tail:\n${this.stderrTail}`));
      };
      this.proc.once('exit', onExit);
      const off = this.onLog((l) => {
        if (!pred(l)) return;
        done();
        resolve(l);
      });
    });
  }

  /** GET /-/status (peers and chunk health). */
  async status(): Promise<{ peers: { id: string; healthy: boolean }[]; chunks: { total: number; healthy: number; degraded: number; lost: number } }> {
    const r = await fetch(`${this.url}/-/status`);
    if (!r.ok) throw new Error(`/-/status: HTTP ${r.status}`);
    return (await r.json()) as Awaited<ReturnType<GatewayProc['status']>>;
  }

  /** Polls /-/status until `count` peers are healthy. */
  async waitHealthyPeers(count: number, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const st = await this.status().catch(() => undefined);
      if (st && st.peers.filter((p) => p.healthy).length >= count) return;
      if (Date.now() > deadline) throw new Error(`gateway did not see ${count} healthy peers in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** SIGTERM (the CLI closes its services and exits; --cpu-prof profiles are written then), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.alive) {
      const t = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
      this.proc.kill('SIGTERM');
      await this.exited;
      clearTimeout(t);
    }
    if (this.#ownsState) await rm(this.stateDir, { recursive: true, force: true });
  }
}

export async function startGateway(init: GatewayProcInit): Promise<GatewayProc> {
  const stateDir = init.stateDir ?? (await mkdtemp(join(tmpdir(), 'peerstor-gw-')));
  const args = [
    ...(init.nodeArgs ?? []),
    ...entry,
    '--state', stateDir,
    '--listen', '127.0.0.1:0',
    '--network-key', init.networkKeyFile,
    ...init.bootstrap.flatMap((b) => ['--bootstrap', b]),
    '--user', `${init.user.accessKey}:${init.user.secretKey}`,
    '--log-level', init.logLevel ?? 'info',
    ...(init.args ?? []),
  ];
  const proc = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  const gw = new GatewayProc(proc, stateDir, !init.stateDir);
  try {
    const serving = await gw.waitForLog((l) => l.msg === 'serving', 180_000);
    gw.url = String(serving.s3);
  } catch (err) {
    await gw.stop(0);
    throw err;
  }
  return gw;
}
