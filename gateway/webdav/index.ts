/**
 * WebDAV (RFC 4918, class 1 and 2) and plain HTTP at `/d/` on the main listen port.
 *
 * This handler does, in order: prefix check, HTTP Basic authentication (shared user list, failed
 * logins slowed down), anonymous access only when configured, request guards (PROPFIND Depth:
 * infinity → 403 propfind-finite-depth per RFC 4918 §9.1; bounded XML bodies), then serves
 * GET/HEAD itself (single ranges straight from the store, conditional requests, HTML folder
 * listings) and hands every other method to webdav-server v2 over StoreFileSystem.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { XMLValidator } from 'fast-xml-parser';
import { v2 } from 'webdav-server';
import type { Logger } from '../../backend/core/logger.js';
import type { ObjectStore, TenantStores } from '../../backend/core/object-store.js';
import { PathView } from '../common/path-view.js';
import type { User, UserRegistry } from '../common/users.js';
import { LoginThrottle } from '../common/login-throttle.js';
import { StoreFileSystem, type TenantUserRef } from './store-file-system.js';
import { serveGet } from './get.js';
import { ProppatchCommand } from './proppatch.js';

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
}

export interface WebdavHandler {
  handler(req: IncomingMessage, res: ServerResponse): void;
  close(): Promise<void>;
}

const XML_METHODS = new Set(['PROPFIND', 'PROPPATCH', 'LOCK']);

function wellFormed(body: Buffer): boolean {
  const text = body.toString('utf8');
  if (XMLValidator.validate(text) !== true) return false;
  // Namespaces in XML 1.0 §3: a prefix may not be bound to the empty name.
  return !/\sxmlns:[^\s=]+\s*=\s*(""|'')/.test(text);
}

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

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PROPFIND']);
/** Bodies webdav-server buffers whole (PROPFIND, PROPPATCH, LOCK): refuse anything larger. */
const MAX_XML_BODY = 1 << 20;
const REALM = 'Basic realm="PeerStor", charset="UTF-8"';

/**
 * webdav-server v2.6.3's PROPPATCH answers twice when a body has more than one set/remove group
 * (its finalize counter assumes exactly two), and a second setHeader after the reply throws from a
 * callback, which would kill the process. Once a reply is out, further header writes and body
 * writes on that response are dropped and logged instead.
 */
function guardResponse(res: ServerResponse, log: Logger): void {
  const setHeader = res.setHeader.bind(res);
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  res.setHeader = ((name: string, value: number | string | readonly string[]) => {
    if (res.headersSent) {
      log.warn({ header: name }, 'webdav-server wrote a header after the reply; dropped');
      return res;
    }
    return setHeader(name, value);
  }) as typeof res.setHeader;
  res.write = ((...args: unknown[]) => {
    if (res.writableEnded) return false;
    return write(...args);
  }) as typeof res.write;
  res.on('error', (err) => log.warn({ err }, 'webdav response error'));
}

