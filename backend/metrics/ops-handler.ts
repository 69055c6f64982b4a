/**
 * Operator endpoints, served raw (no S3 auth) under one prefix, default `/-/`:
 *   GET /-/health   200 while the process can answer at all (liveness: never calls anything)
 *   GET /-/ready    200 or 503 with `{ ok, reasons }` from the ready() callback (readiness)
 *   GET /-/status   the NetworkStatus JSON from status(), or 404 when none is plugged in
 *   GET /-/metrics  Prometheus text exposition (version 0.0.4)
 * HEAD works wherever GET does. The same handler serves a gateway (mounted on its listener) and a
 * storage peer (on its own small listener): the caller decides what ready()/status() look at.
 *
 * Nothing here reveals object names, keys or contents: status carries peer ids, addresses, sizes
 * and counts only. Operators who do not want even that public bind the listener to loopback or put
 * the `/-/` prefix behind their proxy's access rules (docs/operations.md).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../core/logger.js';
import type { Metrics } from './metrics.js';
import type { Readiness } from './network-status.js';

export interface OpsHandlerInit {
  /** default '/-/' */
  prefix?: string;
  /** ready()/status() taking longer than this answer 503; default 5000 ms */
  timeoutMs?: number;
}

export interface OpsHandlerComponents {
  metrics: Metrics;
  ready(): Promise<Readiness>;
  status?(): Promise<unknown>;
  logger?: Logger;
}

export interface OpsHandler {
  prefix: string;
  handler(req: IncomingMessage, res: ServerResponse): void;
}

class TimeoutError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** One answer of the ops endpoints, independent of the HTTP flavour that carries it. */
export interface OpsResponse {
  status: number;
  headers: Record<string, string | number>;
  /** empty for HEAD */
  body: string;
}

function answer(method: string, status: number, type: string, body: string, extra: Record<string, string> = {}): OpsResponse {
  return {
    status,
    headers: {
      'Content-Type': type,
      'Cache-Control': 'no-store',
      'Content-Length': Buffer.byteLength(body),
      'X-Content-Type-Options': 'nosniff',
      ...extra,
    },
    body: method === 'HEAD' ? '' : body,
  };
}

function json(method: string, status: number, value: unknown, extra: Record<string, string> = {}): OpsResponse {
  return answer(method, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`, extra);
}

export interface OpsResponder {
  prefix: string;
  /** The answer to `method path` (path without the query). Never rejects. */
  respond(method: string, path: string): Promise<OpsResponse>;
}

/**
 * The endpoints without a transport: the gateway's HTTP/1 listener (createOpsHandler) and a storage
 * peer's HTTP/2 data plane (backend/network/data-plane.ts) both serve these answers.
 */
export function createOpsResponder(init: OpsHandlerInit, components: OpsHandlerComponents): OpsResponder {
  const prefix = init.prefix ?? '/-/';
  const timeoutMs = init.timeoutMs ?? 5000;
  const { metrics, logger } = components;

  async function serve(method: string, path: string): Promise<OpsResponse> {
    const name = path.startsWith(prefix) ? path.slice(prefix.length) : '';
    if (method !== 'GET' && method !== 'HEAD') {
      return json(method, 405, { error: 'MethodNotAllowed', message: 'only GET and HEAD' }, { Allow: 'GET, HEAD' });
    }
    switch (name) {
      case 'health':
        return json(method, 200, { ok: true });
      case 'ready': {
        let r: Readiness;
        try {
          r = await withTimeout(components.ready(), timeoutMs);
        } catch (err) {
          logger?.warn({ err }, 'readiness check failed');
          r = { ok: false, reasons: [err instanceof TimeoutError ? 'the readiness check timed out' : 'the readiness check failed'] };
        }
        return json(method, r.ok ? 200 : 503, r);
      }
      case 'status': {
        if (!components.status) return json(method, 404, { error: 'NotFound', message: 'no network status on this process' });
        try {
          return json(method, 200, await withTimeout(components.status(), timeoutMs));
        } catch (err) {
          logger?.warn({ err }, 'status failed');
          return json(method, 503, { error: 'Unavailable', message: err instanceof TimeoutError ? 'status timed out' : 'status failed' });
        }
      }
      case 'metrics':
        return answer(method, 200, metrics.contentType, await metrics.text());
      default:
        return json(method, 404, { error: 'NotFound', message: `unknown endpoint; try ${prefix}health, ${prefix}ready, ${prefix}status, ${prefix}metrics` });
    }
  }

  return {
    prefix,
    respond(method, path) {
      return serve(method, path).catch((err: unknown) => {
        logger?.error({ err }, 'ops endpoint failed');
        return json(method, 500, { error: 'Internal' });
      });
    },
  };
}

export function createOpsHandler(init: OpsHandlerInit, components: OpsHandlerComponents): OpsHandler {
  const responder = createOpsResponder(init, components);
  return {
    prefix: responder.prefix,
    handler(req, res) {
      const method = req.method ?? 'GET';
      void responder.respond(method, (req.url ?? '/').split('?', 1)[0]).then((r) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        res.statusCode = r.status;
        for (const [k, v] of Object.entries(r.headers)) res.setHeader(k, v);
        res.end(method === 'HEAD' ? undefined : r.body);
      });
    },
  };
}
