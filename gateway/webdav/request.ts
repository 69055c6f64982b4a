/**
 * What every WebDAV method handler gets: the authenticated tenant's path view, the shared lock and
 * dead-property tables, the request path as a path-view path, and helpers for URLs and replies.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import { FsError, parsePath, toFsError, type FsErrorCode, type FsStat, type PathView } from '../common/path-view.js';
import type { DeadProperties } from './dead-properties.js';
import type { LockTable } from './locks.js';
import { WEBDAV_STATUS } from './errors.js';
import { DAV, escapeText, is, parseXml, XML_HEAD, XmlBodyError, type XmlElement } from './xml.js';

export interface DavState {
  locks: LockTable;
  props: DeadProperties;
}

export interface DavRequest {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  view: PathView;
  /** key of the tenant's locks and dead properties */
  tenant: string;
  /** who is asking ('key:AK', or 'anonymous' under --anonymous rw): a lock token only works for
   *  the principal that created the lock (RFC 4918 §6.4) */
  principal: string;
  /** URL prefix with both slashes, e.g. '/d/' */
  prefix: string;
  /** the request URI as a path-view path ('/', '/bucket', '/bucket/a/b') */
  path: string;
  /** the request body, for methods that take XML (read and size-checked before dispatch) */
  body: Buffer;
  state: DavState;
}

/**
 * Turns a URL path (absolute URI or absolute path, percent-encoded) under the prefix into a
 * path-view path. Each segment is decoded on its own, so an encoded '/' can never split a name
 * into two segments. Undefined when the URL is not under the prefix (COPY/MOVE → 502).
 */
export function urlToPath(url: string, prefix: string): string | undefined {
  let p = url;
  const abs = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(.*)$/i.exec(p);
  if (abs) p = abs[1] || '/';
  p = p.split('?')[0];
  // A fragment never reaches a server from a correct client; one that sends '#' raw must not have
  // it silently cut off (DELETE /coll/#frag would delete /coll/).
  if (p.includes('#')) throw new FsError('EINVAL', 'URL may not contain a fragment');
  const root = prefix.slice(0, -1);
  if (p !== root && !p.startsWith(prefix)) return undefined;
  const segs: string[] = [];
  for (const raw of p.slice(root.length).split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      throw new FsError('EINVAL', 'bad percent-encoding in URL');
    }
    if (seg.includes('/')) throw new FsError('EACCES', 'path may not contain encoded separators');
    segs.push(seg);
  }
  return parsePath(`/${segs.join('/')}`).path;
}

/** The href of a path (RFC 4918 §8.3: collections end in '/'), percent-encoded per segment. */
export function hrefOf(prefix: string, path: string, collection: boolean): string {
  const enc = path === '/' ? '' : path.split('/').slice(1).map(encodeURIComponent).join('/');
  if (enc === '') return prefix;
  return `${prefix}${enc}${collection ? '/' : ''}`;
}

export function statusLine(code: number): string {
  return `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ''}`;
}

export function sendStatus(res: ServerResponse, code: number, headers: Record<string, string> = {}, text?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = text === undefined ? '' : `${text}\n`;
  const h: Record<string, string> = { ...headers, 'Content-Length': String(Buffer.byteLength(body)) };
  if (body) h['Content-Type'] ??= 'text/plain; charset=utf-8';
  res.writeHead(code, h);
  res.end(body);
}

/** Sends an XML document (the caller writes everything after the XML declaration). */
export function sendXml(res: ServerResponse, code: number, xml: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(XML_HEAD + xml, 'utf8');
  res.writeHead(code, { ...headers, 'Content-Type': 'application/xml; charset=utf-8', 'Content-Length': String(body.length) });
  res.end(body);
}

/** A DAV:error body with one precondition element (RFC 4918 §16), e.g. 'no-conflicting-lock'. */
export function sendError(res: ServerResponse, code: number, condition: string, hrefs: string[] = []): void {
  const inner = hrefs.map((h) => `<D:href>${escapeText(h)}</D:href>`).join('');
  sendXml(res, code, `<D:error xmlns:D="DAV:"><D:${condition}${inner ? `>${inner}</D:${condition}>` : '/>'}</D:error>\n`);
}

/** Thrown by handlers to end a request with a plain status (caught in index.ts). */
export class DavStatus extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly condition?: { name: string; hrefs?: string[] },
  ) {
    super(message);
    this.name = 'DavStatus';
  }
}

/**
 * A request body that must be one DAV: document: malformed XML or another root element is a 400
 * (`<METHOD> body must be DAV:<root>`).
 */
export function parseDavBody(body: Buffer, method: string, root: string): XmlElement {
  let el: XmlElement;
  try {
    el = parseXml(body);
  } catch (err) {
    if (err instanceof XmlBodyError) throw new DavStatus(400, err.message);
    throw err;
  }
  if (!is(el, DAV, root)) throw new DavStatus(400, `${method} body must be DAV:${root}`);
  return el;
}

/** A path-view failure as a DavStatus, with per-method overrides for the codes that differ. */
export function fsStatus(err: unknown, overrides: Partial<Record<FsErrorCode, number>> = {}): DavStatus {
  if (err instanceof DavStatus) return err;
  const e = toFsError(err);
  return new DavStatus(overrides[e.code] ?? WEBDAV_STATUS[e.code], e.message);
}

/** stat, or undefined when nothing is there. */
export async function statOrNone(view: PathView, path: string): Promise<FsStat | undefined> {
  try {
    return await view.stat(path);
  } catch (err) {
    if (toFsError(err).code === 'ENOENT') return undefined;
    throw fsStatus(err);
  }
}

/** The parent of a path-view path ('/' for a bucket). */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** ETag of a resource as the If header and DAV:getetag show it (files only; folders have none). */
export function etagOf(st: FsStat): string | undefined {
  return st.type === 'file' && st.etag !== undefined ? `"${st.etag}"` : undefined;
}