export function createWebdavHandler(init: WebdavInit, components: WebdavComponents): WebdavHandler {
  const { users, stores, logger } = components;
  const log = logger.child({ component: 'webdav' });
  const prefix = init.prefix.endsWith('/') ? init.prefix : `${init.prefix}/`;
  const rootPath = prefix.slice(0, -1);
  const throttle = components.throttle ?? new LoginThrottle();
  const ownThrottle = !components.throttle;
  const storeCache = new Map<string, Promise<ObjectStore>>();
  const requestUser = new WeakMap<object, TenantUserRef>();

  const openStore = (user: User): Promise<ObjectStore> => {
    let p = storeCache.get(user.accessKey);
    if (!p) {
      p = stores.open(user);
      storeCache.set(user.accessKey, p);
      p.catch(() => storeCache.delete(user.accessKey));
    }
    return p;
  };

  const auth: v2.HTTPAuthentication = {
    askForAuthentication: () => ({ 'WWW-Authenticate': REALM }),
    getUser(ctx, callback) {
      const u = requestUser.get(ctx.request);
      if (u) callback(undefined as unknown as Error, u);
      else callback(v2.Errors.BadAuthentication);
    },
  };

  const server = new v2.WebDAVServer({
    rootFileSystem: new StoreFileSystem(),
    httpAuthentication: auth,
    requireAuthentification: true,
    maxRequestDepth: 1,
    serverName: 'PeerStor',
    // webdav-server's `autoSave` and `port` stay off: the store persists, the caller owns the socket.
  });
  server.method('PROPPATCH', new ProppatchCommand());

  function fail(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
    res.end(`${text}\n`);
  }

  async function authenticate(req: IncomingMessage): Promise<{ user: User; readOnly: boolean } | 'denied' | 'missing'> {
    const header = req.headers.authorization;
    if (!header) {
      if (!init.anonymous) return 'missing';
      const user = init.anonymousAccessKey ? users.get(init.anonymousAccessKey) : users.all()[0];
      return user ? { user, readOnly: init.anonymous === 'ro' } : 'denied';
    }
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!m) return 'denied';
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return 'denied';
    const accessKey = decoded.slice(0, colon);
    const secret = decoded.slice(colon + 1);
    const user = await throttle.attempt(`ip:${req.socket.remoteAddress ?? '?'}`, `key:${accessKey}`, () => users.verify(accessKey, secret));
    return user ? { user, readOnly: false } : 'denied';
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    if (!(url === rootPath || url.startsWith(prefix) || url.startsWith(`${rootPath}?`))) {
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
    const view = new PathView(await openStore(who.user), { readOnly: who.readOnly });
    const ref: TenantUserRef = { uid: who.user.accessKey, username: who.user.accessKey, isAdministrator: false, isDefaultUser: false, view };
    requestUser.set(req, ref);

    if (method === 'PROPFIND' && String(req.headers.depth ?? '1').trim().toLowerCase() === 'infinity') {
      req.resume();
      res.writeHead(403, { 'Content-Type': 'application/xml; charset=utf-8' });
      res.end('<?xml version="1.0" encoding="utf-8"?>\n<D:error xmlns:D="DAV:"><D:propfind-finite-depth/></D:error>\n');
      return;
    }
    if (method !== 'PUT' && Number(req.headers['content-length'] ?? 0) > MAX_XML_BODY) {
      req.resume();
      fail(res, 413, 'request body too large');
      return;
    }
    if (method === 'MKCOL' && (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'])) {
      // RFC 4918 §9.3: a MKCOL body this server does not understand → 415.
      req.resume();
      fail(res, 415, 'MKCOL with a body is not supported');
      return;
    }
    if (method === 'GET' || method === 'HEAD') {
      await serveGet(req, res, view, { prefix, head: method === 'HEAD' });
      return;
    }
    // webdav-server resolves the URL relative to rootPath, like its express mount does.
    const sub = url === rootPath ? '/' : url.slice(rootPath.length);
    guardResponse(res, log);
    const ifHeader = req.headers.if;
    if (typeof ifHeader === 'string' && ifHeader.trim().startsWith('(')) {
      // webdav-server 2.6.3's If parser dereferences a missing resource tag for untagged lists
      // (RFC 4918 §10.4.2 No-tag-list) and throws from a callback, killing the process. An
      // untagged list applies to the request URI, so tagging it with that URI means the same.
      req.headers.if = `<${encodeURI(`http://${req.headers.host ?? 'localhost'}`)}${url.split('?')[0]}> ${ifHeader}`;
    }
    if (!XML_METHODS.has(method)) {
      req.url = sub;
      server.executeRequest(req, res, rootPath);
      return;
    }
    // XML bodies are read and checked here (webdav-server's parser accepts malformed XML), then
    // handed on through a stand-in request carrying the same headers.
    const body = await readBody(req, MAX_XML_BODY);
    if (body === undefined) {
      fail(res, 413, 'request body too large');
      return;
    }
    if (body.length > 0 && !wellFormed(body)) {
      fail(res, 400, 'request body is not well-formed XML');
      return;
    }
    const standIn = Object.assign(Readable.from(body.length > 0 ? [body] : []), {
      headers: req.headers,
      method: req.method,
      url: sub,
      httpVersion: req.httpVersion,
      socket: req.socket,
      connection: req.socket,
    });
    requestUser.set(standIn, ref);
    server.executeRequest(standIn as unknown as IncomingMessage, res, rootPath);
  }

  return {
    handler(req, res) {
      handle(req, res).catch((err: unknown) => {
        log.error({ err, method: req.method, url: req.url }, 'webdav request failed');
        fail(res, 500, 'internal error');
      });
    },
    async close() {
      if (ownThrottle) throttle.close();
      storeCache.clear();
    },
  };
}
