/**
 * The S3 front end as a fastify plugin. Each request is handled in four steps (STYLE.md "Parse,
 * then dispatch"): authenticate (SigV4) → parse into a typed endpoint → open the tenant's store →
 * call the operation's handler, whose reply is written in one place. Bodies are never parsed by
 * fastify: uploads stay streams from the socket to the store.
 *
 * Every response carries x-amz-request-id; every failure is an S3 XML error (none for HEAD and
 * 304, which have no body).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline, Readable } from 'node:stream';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Logger } from '../../backend/core/logger.js';
import type { TenantStores } from '../../backend/core/object-store.js';
import type { Metrics } from '../../backend/metrics/metrics.js';
import type { UserRegistry } from '../common/users.js';
import type { S3Context, S3Reply } from './context.js';
import { parseEndpoint } from './endpoint.js';
import { errorXml, s3Errors, toErrorResponse, type ErrorResponse } from './errors.js';
import { dispatch } from './handlers.js';
import { authenticate } from './sigv4.js';

export interface S3Init {
  /** pin the accepted SigV4 region (`--region`); any region is accepted when unset */
  region?: string;
  /** base domain for virtual-hosted style (`--domain example.com` → bucket.example.com) */
  domain?: string;
  /** clock for signature expiry and skew checks (tests) */
  now?: () => number;
}

export interface S3Components {
  users: UserRegistry;
  stores: TenantStores;
  logger: Logger;
  /** request counts, latencies and bytes per operation (docs/metrics.md); optional for tests */
  metrics?: Metrics;
}

/** The framework-free core: handles one S3 request on raw Node objects. */
export type S3RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function newRequestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

function splitUrl(url: string): { rawPath: string; query: [string, string][] } {
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const query: [string, string][] = [];
  if (q >= 0) {
    for (const part of url.slice(q + 1).split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const k = eq < 0 ? part : part.slice(0, eq);
      const v = eq < 0 ? '' : part.slice(eq + 1);
      try {
        query.push([decodeURIComponent(k), decodeURIComponent(v)]);
      } catch {
        throw s3Errors.invalidArgument('The query string is not valid URL encoding', k, v);
      }
    }
  }
  return { rawPath, query };
}

function resourceOf(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

/** seconds a 503 asks the client to wait before retrying */
const RETRY_AFTER_SECONDS = 1;

/** Writes an S3 error response (or just drops the connection if the response already started). */
export function sendError(req: IncomingMessage, res: ServerResponse, e: ErrorResponse, requestId: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.statusCode = e.status;
  res.setHeader('x-amz-request-id', requestId);
  // 503 = peers unreachable or slow (RFC 9110 §10.2.3): a hint to retry soon. The AWS SDKs wait
  // at least this long before their next attempt, so it stays short: their own backoff does the rest.
  if (e.status === 503) res.setHeader('Retry-After', RETRY_AFTER_SECONDS);
  const noBody = req.method === 'HEAD' || e.status === 304;
  if (noBody) {
    res.setHeader('x-amz-error-code', e.s3Code);
    res.end();
    return;
  }
  const body = errorXml(e, resourceOf(req), requestId);
  res.setHeader('Content-Type', 'application/xml');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/**
 * Header values as bytes on the wire: stored metadata may hold characters beyond Latin-1 (set
 * through another front end), which Node refuses; S3 sends such values as raw UTF-8, so do we.
 * Control characters (CR/LF above all) can never be sent: they become spaces.
 */
export function wireHeaderValue(v: string | number): string | number {
  if (typeof v === 'number') return v;
  // eslint-disable-next-line no-control-regex
  const clean = v.replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, ' ');
  // eslint-disable-next-line no-control-regex
  return /[^\u0000-\u00ff]/.test(clean) ? Buffer.from(clean, 'utf8').toString('latin1') : clean;
}

function sendReply(req: IncomingMessage, res: ServerResponse, reply: S3Reply, logger: Logger, requestId: string): void {
  res.statusCode = reply.status;
  for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, wireHeaderValue(v));
  const body = reply.body;
  if (body instanceof Readable) {
    if (req.method === 'HEAD') {
      body.destroy();
      res.end();
      return;
    }
    pipeline(body, res, (err) => {
      // Headers are out: the only honest signal left is a truncated response.
      if (err && (err as NodeJS.ErrnoException).code !== 'ERR_STREAM_PREMATURE_CLOSE') {
        logger.warn({ err, requestId }, 's3: response body failed mid-stream');
      }
    });
    return;
  }
  if (body === undefined) {
    if (!res.hasHeader('Content-Length') && reply.status !== 204 && reply.status !== 304) res.setHeader('Content-Length', 0);
    res.end();
    return;
  }
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (!res.hasHeader('Content-Type')) res.setHeader('Content-Type', 'application/xml');
  res.setHeader('Content-Length', buf.length);
  res.end(req.method === 'HEAD' ? undefined : buf);
}

