/**
 * Shared benchmark helpers: every figure is reported as MiB/s and CPU ms per MiB (user+system CPU
 * of this process, steadier than wall time on shared machines), next to a baseline measured in the
 * same run where one applies.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface Measurement {
  name: string;
  bytes: number;
  wallMs: number;
  cpuMs: number;
  mibPerSec: number;
  cpuMsPerMiB: number;
}

const MiB = 2 ** 20;

/** Runs fn (which processes `bytes` bytes) `repeat` times and keeps the best wall time. */
export async function measure(name: string, bytes: number, fn: () => unknown | Promise<unknown>, repeat = 3): Promise<Measurement> {
  let best: Measurement | undefined;
  for (let i = 0; i < repeat; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
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
