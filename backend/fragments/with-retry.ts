/**
 * Retries transient failures (Unavailable, Timeout, connection-level network errors) with capped
 * exponential backoff and jitter. Every FragmentStore op is idempotent, so re-running one is safe.
 * Answers about the data itself (BadDigest, Corrupt, FragmentNotFound, QuotaExceeded, ReadOnly, …)
 * are final and never retried. A list is retried only before its first entry arrives.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { isStoreError } from '../core/errors.js';
import type { FragmentStore } from '../core/fragment-store.js';
import { intercept, type OpContext } from './intercept.js';

export interface RetryInit {
  /** total attempts including the first; default 4 */
  attempts?: number;
  /** backoff before the 2nd attempt, doubling after each; default 50 ms */
  baseMs?: number;
  /** cap on one backoff; default 2000 ms */
  maxMs?: number;
  /** decides what is transient; default `isTransient` */
  isRetryable?: (err: unknown) => boolean;
  /** called before each backoff (logging, health feedback) */
  onRetry?: (info: { op: string; id?: string; attempt: number; delayMs: number; error: unknown }) => void;
  /** injectable for tests; default a timer that the op's signal aborts */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** injectable for tests; default Math.random */
  random?: () => number;
}

/** Node and undici error codes that mean "the connection failed", not "the peer said no". */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'ENOTCONN',
  'EAI_AGAIN',
  'ERR_HTTP2_STREAM_ERROR',
  'ERR_HTTP2_SESSION_ERROR',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_STREAM_CANCEL',
  'ERR_HTTP2_INVALID_SESSION',
  'ERR_HTTP2_ERROR',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** Unavailable / Timeout StoreErrors, and raw network errors (code on the error or its causes).
 *  Any other StoreError is final; an abort by the caller is never transient. */
export function isTransient(err: unknown): boolean {
  if (isStoreError(err)) return err.code === 'Unavailable' || err.code === 'Timeout';
  let e: unknown = err;
  for (let depth = 0; depth < 5 && typeof e === 'object' && e !== null; depth++) {
    if ((e as { name?: unknown }).name === 'AbortError') return false;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Backoff before attempt `attempt + 1` (attempt counts from 1): half fixed, half random, so
 *  retries from many callers spread out yet never collapse to zero. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return ceiling / 2 + random() * (ceiling / 2);
}

export function withRetry(inner: FragmentStore, init: RetryInit = {}): FragmentStore {
  const attempts = Math.max(1, init.attempts ?? 4);
  const baseMs = init.baseMs ?? 50;
  const maxMs = init.maxMs ?? 2000;
  const retryable = init.isRetryable ?? isTransient;
  const sleep = init.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }));
  const random = init.random ?? Math.random;

  return intercept(inner, async (ctx: OpContext, run) => {
    // Later pages of a listing cannot be re-fetched without starting over.
    const tries = ctx.op === 'list' && ctx.step !== 0 ? 1 : attempts;
    for (let attempt = 1; ; attempt++) {
      try {
        return await run(ctx.options);
      } catch (err) {
        const signal = ctx.options?.signal;
        if (attempt >= tries || !retryable(err) || signal?.aborted) throw err;
        const ms = backoffMs(attempt, baseMs, maxMs, random);
        init.onRetry?.({ op: ctx.op, id: ctx.id, attempt, delayMs: ms, error: err });
        await sleep(ms, signal);
      }
    }
  });
}
