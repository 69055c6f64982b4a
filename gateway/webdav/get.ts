/**
 * GET and HEAD at /d/ (RFC 9110 §9.3.1, §14 ranges, §13 conditionals): files are streamed
 * straight from the store with one ranged read (never read from byte 0 and discarded),
 * folders get an HTML listing so a browser or `curl -u AK:SK …/d/bucket/` shows what is there.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { isStoreError } from '../../backend/core/errors.js';
import type { Conditions, RangeSpec } from '../../backend/core/object-store.js';
import { toFsError, type FsStat, type PathView } from '../common/path-view.js';
import { WEBDAV_STATUS } from './errors.js';

function parseRange(header: string | undefined): RangeSpec | undefined {
  // Multiple ranges are legal to ignore (RFC 9110 §14.2): the full body is served instead.
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') return { suffix: Number(m[2]) };
  return m[2] === '' ? { start: Number(m[1]) } : { start: Number(m[1]), end: Number(m[2]) };
}

function conditions(req: IncomingMessage): Conditions {
  const h = req.headers;
  const date = (v: string | undefined): Date | undefined => {
    const d = v ? new Date(v) : undefined;
    return d && !Number.isNaN(d.getTime()) ? d : undefined;
  };
  return {
    ifMatch: h['if-match'],
    ifNoneMatch: h['if-none-match'],
    ifModifiedSince: date(h['if-modified-since']),
    ifUnmodifiedSince: date(h['if-unmodified-since']),
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function listingHtml(prefix: string, dir: FsStat, entries: FsStat[]): string {
  const base = prefix.slice(0, -1) + encodePath(dir.path === '/' ? '/' : `${dir.path}/`);
  const rows = entries.map((e) => {
    const href = base + encodeURIComponent(e.name) + (e.type === 'dir' ? '/' : '');
    const size = e.type === 'dir' ? '-' : String(e.size);
    const name = escapeHtml(e.name) + (e.type === 'dir' ? '/' : '');
    return `<tr><td><a href="${escapeHtml(href)}">${name}</a></td><td>${size}</td><td>${e.mtime.toISOString()}</td></tr>`;
  });
  const up = dir.path === '/' ? '' : `<tr><td><a href="../">../</a></td><td></td><td></td></tr>`;
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Index of ${escapeHtml(dir.path)}</title></head>
<body><h1>Index of ${escapeHtml(dir.path)}</h1>
<table><thead><tr><th>Name</th><th>Size</th><th>Modified</th></tr></thead><tbody>
${up}${rows.join('\n')}
</tbody></table></body></html>
`;
}

export async function serveGet(
  req: IncomingMessage,
  res: ServerResponse,
  view: PathView,
  opts: { prefix: string; head: boolean; /** the request URI as a path-view path */ path: string },
): Promise<void> {
  req.resume();
  const fail = (status: number, text: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
    res.end(opts.head ? undefined : `${text}\n`);
  };
  const path = opts.path;
  let st: FsStat;
  try {
    st = await view.stat(path);
  } catch (err) {
    const e = toFsError(err);
    fail(WEBDAV_STATUS[e.code], e.message);
    return;
  }
  if (st.type === 'dir') {
    let entries: FsStat[];
    try {
      entries = await view.list(path);
    } catch (err) {
      const e = toFsError(err);
      fail(WEBDAV_STATUS[e.code], e.message);
      return;
    }
    const html = Buffer.from(listingHtml(opts.prefix, st, entries));
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(html.length) });
    res.end(opts.head ? undefined : html);
    return;
  }
  let range = parseRange(req.headers.range);
  const ifRange = req.headers['if-range'];
  if (range && ifRange && ifRange !== `"${st.etag}"`) range = undefined;
  if (opts.head) range = undefined;
  let result;
  try {
    result = await view.read(path, { range, conditions: conditions(req) });
  } catch (err) {
    const e = toFsError(err);
    if (isStoreError(e.cause, 'InvalidRange')) {
      fail(416, 'range not satisfiable', { 'Content-Range': `bytes */${st.size}` });
      return;
    }
    if (e.code === 'ENOTMODIFIED') {
      res.writeHead(304, { ETag: `"${st.etag}"`, 'Last-Modified': st.mtime.toUTCString() });
      res.end();
      return;
    }
    fail(WEBDAV_STATUS[e.code], e.message);
    return;
  }
  const info = result.info;
  const headers: Record<string, string> = {
    'Content-Type': info.headers.contentType ?? 'application/octet-stream',
    'Content-Length': String(result.contentLength),
    ETag: `"${info.etag}"`,
    'Last-Modified': info.lastModified.toUTCString(),
    'Accept-Ranges': 'bytes',
  };
  if (result.range) headers['Content-Range'] = `bytes ${result.range.start}-${result.range.end}/${info.size}`;
  res.writeHead(result.range ? 206 : 200, headers);
  if (opts.head) {
    result.body.destroy();
    res.end();
    return;
  }
  try {
    await pipeline(result.body, res);
  } catch {
    // Headers are out: the only honest signal left is a cut connection (the client sees a short body).
    res.destroy();
  }
}
