/**
 * The web page at /ui/: static files (gateway/web/static/, plain ES modules and CSS written by
 * hand, no build step) served raw from the gateway's listener (gateway/http-server.ts mounts).
 * The page talks S3 to the same origin, signing requests itself (static/sigv4.js), so it needs no
 * second API and no session on the server; the network view reads `/-/status`
 * (backend/metrics/ops-handler.ts).
 *
 * Files are read once at creation and kept in memory with a gzip copy (the page is ~60 KiB);
 * answers carry a strong ETag and `no-cache`, so a browser revalidates and gets 304s.
 * The Content-Security-Policy allows nothing but this origin: the page makes no external requests
 * (issue 6), and neither can anything injected into it.
 *
 * May import: node: modules and backend/core only.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Logger } from '../../backend/core/logger.js';

export interface WebHandlerInit {
  /** where the page lives; '/ui/' (must start and end with '/') */
  prefix: string;
  /** directory of the static files; default: gateway/web/static of this source tree */
  staticDir?: string;
}

export interface WebHandlerComponents {
  logger: Logger;
}

export interface WebHandler {
  prefix: string;
  handler(req: IncomingMessage, res: ServerResponse): void;
}

interface StaticFile {
  body: Buffer;
  gzip?: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The static folder: next to this module in the source tree, or — when running the compiled
 * copy from dist/gateway/web/ — the source tree's folder two levels up (tsc copies no assets).
 */
export function defaultStaticDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [join(here, 'static'), resolve(here, '../../../gateway/web/static')];
  const found = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (!found) throw new Error(`web page files not found (looked in ${candidates.join(', ')})`);
  return found;
}

function loadFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const walk = (sub: string): void => {
    for (const name of readdirSync(join(dir, sub))) {
      const rel = sub ? `${sub}/${name}` : name;
      const full = join(dir, rel);
      if (statSync(full).isDirectory()) {
        walk(rel);
        continue;
      }
      const body = readFileSync(full);
      const type = TYPES[extname(name)] ?? 'application/octet-stream';
      const compressible = /^(text\/|application\/json|image\/svg)/.test(type);
      const gzip = compressible && body.length > 512 ? gzipSync(body, { level: 9 }) : undefined;
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      files.set(rel, { body, gzip: gzip && gzip.length < body.length ? gzip : undefined, type, etag });
    }
  };
  walk('');
  return files;
}

function acceptsGzip(req: IncomingMessage): boolean {
  const ae = req.headers['accept-encoding'];
  return typeof ae === 'string' && /\bgzip\b/.test(ae) && !/\bgzip\s*;\s*q=0(\.0*)?\b/.test(ae);
}

function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
  res.end(text);
}

export function createWebHandler(init: WebHandlerInit, components: WebHandlerComponents): WebHandler {
  const prefix = init.prefix;
  if (!prefix.startsWith('/') || !prefix.endsWith('/')) throw new RangeError(`web prefix "${prefix}" must start and end with "/"`);
  const dir = init.staticDir ?? defaultStaticDir();
  const files = loadFiles(dir);
  components.logger.debug({ dir, files: files.size }, 'web page loaded');

  return {
    prefix,
    handler(req, res) {
      const path = (req.url ?? '/').split('?', 1)[0];
      if (path === prefix.slice(0, -1)) return plain(res, 301, `moved to ${prefix}\n`, { Location: prefix });
      if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'only GET and HEAD\n', { Allow: 'GET, HEAD' });
      let rel: string;
      try {
        rel = decodeURIComponent(path.slice(prefix.length));
      } catch {
        return plain(res, 400, 'bad path\n');
      }
      if (rel === '') rel = 'index.html';
      // Only names present in the in-memory table are served: no path ever reaches the disk.
      const file = files.get(rel);
      if (!file) return plain(res, 404, 'not found\n');
      res.setHeader('Content-Type', file.type);
      res.setHeader('Cache-Control', 'no-cache');
      res.setHeader('ETag', file.etag);
      res.setHeader('Vary', 'Accept-Encoding');
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.setHeader('X-Frame-Options', 'DENY');
      res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
      const inm = req.headers['if-none-match'];
      if (typeof inm === 'string' && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === file.etag)) {
        res.statusCode = 304;
        res.end();
        return;
      }
      const gz = file.gzip !== undefined && acceptsGzip(req);
      const body = gz ? file.gzip! : file.body;
      if (gz) res.setHeader('Content-Encoding', 'gzip');
      res.setHeader('Content-Length', body.length);
      res.statusCode = 200;
      res.end(req.method === 'HEAD' ? undefined : body);
    },
  };
}
