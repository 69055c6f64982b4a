/**
 * Progress of long work (repair, scrub, verification, benchmarks, imports). On a TTY: one line
 * redrawn in place with a bar, rate and ETA. Otherwise (pipes, journald, CI): a log line every
 * `intervalMs` (through the logger when one is given, else plain text on the stream) and one at the
 * end, so logs stay readable and finite.
 *
 * Contract: call `update(done)` or `add(delta)` as often as you like (drawing is throttled);
 * call `done()` exactly once (further calls are ignored); the object never closes the stream.
 * Nothing here keeps the process alive: the periodic timer is unref'd and cleared by done().
 */
import type { Logger } from './logger.js';
import { formatSize } from './sizes.js';

/** Where progress goes: a bar is drawn only when `isTTY` is true. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressInit {
  label: string;
  /** total amount of work, when known (no total → no bar, no ETA) */
  total?: number;
  unit: 'bytes' | 'items';
  /** default process.stderr; only write() is used (so a function sink can stand in for a stream) */
  stream?: ProgressStream;
  logger?: Logger;
  /** non-TTY: time between log lines; default 10 000 ms */
  intervalMs?: number;
  /** TTY: least time between redraws; default 100 ms */
  redrawMs?: number;
  /** clock, for tests; default Date.now */
  now?: () => number;
  /** when the work began (same clock as `now`), if before this progress was created; default now */
  startedAt?: number;
}

export interface Progress {
  /** sets the amount done so far */
  update(done: number): void;
  /** adds to the amount done */
  add(delta: number): void;
  /** changes the total (e.g. once a listing finished counting) */
  setTotal(total: number): void;
  /** final line; `failed` says the work stopped early */
  done(result?: { failed?: boolean; message?: string }): void;
  readonly value: number;
}

/** `1:02:03` / `2:03` for seconds; `--:--` when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Rate over the last few seconds (a sliding window), so a stall shows as a falling rate. */
class RateWindow {
  readonly #samples: { t: number; v: number }[] = [];
  constructor(private readonly windowMs: number) {}

  push(t: number, v: number): void {
    this.#samples.push({ t, v });
    while (this.#samples.length > 2 && t - this.#samples[1].t >= this.windowMs) this.#samples.shift();
  }

  /** units per second, or 0 before two samples span any time */
  rate(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (!first || last.t <= first.t) return 0;
    return ((last.v - first.v) * 1000) / (last.t - first.t);
  }
}

export function createProgress(init: ProgressInit): Progress {
  const stream = init.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const now = init.now ?? Date.now;
  const start = init.startedAt ?? now();
  const window = new RateWindow(5000);
  window.push(start, 0);
  let total = init.total;
  let value = 0;
  let lastDraw = -Infinity;
  let finished = false;

  const amount = (n: number): string => (init.unit === 'bytes' ? formatSize(n) : `${Math.round(n)}`);
  const rateText = (r: number): string => (init.unit === 'bytes' ? `${formatSize(Math.round(r))}/s` : `${r.toFixed(r < 10 ? 1 : 0)}/s`);

  function snapshot(final: boolean): { pct?: number; rate: number; eta?: number; elapsed: number } {
    const t = now();
    const elapsed = (t - start) / 1000;
    // The final line reports the whole run's average; live lines the recent rate.
    const rate = final ? (elapsed > 0 ? value / elapsed : 0) : window.rate();
    const pct = total !== undefined && total > 0 ? Math.min(100, (value / total) * 100) : undefined;
    const eta = total !== undefined && rate > 0 ? Math.max(0, (total - value) / rate) : undefined;
    return { pct, rate, eta, elapsed };
  }

  function plainLine(final: boolean): string {
    const s = snapshot(final);
    const of = total !== undefined ? ` / ${amount(total)}` : '';
    const pct = s.pct !== undefined ? ` (${s.pct.toFixed(1)} %)` : '';
    const tail = final ? ` in ${formatDuration(s.elapsed)}` : s.eta !== undefined ? `, ETA ${formatDuration(s.eta)}` : '';
    return `${init.label}: ${amount(value)}${of}${pct}, ${rateText(s.rate)}${tail}`;
  }

  function ttyLine(): string {
    const s = snapshot(false);
    const right = `${s.pct !== undefined ? `${s.pct.toFixed(0).padStart(3)} % ` : ''}${amount(value)}${total !== undefined ? `/${amount(total)}` : ''} ${rateText(s.rate)} ETA ${formatDuration(s.eta ?? NaN)}`;
    const width = Math.max(40, stream.columns ?? 80) - 1;
    const barWidth = s.pct !== undefined ? Math.max(0, width - init.label.length - right.length - 5) : 0;
    const filled = Math.round(((s.pct ?? 0) / 100) * barWidth);
    const bar = barWidth > 0 ? ` [${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}]` : '';
    return `${init.label}${bar} ${right}`.slice(0, width);
  }

  function log(final: boolean, failed = false, message?: string): void {
    const line = plainLine(final) + (failed ? ' (stopped early)' : '') + (message ? ` — ${message}` : '');
    if (init.logger) {
      const s = snapshot(final);
      const fields = { label: init.label, done: value, total, unit: init.unit, ratePerSec: Math.round(s.rate), etaSec: s.eta === undefined ? undefined : Math.round(s.eta) };
      if (failed) init.logger.warn(fields, line);
      else init.logger.info(fields, line);
    } else {
      stream.write(`${line}\n`);
    }
  }

  function draw(force: boolean): void {
    const t = now();
    if (!force && t - lastDraw < (init.redrawMs ?? 100)) return;
    lastDraw = t;
    // \r + clear-to-end-of-line: redraw in place without leaving remnants of a longer line.
    stream.write(`\r${ttyLine()}\x1b[K`);
  }

  const timer = tty ? undefined : setInterval(() => log(false), init.intervalMs ?? 10_000);
  timer?.unref();

  function changed(): void {
    if (finished) return;
    window.push(now(), value);
    if (tty) draw(false);
  }

  return {
    update(done) {
      value = done;
      changed();
    },
    add(delta) {
      value += delta;
      changed();
    },
    setTotal(t) {
      total = t;
      changed();
    },
    done(result = {}) {
      if (finished) return;
      finished = true;
      if (timer) clearInterval(timer);
      if (tty) {
        stream.write(`\r${plainLine(true)}${result.failed ? ' (stopped early)' : ''}${result.message ? ` — ${result.message}` : ''}\x1b[K\n`);
      } else {
        log(true, result.failed, result.message);
      }
    },
    get value() {
      return value;
    },
  };
}
