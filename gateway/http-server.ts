/**
 * The one HTTP(S) listener of a `--listen` address. Reserved prefixes (WebDAV at /d/, the web page
 * at /ui/, health and metrics at /-/) are handed the raw request BEFORE fastify sees it, so their
 * handlers get the untouched stream; everything else is S3 (gateway/s3/), served at the root.
 * A browser opening `/` without S3 credentials is redirected to `/ui/` when that mount exists.
 *
 * May import gateway/s3 and gateway/common; front ends mounted here are passed in as handlers.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from '../backend/core/logger.js';
import { silentLogger } from '../backend/core/logger.js';
import type { TenantStores } from '../backend/core/object-store.js';
import type { UserRegistry } from './common/users.js';
import { errorXml, s3Errors, toErrorResponse } from './s3/errors.js';
import type { Metrics } from '../backend/metrics/metrics.js';
import { newRequestId, s3Plugin, sendError, type S3Init } from './s3/plugin.js';

export interface Mount {
  /** e.g. '/d/'; also matches the bare '/d'. The handler sees the request URL unchanged. */
  prefix: string;
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void;
}

export interface HttpServerInit {
  /** `host:port`, `[v6]:port` or `:port` (all interfaces); port 0 picks a free one. Default 127.0.0.1:0 */
  listen?: string;
  /** PEM certificate chain and key (file paths, or PEM text); both given → HTTPS */
  tlsCert?: string;
  tlsKey?: string;
  mounts?: Mount[];
  s3?: S3Init;
  /** largest request header section in bytes (Node's default is 16 KiB) */
  maxHeaderSize?: number;
}

export interface HttpServerComponents {
  users: UserRegistry;
  stores: TenantStores;
  logger?: Logger;
  /** S3 request metrics (docs/metrics.md); optional */
  metrics?: Metrics;
}

export interface HttpServer {
  app: FastifyInstance;
  server: http.Server | https.Server;
  /** base URL, e.g. http://127.0.0.1:39123 */
  url: string;
  close(): Promise<void>;
}

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen.trim());
  if (!m) throw new RangeError(`--listen "${listen}": expected HOST:PORT, [IPv6]:PORT or :PORT`);
  const port = Number(m[3]);
  if (port > 65535) throw new RangeError(`--listen "${listen}": port out of range`);
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]);
  return { host, port };
}

async function pem(value: string): Promise<string | Buffer> {
  return value.includes('-----BEGIN') ? value : readFile(value);
}

function mountFor(mounts: Mount[], url: string): Mount | undefined {
  const path = url.split('?', 1)[0];
  return mounts.find((m) => {
    const bare = m.prefix.endsWith('/') ? m.prefix.slice(0, -1) : m.prefix;
    return path.startsWith(m.prefix) || path === bare;
  });
}

function isAnonymousBrowserRoot(req: http.IncomingMessage): boolean {
  if (req.method !== 'GET' || req.headers.authorization !== undefined) return false;
  const url = req.url ?? '/';
  const [path, query = ''] = url.split('?', 2);
  return path === '/' && !/(^|&)X-Amz-(Signature|Credential)=/i.test(query);
}

/** The raw bytes of an S3 error for failures Node reports before a request exists. */
function rawErrorResponse(status: number, statusText: string, body: string): string {
  return `HTTP/1.1 ${status} ${statusText}\r\nContent-Type: application/xml\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

export async function createHttpServer(init: HttpServerInit, components: HttpServerComponents): Promise<HttpServer> {
  const logger = components.logger ?? silentLogger();
  const mounts = init.mounts ?? [];
  const hasUi = mounts.some((m) => m.prefix.startsWith('/ui'));
  const { host, port } = parseListen(init.listen ?? '127.0.0.1:0');
  const tls = init.tlsCert !== undefined && init.tlsKey !== undefined ? { cert: await pem(init.tlsCert), key: await pem(init.tlsKey) } : undefined;
  if ((init.tlsCert === undefined) !== (init.tlsKey === undefined)) throw new RangeError('--tls-cert and --tls-key must be given together');

  let server: http.Server | https.Server | undefined;
  const app = Fastify({
    loggerInstance: logger,
    exposeHeadRoutes: false,
    routerOptions: { maxParamLength: 4096 },
    serverFactory: (fastifyHandler) => {
      const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
        const url = req.url ?? '/';
        const mount = mountFor(mounts, url);
        if (mount) return mount.handler(req, res);
        if (hasUi && isAnonymousBrowserRoot(req)) {
          res.statusCode = 302;
          res.setHeader('Location', '/ui/');
          res.setHeader('x-amz-request-id', newRequestId());
          res.end();
          return;
        }
        fastifyHandler(req, res);
      };
      // fastify leaves a factory-made server's timeouts alone, so set them here: Node's default
      // requestTimeout (300 s) would cut off any upload or download that takes longer.
      const options = { maxHeaderSize: init.maxHeaderSize ?? 16 * 1024, requestTimeout: 0, headersTimeout: 60_000 };
      server = tls ? https.createServer({ ...options, ...tls }, handler) : http.createServer(options, handler);
      // Longer than the SDKs' idle-socket reuse window, so clients do not race a closing socket.
      server.keepAliveTimeout = 72_000;
      return server;
    },
    // Oversize headers and other parse failures never reach a handler: answer in S3's XML here.
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => {
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const id = newRequestId();
      const e =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? toErrorResponse(s3Errors.headersTooLarge())
          : toErrorResponse(s3Errors.invalidRequest('The request could not be parsed as HTTP/1.1.'));
      socket.end(rawErrorResponse(e.status, 'Bad Request', errorXml(e, '/', id)));
    },
    frameworkErrors: (error, request, reply) => {
      reply.hijack();
      sendError(request.raw, reply.raw, toErrorResponse(s3Errors.invalidArgument(`Invalid request: ${error.message}`)), newRequestId());
    },
  });
  await app.register(s3Plugin({ users: components.users, stores: components.stores, logger, metrics: components.metrics }, init.s3 ?? {}));
  await app.listen({ host, port });
  const addr = server!.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `${tls ? 'https' : 'http'}://${hostForUrl === '0.0.0.0' ? '127.0.0.1' : hostForUrl === '[::]' ? '[::1]' : hostForUrl}:${addr.port}`;
  return {
    // Typed as the default instance: callers only add routes/hooks, which work the same on https.
    app: app as unknown as FastifyInstance,
    server: server!,
    url,
    async close() {
      // Keep-alive sockets would hold close() open until they time out.
      server!.closeAllConnections?.();
      await app.close();
    },
  };
}
