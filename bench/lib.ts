/**
 * Shared benchmark helpers: every figure is reported as MiB/s and CPU ms per MiB (user+system CPU
 * of this process, steadier than wall time on shared machines), next to a baseline measured in the
 * same run where one applies.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createProgress, type Progress } from '../backend/core/progress.js';

export interface Measurement {
  name: string;
  bytes: number;
  wallMs: number;
  cpuMs: number;
  mibPerSec: number;
  cpuMsPerMiB: number;
}

const MiB = 2 ** 20;

/** What a measured function may report while it runs (optional: measure counts whole runs anyway). */
export interface BenchTick {
  /** `bytes` more of this run are done */
  add(bytes: number): void;
}

/** A run longer than this shows progress on stderr (short benches print exactly what they did before). */
const PROGRESS_AFTER_MS = 2000;

/**
 * Runs fn (which processes `bytes` bytes) `repeat` times and keeps the best wall time. When the
 * runs take longer than PROGRESS_AFTER_MS, progress over bytes × repeat appears on stderr (a bar
 * with rate and ETA on a terminal, a line every 10 s otherwise; backend/core/progress.ts), fed
 * between runs and by fn's optional `tick.add`; stdout (report()) is unchanged.
 */
export async function measure(
  name: string,
  bytes: number,
  fn: (tick: BenchTick) => unknown | Promise<unknown>,
  repeat = 3,
): Promise<Measurement> {
  let best: Measurement | undefined;
  let done = 0;
  let progress: Progress | undefined;
  const startedAt = Date.now();
  const timer = setTimeout(() => {
    progress = createProgress({ label: name, unit: 'bytes', total: bytes * repeat, startedAt });
    progress.update(done);
  }, PROGRESS_AFTER_MS);
  timer.unref();
  const tick: BenchTick = {
    add(n) {
      done += n;
      progress?.update(done);
    },
  };
  try {
    for (let i = 0; i < repeat; i++) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await fn(tick);
      const wallMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const cpuMs = (cpu.user + cpu.system) / 1000;
      // whatever fn reported of this run, the run is now whole
      done = (i + 1) * bytes;
      progress?.update(done);
      const m: Measurement = {
        name,
        bytes,
        wallMs,
        cpuMs,
        mibPerSec: bytes / MiB / (wallMs / 1000),
        cpuMsPerMiB: cpuMs / (bytes / MiB),
      };
      if (!best || m.wallMs < best.wallMs) best = m;
    }
  } catch (err) {
    progress?.done({ failed: true });
    throw err;
  } finally {
    clearTimeout(timer);
  }
  progress?.done();
  return best!;
}

export function report(results: Measurement[], baseline?: Measurement): void {
  for (const m of results) {
    const ratio = baseline && m !== baseline ? `  ${(m.mibPerSec / baseline.mibPerSec).toFixed(2)}× baseline` : '';
    console.log(
      `${m.name.padEnd(44)} ${m.mibPerSec.toFixed(1).padStart(9)} MiB/s  ${m.cpuMsPerMiB.toFixed(2).padStart(7)} CPU ms/MiB${ratio}`,
    );
  }
}

export function randomBytesFast(size: number, seed = 1): Buffer {
  // xorshift32 fill: fast, deterministic, incompressible enough for chunking and coding benches.
  const buf = Buffer.allocUnsafe(size);
  const words = new Uint32Array(buf.buffer, buf.byteOffset, Math.floor(size / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < size; i++) buf[i] = i & 0xff;
  return buf;
}

/** CPU ns of the calling thread alone (Linux schedstat; NaN elsewhere): the gateway's main thread
 *  also runs the protocols, so what a pipeline leaves there matters more than the process total. */
export function mainThreadCpuNs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}
