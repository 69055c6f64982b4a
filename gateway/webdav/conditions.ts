/**
 * The two checks every changing request goes through before it touches the store:
 *  1. the If header, when present, must evaluate true (RFC 4918 §10.4) — else 412;
 *  2. every lock that protects a resource the request changes must have its token submitted
 *     (§6.4, §7.5) — else 423 with DAV:lock-token-submitted naming the lock roots.
 */
import { evaluateIf, IfHeaderError, parseIfHeader, submittedTokens, type IfList } from './if-header.js';
import type { Lock } from './locks.js';
import { DavStatus, etagOf, hrefOf, parentOf, statOrNone, urlToPath, type DavRequest } from './request.js';

export interface IfOutcome {
  lists: IfList[];
  submitted: Set<string>;
}

/** Parses and evaluates the If header; throws 400 when malformed, 412 when false. */
export async function checkIfHeader(dav: DavRequest): Promise<IfOutcome> {
  const header = dav.req.headers.if;
  if (typeof header !== 'string' || header.trim() === '') return { lists: [], submitted: new Set() };
  let lists: IfList[];
  try {
    lists = parseIfHeader(header);
  } catch (err) {
    if (err instanceof IfHeaderError) throw new DavStatus(400, `malformed If header: ${err.message}`);
    throw err;
  }
  const ok = await evaluateIf(lists, async (resource) => {
    let path: string | undefined = dav.path;
    if (resource !== undefined) {
      try {
        path = urlToPath(resource, dav.prefix);
      } catch {
        path = undefined;
      }
    }
    // A tag naming something outside this server's namespace matches no state (§10.4.2).
    if (path === undefined) return { lockTokens: new Set<string>() };
    const st = await statOrNone(dav.view, path);
    const lockTokens = new Set(dav.state.locks.covering(dav.tenant, path).map((l) => l.token));
    return { etag: st ? etagOf(st) : undefined, lockTokens };
  });
  if (!ok) throw new DavStatus(412, 'If header precondition failed');
  return { lists, submitted: submittedTokens(lists) };
}

export interface WriteTarget {
  path: string;
  /** 'member': the resource itself changes (PUT over a file, PROPPATCH).
   *  'bind': it appears or disappears in its parent (PUT new, MKCOL, DELETE, MOVE, COPY target),
   *  which also changes the parent's membership, protected by a depth-0 lock on the parent (§7.5).
   *  'tree': like bind, and everything below it goes too (DELETE / MOVE / overwrite of a folder). */
  kind: 'member' | 'bind' | 'tree';
}

/** Throws 423 unless every lock protecting one of the targets has a submitted token. */
export function checkLocks(dav: DavRequest, submitted: Set<string>, targets: WriteTarget[]): void {
  const { locks } = dav.state;
  const missing: Lock[] = [];
  const need = (applying: Lock[]): void => {
    // Any one of the locks on a resource will do (several shared locks may hold it, §6.2).
    // A token counts only for the principal that created the lock (§6.4): lock discovery shows
    // tokens to every reader, and under --anonymous rw anonymous requests share the tenant.
    if (applying.length > 0 && !applying.some((l) => submitted.has(l.token) && l.principal === dav.principal)) missing.push(applying[0]);
  };
  for (const t of targets) {
    need(locks.covering(dav.tenant, t.path));
    if (t.kind !== 'member' && t.path !== '/') {
      const parent = parentOf(t.path);
      need(locks.covering(dav.tenant, parent).filter((l) => l.root === parent && l.depth === 0));
    }
    if (t.kind === 'tree') {
      for (const l of locks.within(dav.tenant, t.path)) if (l.root !== t.path) need([l]);
    }
  }
  if (missing.length > 0) {
    const hrefs = [...new Set(missing.map((l) => hrefOf(dav.prefix, l.root, l.rootIsCollection)))];
    throw new DavStatus(423, 'resource is locked', { name: 'lock-token-submitted', hrefs });
  }
}
