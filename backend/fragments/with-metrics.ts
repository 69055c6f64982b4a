/**
 * One callback per operation with its name, bytes moved, wall time and outcome, for Prometheus
 * counters and peer health feedback. A listing reports once, when it ends (done, error or break),
 * with the number of entries it produced.
 */
import { performance } from 'node:perf_hooks';
import { isStoreError, type ErrorCode } from '../core/errors.js';
import type { FragmentEntry, FragmentStore } from '../core/fragment-store.js';
import { intercept, type FragmentOp } from './intercept.js';

export interface FragmentOpEvent {
  op: FragmentOp;
  id?: string;
  /** bytes sent (put) or received (get); 0 otherwise */
  bytes: number;
  ms: number;
  /** absent on success; 'Internal' for errors that are not StoreErrors */
  error?: ErrorCode;
  /** list only: entries produced */
  entries?: number;
}

export interface MetricsInit {
  onOp: (event: FragmentOpEvent) => void;
}

export function errorCodeOf(err: unknown): ErrorCode {
  return isStoreError(err) ? err.code : 'Internal';
}

export function withMetrics(inner: FragmentStore, init: MetricsInit): FragmentStore {
  const emit = (event: FragmentOpEvent): void => {
    try {
      init.onOp(event);
    } catch {
      // A broken metrics sink must never fail a storage operation.
    }
  };
  const base = intercept(inner, async (ctx, run) => {
    const t0 = performance.now();
    try {
      const result = await run(ctx.options);
      const bytes = ctx.op === 'put' ? (ctx.size ?? 0) : ctx.op === 'get' ? (result as Buffer).length : 0;
      emit({ op: ctx.op, id: ctx.id, bytes, ms: performance.now() - t0 });
      return result;
    } catch (err) {
      emit({ op: ctx.op, id: ctx.id, bytes: 0, ms: performance.now() - t0, error: errorCodeOf(err) });
      throw err;
    }
  });
  return {
    ...base,
    list: (options) => ({
      async *[Symbol.asyncIterator](): AsyncGenerator<FragmentEntry> {
        const t0 = performance.now();
        let entries = 0;
        let error: ErrorCode | undefined;
        try {
          for await (const e of inner.list(options)) {
            entries++;
            yield e;
          }
        } catch (err) {
          error = errorCodeOf(err);
          throw err;
        } finally {
          emit({ op: 'list', bytes: 0, ms: performance.now() - t0, entries, ...(error ? { error } : {}) });
        }
      },
    }),
  };
}
