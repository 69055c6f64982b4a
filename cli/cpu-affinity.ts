/**
 * --cpu-affinity: Node has no binding for sched_setaffinity(2), so the process pins itself with
 * taskset(1) from util-linux: `taskset -a -p -c LIST PID` sets the mask of every thread that
 * exists now, and threads started later (libuv pool, worker threads) inherit it from the thread
 * that creates them. When that is impossible (not Linux, no taskset, a CPU that does not exist)
 * the caller logs a warning and runs unpinned, as --help says.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export interface AffinityResult {
  applied: boolean;
  /** why not, when not applied */
  reason?: string;
  /** the kernel's view afterwards (Cpus_allowed_list of /proc/self/status), when readable */
  allowed?: string;
}

export async function currentCpuList(): Promise<string | undefined> {
  try {
    const status = await readFile('/proc/self/status', 'utf8');
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
  } catch {
    return undefined;
  }
}

export async function applyCpuAffinity(cpus: number[], pid = process.pid): Promise<AffinityResult> {
  if (process.platform !== 'linux') return { applied: false, reason: `not supported on ${process.platform}` };
  const list = cpus.join(',');
  const outcome = await new Promise<{ ok: boolean; why?: string }>((resolve) => {
    execFile('taskset', ['-a', '-p', '-c', list, String(pid)], { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve({ ok: true });
      const code = (err as NodeJS.ErrnoException).code;
      resolve({ ok: false, why: code === 'ENOENT' ? 'taskset(1) is not installed (util-linux)' : (stderr.trim().split('\n').pop() ?? err.message) });
    });
  });
  if (!outcome.ok) return { applied: false, reason: outcome.why };
  return { applied: true, allowed: await currentCpuList() };
}
