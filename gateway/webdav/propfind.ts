/**
 * PROPFIND (RFC 4918 §9.1): live properties from the path view, dead properties from
 * DeadProperties, lock discovery from LockTable. Depth 0 and 1 (index.ts refuses infinity with
 * DAV:propfind-finite-depth before this runs). Bodies: empty or allprop, propname, prop.
 */
import type { FsStat } from '../common/path-view.js';
import { propKey } from './dead-properties.js';
import type { Lock, LockTable } from './locks.js';
import { DavStatus, etagOf, fsStatus, hrefOf, parseDavBody, sendXml, statusLine, type DavRequest } from './request.js';
import { child, DAV, elements, escapeText, XmlWriter } from './xml.js';

type Request = { kind: 'allprop' } | { kind: 'propname' } | { kind: 'prop'; names: { ns: string; local: string }[] };

function parseRequest(body: Buffer): Request {
  if (body.length === 0) return { kind: 'allprop' };
  const root = parseDavBody(body, 'PROPFIND', 'propfind');
  // Unknown elements are ignored (§17: extensibility), so <foobar/><allprop/> is allprop.
  if (child(root, DAV, 'propname')) return { kind: 'propname' };
  const prop = child(root, DAV, 'prop');
  if (prop) return { kind: 'prop', names: elements(prop).map((e) => ({ ns: e.ns, local: e.local })) };
  if (child(root, DAV, 'allprop')) return { kind: 'allprop' };
  throw new DavStatus(400, 'PROPFIND body names no properties');
}

/** The DAV:activelock element of one lock (§14.1). */
export function activeLockXml(dav: Pick<DavRequest, 'prefix'>, locks: LockTable, lock: Lock): string {
  const w = new XmlWriter();
  w.raw('<D:activelock>');
  w.dav('locktype', '<D:write/>');
  w.dav('lockscope', `<D:${lock.scope}/>`);
  w.dav('depth', lock.depth === 0 ? '0' : 'infinity');
  if (lock.owner) w.element(lock.owner);
  w.dav('timeout', `Second-${locks.secondsLeft(lock)}`);
  w.dav('locktoken', `<D:href>${escapeText(lock.token)}</D:href>`);
  w.dav('lockroot', `<D:href>${escapeText(hrefOf(dav.prefix, lock.root, lock.rootIsCollection))}</D:href>`);
  w.raw('</D:activelock>');
  return w.toString();
}

const SUPPORTED_LOCK =
  '<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>' +
  '<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>';

/** Live properties of a resource, each as its inner XML (undefined = not defined here). */
function liveProps(dav: DavRequest, st: FsStat): Map<string, string> {
  const out = new Map<string, string>();
  const dir = st.type === 'dir';
  out.set('resourcetype', dir ? '<D:collection/>' : '');
  if (st.path !== '/') out.set('displayname', escapeText(st.name));
  if (!dir) {
    out.set('getcontentlength', String(st.size));
    out.set('getcontenttype', 'application/octet-stream');
  }
  out.set('getlastmodified', st.mtime.toUTCString());
  out.set('creationdate', st.mtime.toISOString());
  const etag = etagOf(st);
  if (etag) out.set('getetag', escapeText(etag));
  out.set('supportedlock', SUPPORTED_LOCK);
  const locks = dav.state.locks.covering(dav.tenant, st.path);
  out.set('lockdiscovery', locks.map((l) => activeLockXml(dav, dav.state.locks, l)).join(''));
  return out;
}

function responseXml(dav: DavRequest, st: FsStat, request: Request): string {
  const live = liveProps(dav, st);
  const dead = dav.state.props.get(dav.tenant, st.path);
  const found = new XmlWriter();
  const missing = new XmlWriter();
  let anyMissing = false;
  if (request.kind === 'allprop' || request.kind === 'propname') {
    for (const [local, inner] of live) found.dav(local, request.kind === 'propname' ? undefined : inner);
    for (const el of dead.values()) {
      if (request.kind === 'propname') found.empty(el.ns, el.local);
      else found.element(el);
    }
  } else {
    for (const { ns, local } of request.names) {
      const inner = ns === DAV ? live.get(local) : undefined;
      const deadEl = dead.get(propKey(ns, local));
      if (inner !== undefined) found.dav(local, inner);
      else if (deadEl) found.element(deadEl);
      else {
        missing.empty(ns, local);
        anyMissing = true;
      }
    }
  }
  let xml = `<D:response><D:href>${escapeText(hrefOf(dav.prefix, st.path, st.type === 'dir'))}</D:href>`;
  const okProps = found.toString();
  if (okProps !== '' || !anyMissing) xml += `<D:propstat><D:prop>${okProps}</D:prop><D:status>${statusLine(200)}</D:status></D:propstat>`;
  if (anyMissing) xml += `<D:propstat><D:prop>${missing.toString()}</D:prop><D:status>${statusLine(404)}</D:status></D:propstat>`;
  return `${xml}</D:response>\n`;
}

export async function propfind(dav: DavRequest): Promise<void> {
  const request = parseRequest(dav.body);
  const depth = String(dav.req.headers.depth ?? '1').trim();
  if (depth !== '0' && depth !== '1') throw new DavStatus(400, 'Depth must be 0 or 1');
  let self: FsStat;
  let members: FsStat[] = [];
  try {
    self = await dav.view.stat(dav.path);
    if (depth === '1' && self.type === 'dir') members = await dav.view.list(dav.path);
  } catch (err) {
    throw fsStatus(err);
  }
  const parts = [responseXml(dav, self, request), ...members.map((m) => responseXml(dav, m, request))];
  sendXml(dav.res, 207, `<D:multistatus xmlns:D="DAV:">\n${parts.join('')}</D:multistatus>\n`);
}
