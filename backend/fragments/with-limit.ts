/**
 * At most `concurrency` operations run on the inner store at once; the rest wait in FIFO order.
 * Each next() of a listing takes a slot only while it runs, so a slow consumer of a listing never
 * starves (or deadlocks) the data path. A waiter whose signal aborts leaves the queue.
 */
import type { FragmentStore } from '../core/fragment-store.js';
import { intercept } from './intercept.js';

export interface LimitInit {
  concurrency: number;
}

export class Semaphore {
  #free: number;
  readonly #waiters: Array<{ grant: () => void }> = [];

  constructor(slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`concurrency must be a positive integer, not ${slots}`);
    this.#free = slots;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  acquire(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        grant: (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  release(): void {
    // Hand the slot straight to the oldest waiter so late arrivals cannot jump the queue.
    const next = this.#waiters.shift();
    if (next) next.grant();
    else this.#free++;
  }
}

export function withLimit(inner: FragmentStore, init: LimitInit): FragmentStore {
  const sem = new Semaphore(init.concurrency);
  return intercept(inner, async (ctx, run) => {
    await sem.acquire(ctx.options?.signal);
    try {
      return await run(ctx.options);
    } finally {
      sem.release();
    }
  });
}