export function createS3Handler(components: S3Components, init: S3Init = {}): S3RequestHandler {
  const { users, stores, logger } = components;
  const region = init.region ?? '';
  return async (req, res) => {
    const requestId = newRequestId();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('x-amz-id-2', requestId);
    res.setHeader('Server', 'PeerStor');
    let op = 'unknown';
    let code = 'OK';
    if (components.metrics) {
      const metrics = components.metrics;
      const t0 = process.hrtime.bigint();
      // 'close' fires for finished and for aborted responses alike, so every request is counted once.
      res.once('close', () => {
        const bytesIn = Number(req.headers['content-length']);
        const bytesOut = Number(res.getHeader('content-length'));
        metrics.observeRequest({
          protocol: 's3',
          operation: op,
          code: res.writableFinished ? code : code === 'OK' ? 'Aborted' : code,
          seconds: Number(process.hrtime.bigint() - t0) / 1e9,
          bytesIn: Number.isFinite(bytesIn) ? bytesIn : 0,
          bytesOut: res.writableFinished && req.method !== 'HEAD' && Number.isFinite(bytesOut) ? bytesOut : 0,
        });
      });
    }
    try {
      const { rawPath, query } = splitUrl(req.url ?? '/');
      const auth = authenticate({ method: req.method ?? 'GET', rawPath, query, rawHeaders: req.rawHeaders }, users, {
        region: init.region,
        now: init.now,
      });
      if (!auth) throw s3Errors.accessDenied();
      const queryMap = new Map(query);
      const endpoint = parseEndpoint({
        method: req.method ?? 'GET',
        host: req.headers.host,
        rawPath,
        query: queryMap,
        headers: req.headers,
        domain: init.domain,
      });
      op = endpoint.op;
      const store = await stores.open(auth.user);
      const ctx: S3Context = { endpoint, req, store, auth, requestId, query: queryMap, region, logger };
      const reply = await dispatch(ctx);
      sendReply(req, res, reply, logger, requestId);
    } catch (err) {
      const e = toErrorResponse(err);
      code = e.s3Code;
      // a 503 (peers unreachable, a timeout) is the network's state, not a bug: warn, no stack
      if (e.internal && e.status === 503) logger.warn({ code: e.s3Code, reason: (err as Error).message, requestId, op }, 's3: service unavailable');
      else if (e.internal) logger.error({ err, requestId, op }, 's3: internal error');
      else logger.debug({ requestId, op, code: e.s3Code }, 's3: request failed');
      sendError(req, res, e, requestId);
    }
  };
}

/**
 * Fastify plugin serving S3 on every path of its instance. Register it at the root; reserved
 * prefixes (/d/, /ui/, /-/) are dispatched before fastify by gateway/http-server.ts.
 */
export function s3Plugin(components: S3Components, init: S3Init = {}): FastifyPluginAsync {
  const handle = createS3Handler(components, init);
  return async (app: FastifyInstance) => {
    // Bodies stay raw request streams; the handlers read them (bounded) or stream them to the store.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, _payload, done) => done(null));
    const route = async (request: { raw: IncomingMessage }, reply: { hijack(): void; raw: ServerResponse }): Promise<void> => {
      reply.hijack();
      await handle(request.raw, reply.raw);
    };
    const methods = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH'];
    // The S3 handler logs what matters itself; fastify's per-request lines would double every request.
    app.route({ method: methods, url: '/', exposeHeadRoute: false, logLevel: 'warn', handler: route });
    app.route({ method: methods, url: '/*', exposeHeadRoute: false, logLevel: 'warn', handler: route });
    app.setNotFoundHandler(route);
  };
}
