/**
 * WebDAV (RFC 4918, class 1 and 2) and plain HTTP at `/d/` on the main listen port.
 *
 * This handler does, in order: prefix check, HTTP Basic authentication (shared user list, failed
 * logins slowed down), anonymous access only when configured, request guards (PROPFIND Depth:
 * infinity → 403 propfind-finite-depth per RFC 4918 §9.1; bounded XML bodies), then dispatches
 * to one handler per method family. The whole protocol is ours (see README.md for why
 * webdav-server was dropped): properties in propfind.ts / proppatch.ts, locks in lock.ts /
 * locks.ts / conditions.ts, writes in write-methods.ts / copy-move.ts, reads in get.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../backend/core/logger.js';
import type { ObjectStore, TenantStores } from '../../backend/core/object-store.js';
import { observeHttpExchange } from '../../backend/metrics/http-exchange.js';
import type { Metrics } from '../../backend/metrics/metrics.js';
import { PathView, toFsError } from '../common/path-view.js';
import type { User, UserRegistry } from '../common/users.js';
import { LoginThrottle } from '../common/login-throttle.js';
import { serveGet } from './get.js';
import { propfind } from './propfind.js';
import { proppatch } from './proppatch.js';
import { lock, unlock } from './lock.js';
import { del, mkcol, put } from './write-methods.js';
import { copyOrMove } from './copy-move.js';
import { DeadProperties } from './dead-properties.js';
import { LockTable } from './locks.js';
import { DavStatus, fsStatus, sendError, sendStatus, urlToPath, type DavRequest, type DavState } from './request.js';
import { WEBDAV_STATUS } from './errors.js';

export interface WebdavInit {
  /** URL prefix with leading and trailing slash, e.g. '/d/' */
  prefix: string;
  /** allow requests without credentials: 'ro' read-only, 'rw' read-write */
  anonymous?: 'ro' | 'rw';
  /** whose buckets anonymous requests see (default: the first user in the registry) */
  anonymousAccessKey?: string;
}

export interface WebdavComponents {
  users: UserRegistry;
  stores: TenantStores;
  logger: Logger;
  /** shared with the other file protocols so a guesser cannot switch protocol to go faster */
  throttle?: LoginThrottle;
  /** one observation per request (protocol webdav, operation = method); optional */
  metrics?: Metrics;
}

