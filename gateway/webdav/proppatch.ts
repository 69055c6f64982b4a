/**
 * PROPPATCH (RFC 4918 §9.2): instructions applied in document order, all or nothing (on any
 * failure nothing changes and the others are reported 424 Failed Dependency), DAV: properties are
 * protected (403 cannot-modify-protected-property). Needs the tokens of the locks on the resource.
 */
import { checkIfHeader, checkLocks } from './conditions.js';
import { propKey } from './dead-properties.js';
import { DavStatus, hrefOf, parseDavBody, sendXml, statOrNone, statusLine, type DavRequest } from './request.js';
import { DAV, elements, escapeText, is, XmlWriter, type XmlElement } from './xml.js';

interface Instruction {
  op: 'set' | 'remove';
  el: XmlElement;
}

function instructions(body: Buffer): Instruction[] {
  const root = parseDavBody(body, 'PROPPATCH', 'propertyupdate');
  const out: Instruction[] = [];
  for (const group of elements(root)) {
    if (group.ns !== DAV || (group.local !== 'set' && group.local !== 'remove')) continue;
    for (const prop of elements(group)) {
      if (!is(prop, DAV, 'prop')) continue;
      for (const el of elements(prop)) out.push({ op: group.local, el });
    }
  }
  if (out.length === 0) throw new DavStatus(400, 'PROPPATCH body changes nothing');
  return out;
}

export async function proppatch(dav: DavRequest): Promise<void> {
  const list = instructions(dav.body);
  const st = await statOrNone(dav.view, dav.path);
  if (!st) throw new DavStatus(404, 'no such resource');
  const { submitted } = await checkIfHeader(dav);
  checkLocks(dav, submitted, [{ path: dav.path, kind: 'member' }]);
  if (dav.view.readOnly) throw new DavStatus(403, 'read-only access');

  const props = dav.state.props.get(dav.tenant, dav.path);
  const results: { el: XmlElement; status: number }[] = [];
  let failed = false;
  for (const { op, el } of list) {
    if (el.ns === DAV) {
      results.push({ el, status: 403 });
      failed = true;
      continue;
    }
    const key = propKey(el.ns, el.local);
    // Removing a property that does not exist is not an error (§9.2.1).
    if (op === 'set') props.set(key, el);
    else props.delete(key);
    results.push({ el, status: 200 });
  }
  if (!failed && !dav.state.props.fits(dav.tenant, dav.path, props)) {
    // §9.2.1: 507 for the properties that did not fit, which with all-or-nothing means all set ones.
    for (const r of results) if (r.status === 200) r.status = 507;
    failed = true;
  }
  if (!failed) dav.state.props.replace(dav.tenant, dav.path, props);

  // One propstat per status; a property named twice is reported once, with its last outcome.
  const byStatus = new Map<number, Map<string, XmlElement>>();
  const last = new Map<string, number>();
  for (const r of results) last.set(propKey(r.el.ns, r.el.local), failed && r.status === 200 ? 424 : r.status);
  for (const r of results) {
    const key = propKey(r.el.ns, r.el.local);
    const status = last.get(key) ?? 500;
    let m = byStatus.get(status);
    if (!m) byStatus.set(status, (m = new Map()));
    m.set(key, r.el);
  }
  let xml = `<D:multistatus xmlns:D="DAV:">\n<D:response><D:href>${escapeText(hrefOf(dav.prefix, dav.path, st.type === 'dir'))}</D:href>`;
  for (const [status, els] of byStatus) {
    const w = new XmlWriter();
    for (const el of els.values()) w.empty(el.ns, el.local);
    xml += `<D:propstat><D:prop>${w.toString()}</D:prop><D:status>${statusLine(status)}</D:status>`;
    if (status === 403) xml += '<D:error><D:cannot-modify-protected-property/></D:error>';
    xml += '</D:propstat>';
  }
  xml += '</D:response>\n</D:multistatus>\n';
  sendXml(dav.res, 207, xml);
}
