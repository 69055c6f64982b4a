/**
 * Group commit of directory fsyncs for the disk fragment store.
 *
 * A put renames its file into a directory and must not resolve before that directory is fsync'd.
 * One fsync covers every entry change made in the directory before it started, so puts into the
 * same directory that arrive while an fsync of it is running share the next one instead of each
 * running their own: at most one fsync per directory runs, at most one more is queued, and every
 * caller waits for an fsync that started after it called `sync` (never for one already running,
 * which may have started before its rename).
 */
import { open } from 'node:fs/promises';

/** fsync of one directory (open, fsync, close) */
export type DirFsync = (dir: string) => Promise<void>;

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface DirState {
  /** an fsync of the directory is running */
  running: boolean;
  /** callers that asked after the running fsync started: served by the next one */
  waiting: Waiter[];
}

export class DirSync {
  readonly #fsync: DirFsync;
  readonly #dirs = new Map<string, DirState>();
  #fsyncs = 0;

  constructor(fsync: DirFsync = fsyncDir) {
    this.#fsync = fsync;
  }

  /** fsyncs run so far (the bench and tests compare it with the number of sync calls) */
  get fsyncs(): number {
    return this.#fsyncs;
  }

  /** Resolves once an fsync of `dir` that started after this call has succeeded; rejects with its
   *  error if it failed. */
  sync(dir: string): Promise<void> {
    let state = this.#dirs.get(dir);
    if (state === undefined) {
      state = { running: false, waiting: [] };
      this.#dirs.set(dir, state);
    }
    const s = state;
    const done = new Promise<void>((resolve, reject) => s.waiting.push({ resolve, reject }));
    if (!s.running) this.#run(dir, s);
    return done;
  }

  #run(dir: string, s: DirState): void {
    const batch = s.waiting;
    s.waiting = [];
    s.running = true;
    this.#fsyncs++;
    const finish = (err?: unknown): void => {
      for (const w of batch) {
        if (err === undefined) w.resolve();
        else w.reject(err);
      }
      s.running = false;
      if (s.waiting.length > 0) this.#run(dir, s);
      else this.#dirs.delete(dir);
    };
    // a synchronous throw from an injected fsync is a failed fsync like any other
    Promise.resolve()
      .then(() => this.#fsync(dir))
      .then(
        () => finish(),
        (err: unknown) => finish(err),
      );
  }
}