export interface WebdavHandler {
  handler(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

/** Methods whose body is XML (or must be empty, MKCOL) and is read whole, bounded, before dispatch. */
const BODY_METHODS = new Set(['PROPFIND', 'PROPPATCH', 'LOCK', 'MKCOL']);
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PROPFIND']);
const ALLOW = 'OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK';
/** Metric label values: the methods above; anything else counts as OTHER (labels stay bounded). */
const KNOWN_METHODS = new Set(ALLOW.split(', '));
/** Largest XML request body accepted (PROPFIND, PROPPATCH, LOCK). */
const MAX_XML_BODY = 1 << 20;
const REALM = 'Basic realm="PeerStor", charset="UTF-8"';

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      return undefined;
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

async function dispatch(dav: DavRequest): Promise<void> {
  switch (dav.method) {
    case 'OPTIONS':
      // RFC 4918 §10.1: class 1 and 2 (locks).
      sendStatus(dav.res, 200, { DAV: '1, 2', Allow: ALLOW, 'MS-Author-Via': 'DAV' });
      return;
    case 'PROPFIND':
      return propfind(dav);
    case 'PROPPATCH':
      return proppatch(dav);
    case 'MKCOL':
      return mkcol(dav);
    case 'PUT':
      return put(dav);
    case 'DELETE':
      return del(dav);
    case 'COPY':
      return copyOrMove(dav, false);
    case 'MOVE':
      return copyOrMove(dav, true);
    case 'LOCK':
      return lock(dav);
    case 'UNLOCK':
      return unlock(dav);
    default:
      sendStatus(dav.res, 405, { Allow: ALLOW }, `${dav.method} is not supported here`);
  }
}

export function createWebdavHandler(init: WebdavInit, components: WebdavComponents): WebdavHandler {
  const { users, stores, logger } = components;
  const log = logger.child({ component: 'webdav' });
  const prefix = init.prefix.endsWith('/') ? init.prefix : `${init.prefix}/`;
  const rootPath = prefix.slice(0, -1);
  const throttle = components.throttle ?? new LoginThrottle();
  const ownThrottle = !components.throttle;
  const storeCache = new Map<string, Promise<ObjectStore>>();
  const state: DavState = { locks: new LockTable(), props: new DeadProperties() };

  const openStore = (user: User): Promise<ObjectStore> => {
    let p = storeCache.get(user.accessKey);
    if (!p) {
      p = stores.open(user);
      storeCache.set(user.accessKey, p);
      p.catch(() => storeCache.delete(user.accessKey));
    }
    return p;
  };

  function fail(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
    sendStatus(res, status, headers, text);
  }

  async function authenticate(req: IncomingMessage): Promise<{ user: User; readOnly: boolean; anonymous: boolean } | 'denied' | 'missing'> {
    const header = req.headers.authorization;
    if (!header) {
      if (!init.anonymous) return 'missing';
      const user = init.anonymousAccessKey ? users.get(init.anonymousAccessKey) : users.all()[0];
      return user ? { user, readOnly: init.anonymous === 'ro', anonymous: true } : 'denied';
    }
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!m) return 'denied';
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'denied';
    const accessKey = decoded.slice(0, colon);
    const secret = decoded.slice(colon + 1);
    const user = await throttle.attempt(`ip:${req.socket.remoteAddress ?? '?'}`, `key:${accessKey}`, () => users.verify(accessKey, secret));
    return user ? { user, readOnly: false, anonymous: false } : 'denied';
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    if (!(url === rootPath || url.startsWith(prefix) || url.startsWith(`${rootPath}?`))) {
      req.resume();
      fail(res, 404, 'not found');
      return;
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const who = await authenticate(req);
    if (who === 'missing' || who === 'denied') {
      req.resume();
      fail(res, 401, who === 'missing' ? 'authentication required' : 'wrong access key or secret', { 'WWW-Authenticate': REALM });
      return;
    }
    if (who.readOnly && !READ_METHODS.has(method)) {
      req.resume();
      fail(res, 403, 'anonymous access is read-only');
      return;
    }
    if (method === 'PROPFIND' && String(req.headers.depth ?? '1').trim().toLowerCase() === 'infinity') {
      req.resume();
      sendError(res, 403, 'propfind-finite-depth');
      return;
    }
    let path: string;
    try {
      // The prefix was checked above, so urlToPath never answers "elsewhere" here.
      path = urlToPath(url === rootPath || url.startsWith(`${rootPath}?`) ? prefix : url, prefix) ?? '/';
    } catch (err) {
      req.resume();
      const e = toFsError(err);
      fail(res, WEBDAV_STATUS[e.code], e.message);
      return;
    }
    const view = new PathView(await openStore(who.user), { readOnly: who.readOnly });
    if (method === 'GET' || method === 'HEAD') {
      await serveGet(req, res, view, { prefix, head: method === 'HEAD', path });
      return;
    }
    let body: Buffer = Buffer.alloc(0);
    if (BODY_METHODS.has(method)) {
      if (Number(req.headers['content-length'] ?? 0) > MAX_XML_BODY) {
        req.resume();
        fail(res, 413, 'request body too large');
        return;
      }
      const read = await readBody(req, MAX_XML_BODY);
      if (read === undefined) {
        fail(res, 413, 'request body too large');
        return;
      }
      body = read;
    } else if (method !== 'PUT') {
      req.resume();
    }
    const principal = who.anonymous ? 'anonymous' : `key:${who.user.accessKey}`;
    const dav: DavRequest = { req, res, method, view, tenant: who.user.accessKey, principal, prefix, path, body, state };
    try {
      await dispatch(dav);
    } catch (err) {
      if (method === 'PUT') req.resume();
      const status = err instanceof DavStatus ? err : fsStatus(err);
      if (status.status >= 500) log.warn({ err, method, url }, 'webdav request failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (status.condition) sendError(res, status.status, status.condition.name, status.condition.hrefs);
      else fail(res, status.status, status.message);
    }
  }

  return {
    handler(req, res) {
      if (components.metrics) {
        const method = (req.method ?? 'GET').toUpperCase();
        observeHttpExchange(components.metrics, req, res, { protocol: 'webdav', operation: KNOWN_METHODS.has(method) ? method : 'OTHER' });
      }
      handle(req, res).catch((err: unknown) => {
        log.error({ err, method: req.method, url: req.url }, 'webdav request failed');
        if (res.headersSent) res.destroy();
        else fail(res, 500, 'internal error');
      });
    },
    async close() {
      if (ownThrottle) throttle.close();
      storeCache.clear();
    },
  };
}
