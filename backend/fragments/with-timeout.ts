/**
 * Each operation (each next() of a listing) gets `ms` milliseconds; then the caller gets a Timeout
 * StoreError and the inner op's signal is aborted with that same error. An inner store that ignores
 * signals keeps running in the background; its late result is dropped. A caller's own abort
 * rejects at once with the caller's reason.
 */
import { StoreError } from '../core/errors.js';
import type { FragmentStore } from '../core/fragment-store.js';
import { intercept } from './intercept.js';

export interface TimeoutInit {
  ms: number;
}

export function withTimeout(inner: FragmentStore, init: TimeoutInit): FragmentStore {
  if (!(init.ms > 0)) throw new RangeError(`timeout must be positive, not ${init.ms}`);
  return intercept(inner, async (ctx, run) => {
    const caller = ctx.options?.signal;
    caller?.throwIfAborted();
    const ctrl = new AbortController();
    const signal = caller ? AbortSignal.any([caller, ctrl.signal]) : ctrl.signal;
    let timer: NodeJS.Timeout | undefined;
    let onCallerAbort: (() => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const what = ctx.id ? `${ctx.op} ${ctx.id}` : ctx.op;
        const err = new StoreError('Timeout', `fragment ${what} took longer than ${init.ms} ms`);
        ctrl.abort(err);
        reject(err);
      }, init.ms);
      if (caller) {
        onCallerAbort = () => reject(caller.reason);
        caller.addEventListener('abort', onCallerAbort, { once: true });
      }
    });
    const op = run({ ...ctx.options, signal });
    // If the timeout wins, the op's own later failure must not become an unhandled rejection.
    op.catch(() => undefined);
    try {
      return await Promise.race([op, stop]);
    } finally {
      clearTimeout(timer);
      if (onCallerAbort) caller?.removeEventListener('abort', onCallerAbort);
    }
  });
}
