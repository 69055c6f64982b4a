/**
 * One process per state directory: the embedded default and `peerstor gc` both open the index and
 * the volumes, and the fragment store empties tmp/ when it opens, which would break a running
 * writer. The lock is `<state>/peerstor.pid`, created exclusively; a file left by a process that
 * no longer exists (kill -9, power loss) is taken over.
 */
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export class StateLockedError extends Error {
  constructor(
    readonly stateDir: string,
    readonly pid: number,
  ) {
    super(`another peerstor process (pid ${pid}) is using ${stateDir}; stop it first`);
    this.name = 'StateLockedError';
  }
}

export interface StateLock {
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** locks this process holds: a pid file naming our own pid is ours only if listed here */
const held = new Set<string>();

export async function acquireStateLock(stateDir: string): Promise<StateLock> {
  const file = join(stateDir, 'peerstor.pid');
  if (held.has(file)) throw new StateLockedError(stateDir, process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      held.add(file);
      return {
        async release() {
          if (!held.delete(file)) return;
          await unlink(file).catch(() => undefined);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    // Our own pid in a file we do not hold is a previous incarnation's (a container restarted).
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) throw new StateLockedError(stateDir, pid);
    await unlink(file).catch(() => undefined);
  }
  throw new Error(`cannot take the lock ${file}: another process keeps taking it`);
}
