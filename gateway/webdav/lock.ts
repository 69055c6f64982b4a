/**
 * LOCK and UNLOCK (RFC 4918 §9.10, §9.11). Write locks only, exclusive or shared, depth 0 or
 * infinity. A LOCK with a body creates a lock (on an unmapped URL it first creates an empty
 * file: §7.3, 201); a LOCK without a body refreshes the lock whose token the If header submits
 * (§9.10.2), also through a member of a depth-infinity lock. UNLOCK needs a Lock-Token that names
 * a lock applying to the request URI (else 409 lock-token-matches-request-uri).
 */
import { toFsError } from '../common/path-view.js';
import { checkIfHeader, checkLocks } from './conditions.js';
import { parseTimeout, type LockDepth, type LockScope } from './locks.js';
import { activeLockXml } from './propfind.js';
import { DavStatus, fsStatus, parseDavBody, sendStatus, sendXml, statOrNone, type DavRequest } from './request.js';
import { child, DAV, elements, is, type XmlElement } from './xml.js';

async function* emptyBody(): AsyncIterable<Uint8Array> {}

function parseLockInfo(body: Buffer): { scope: LockScope; owner?: XmlElement } {
  const root = parseDavBody(body, 'LOCK', 'lockinfo');
  const scopeEl = child(root, DAV, 'lockscope');
  const scopeName = scopeEl ? elements(scopeEl)[0] : undefined;
  if (!scopeName || scopeName.ns !== DAV || (scopeName.local !== 'exclusive' && scopeName.local !== 'shared')) {
    throw new DavStatus(400, 'lockscope must be exclusive or shared');
  }
  const typeEl = child(root, DAV, 'locktype');
  if (!typeEl || !is(elements(typeEl)[0], DAV, 'write')) throw new DavStatus(400, 'only write locks exist');
  return { scope: scopeName.local, owner: child(root, DAV, 'owner') };
}

function lockReply(dav: DavRequest, status: number, token: string, extraHeaders: Record<string, string> = {}): void {
  const lock = dav.state.locks.get(dav.tenant, token);
  if (!lock) throw new DavStatus(500, 'lock vanished');
  const xml = `<D:prop xmlns:D="DAV:"><D:lockdiscovery>${activeLockXml(dav, dav.state.locks, lock)}</D:lockdiscovery></D:prop>\n`;
  sendXml(dav.res, status, xml, extraHeaders);
}

export async function lock(dav: DavRequest): Promise<void> {
  const timeout = parseTimeout(typeof dav.req.headers.timeout === 'string' ? dav.req.headers.timeout : undefined);
  if (dav.body.length === 0) {
    // Refresh: the If header must submit a token of a lock that applies here (§9.10.2).
    const { submitted } = await checkIfHeader(dav);
    if (submitted.size === 0) throw new DavStatus(400, 'a LOCK refresh needs the lock token in an If header');
    const applying = dav.state.locks.covering(dav.tenant, dav.path).filter((l) => submitted.has(l.token) && l.principal === dav.principal);
    if (applying.length === 0) throw new DavStatus(412, 'no submitted lock token applies to this resource', { name: 'lock-token-matches-request-uri' });
    for (const l of applying) dav.state.locks.refresh(dav.tenant, l.token, timeout);
    lockReply(dav, 200, applying[0].token);
    return;
  }
  const info = parseLockInfo(dav.body);
  const depthHeader = String(dav.req.headers.depth ?? 'infinity').trim().toLowerCase();
  if (depthHeader !== '0' && depthHeader !== 'infinity') throw new DavStatus(400, 'LOCK Depth must be 0 or infinity');
  let depth: LockDepth = depthHeader === '0' ? 0 : 'infinity';
  if (dav.path === '/') throw new DavStatus(403, 'the root cannot be locked');
  const { submitted } = await checkIfHeader(dav);
  const conflicts = dav.state.locks.conflicts(dav.tenant, dav.path, depth, info.scope);
  if (conflicts.length > 0) throw new DavStatus(423, 'a conflicting lock exists', { name: 'no-conflicting-lock' });
  let st = await statOrNone(dav.view, dav.path);
  let created = false;
  if (!st) {
    // §7.3: LOCK on an unmapped URL creates an empty, locked resource. Creating it changes the
    // parent's membership, so the parent's locks must be honoured like for a PUT.
    checkLocks(dav, submitted, [{ path: dav.path, kind: 'bind' }]);
    try {
      // ifNoneMatch: a file that appeared meanwhile (a concurrent PUT) is kept, not emptied.
      await dav.view.write(dav.path, emptyBody(), { expectedSize: 0, ifNoneMatch: '*' });
      created = true;
    } catch (err) {
      if (toFsError(err).code !== 'EPRECONDITION') throw fsStatus(err, { ENOENT: 409 });
    }
    st = await statOrNone(dav.view, dav.path);
    if (!st) throw new DavStatus(500, 'created resource vanished');
  }
  if (st.type === 'file') depth = 0;
  // Checked again with no await before create: another LOCK may have won while the file was made.
  if (dav.state.locks.conflicts(dav.tenant, dav.path, depth, info.scope).length > 0) {
    throw new DavStatus(423, 'a conflicting lock exists', { name: 'no-conflicting-lock' });
  }
  const made = dav.state.locks.create(dav.tenant, {
    root: dav.path,
    rootIsCollection: st.type === 'dir',
    depth,
    scope: info.scope,
    owner: info.owner,
    timeoutSeconds: timeout,
    principal: dav.principal,
  });
  if (!made) throw new DavStatus(503, 'too many locks held');
  lockReply(dav, created ? 201 : 200, made.token, { 'Lock-Token': `<${made.token}>` });
}

export async function unlock(dav: DavRequest): Promise<void> {
  const header = dav.req.headers['lock-token'];
  const m = typeof header === 'string' ? /^\s*<([^>]+)>\s*$/.exec(header) : null;
  if (!m) throw new DavStatus(400, 'UNLOCK needs a Lock-Token header');
  const lock = dav.state.locks.get(dav.tenant, m[1]);
  const applies = lock && dav.state.locks.covering(dav.tenant, dav.path).some((l) => l.token === lock.token);
  if (!lock || !applies) throw new DavStatus(409, 'no such lock on this resource', { name: 'lock-token-matches-request-uri' });
  if (lock.principal !== dav.principal) throw new DavStatus(403, 'the lock belongs to another principal');
  dav.state.locks.remove(dav.tenant, lock.token);
  sendStatus(dav.res, 204);
}
