/**
 * The one place the fragment decorators are stacked. From the caller inwards:
 *
 *   metrics → retry → limit → timeout → verify → inner
 *
 * - metrics outermost: one event per caller operation, measuring what the caller lived through
 *   (queueing and retries included) and the final outcome.
 * - retry outside limit: a backing-off operation gives its slot back instead of sleeping on it.
 * - limit outside timeout: time spent queueing never counts against an attempt's timeout.
 * - timeout per attempt, so retry can re-run an attempt that timed out.
 * - verify innermost: a bad hash is a final Corrupt (never retried), detected on every attempt.
 * Layers left out of `init` are skipped.
 */
import type { FragmentStore } from '../core/fragment-store.js';
import { withLimit } from './with-limit.js';
import { withMetrics, type MetricsInit } from './with-metrics.js';
import { withRetry, type RetryInit } from './with-retry.js';
import { withTimeout } from './with-timeout.js';
import { withVerify, type VerifyInit } from './with-verify.js';

export interface ComposeInit {
  /** re-hash on get (remote stores); true or the verify options */
  verify?: boolean | VerifyInit;
  /** per-attempt timeout in ms */
  timeoutMs?: number;
  /** max operations in flight on the inner store */
  concurrency?: number;
  /** retry transient failures; true for the defaults */
  retry?: boolean | RetryInit;
  onOp?: MetricsInit['onOp'];
}

export function composeFragmentStore(inner: FragmentStore, init: ComposeInit = {}): FragmentStore {
  let store = inner;
  if (init.verify) store = withVerify(store, init.verify === true ? {} : init.verify);
  if (init.timeoutMs !== undefined) store = withTimeout(store, { ms: init.timeoutMs });
  if (init.concurrency !== undefined) store = withLimit(store, { concurrency: init.concurrency });
  if (init.retry) store = withRetry(store, init.retry === true ? {} : init.retry);
  if (init.onOp) store = withMetrics(store, { onOp: init.onOp });
  return store;
}
