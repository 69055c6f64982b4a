/**
 * The plumbing every decorator shares: a FragmentStore whose operations all pass through one
 * `around` function, so a decorator states its policy once instead of seven times.
 */
import type { FragmentEntry, FragmentId, FragmentOpOptions, FragmentStore } from '../core/fragment-store.js';

export type FragmentOp = 'put' | 'get' | 'has' | 'delete' | 'list' | 'stat';

export interface OpContext {
  op: FragmentOp;
  /** absent for list and stat */
  id?: FragmentId;
  /** bytes handed to put */
  size?: number;
  /** list only: which next() call of the iteration this is, from 0 */
  step?: number;
  options?: FragmentOpOptions;
}

/** Runs one operation. `run` may be called several times (retry); each call is a fresh attempt,
 *  and for list step 0 a fresh iteration of the inner store. */
export type Around = <T>(ctx: OpContext, run: (options?: FragmentOpOptions) => Promise<T>) => Promise<T>;

export function intercept(inner: FragmentStore, around: Around): FragmentStore {
  return {
    put: (id, data, options) => around({ op: 'put', id, size: data.byteLength, options }, (o) => inner.put(id, data, o)),
    get: (id, options) => around({ op: 'get', id, options }, (o) => inner.get(id, o)),
    has: (id, options) => around({ op: 'has', id, options }, (o) => inner.has(id, o)),
    delete: (id, options) => around({ op: 'delete', id, options }, (o) => inner.delete(id, o)),
    list: (options) => interceptList(inner, around, options),
    stat: (options) => around({ op: 'stat', options }, (o) => inner.stat(o)),
    close: () => inner.close(),
  };
}

/** Each next() of the iteration goes through `around`. After a failed next() the iteration is
 *  over (the inner iterator is closed), except that step 0 may be re-run from scratch. */
function interceptList(inner: FragmentStore, around: Around, options: FragmentOpOptions | undefined): AsyncIterable<FragmentEntry> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<FragmentEntry> {
      let it: AsyncIterator<FragmentEntry> | undefined;
      let step = 0;
      let finished = false;
      // Not awaited: an inner iterator still stuck in a timed-out next() would only run its
      // return() after that next() settles, which may be never.
      const release = (old: AsyncIterator<FragmentEntry> | undefined): void => {
        old?.return?.().catch(() => undefined);
      };
      const close = (): void => {
        release(it);
        it = undefined;
        finished = true;
      };
      return {
        next: async (): Promise<IteratorResult<FragmentEntry>> => {
          if (finished) return { done: true, value: undefined };
          const current = step++;
          try {
            const r = await around({ op: 'list', step: current, options }, async (o) => {
              if (current === 0) {
                release(it);
                it = inner.list(o)[Symbol.asyncIterator]();
              }
              return it!.next();
            });
            if (r.done) finished = true;
            return r;
          } catch (err) {
            close();
            throw err;
          }
        },
        return: async (): Promise<IteratorResult<FragmentEntry>> => {
          close();
          return { done: true, value: undefined };
        },
      };
    },
  };
}
