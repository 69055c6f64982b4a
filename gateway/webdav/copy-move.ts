/**
 * COPY and MOVE (RFC 4918 §9.8, §9.9). MOVE is a metadata rename in the store, COPY shares
 * chunks (path view). Dead properties go along (§9.8.2, §9.9.1); locks do not: a lock stays
 * with its URL (§7.5) — the moved source's locks are dropped, the copy is not locked by the
 * source's locks, and a lock on an overwritten destination URL keeps protecting it.
 *
 * Status: 201 new destination, 204 replaced one, 412 Overwrite: F onto an existing one, 409 a
 * missing destination parent, 403 source = destination, 502 a destination on another server.
 */
import { checkIfHeader, checkLocks, type WriteTarget } from './conditions.js';
import { DavStatus, fsStatus, sendStatus, statOrNone, urlToPath, type DavRequest } from './request.js';

export async function copyOrMove(dav: DavRequest, move: boolean): Promise<void> {
  const { req } = dav;
  const destHeader = req.headers.destination;
  if (typeof destHeader !== 'string' || destHeader === '') throw new DavStatus(400, 'Destination header missing');
  let dest: string | undefined;
  try {
    dest = urlToPath(destHeader.trim(), dav.prefix);
  } catch (err) {
    throw fsStatus(err);
  }
  if (dest === undefined) throw new DavStatus(502, 'Destination is not on this server');
  const overwriteHeader = String(req.headers.overwrite ?? 'T').trim().toUpperCase();
  if (overwriteHeader !== 'T' && overwriteHeader !== 'F') throw new DavStatus(400, 'Overwrite must be T or F');
  const overwrite = overwriteHeader === 'T';
  const depthHeader = String(req.headers.depth ?? 'infinity').trim().toLowerCase();
  if (depthHeader !== '0' && depthHeader !== 'infinity') throw new DavStatus(400, 'Depth must be 0 or infinity');
  // §9.9.2: a MOVE of a collection always acts as Depth: infinity.
  if (move && depthHeader === '0') throw new DavStatus(400, 'MOVE needs Depth: infinity');
  const depth = depthHeader === '0' ? 0 : 'infinity';

  if (dav.path === '/' || dest === '/') throw new DavStatus(403, 'the root cannot be copied or moved');
  const src = await statOrNone(dav.view, dav.path);
  if (!src) throw new DavStatus(404, 'no such resource');
  if (dest === dav.path) throw new DavStatus(403, 'source and destination are the same');
  if (src.type === 'dir' && dest.startsWith(`${dav.path}/`)) throw new DavStatus(403, 'cannot copy or move a collection into itself');
  const existing = await statOrNone(dav.view, dest);
  if (existing && !overwrite) throw new DavStatus(412, 'destination exists and Overwrite is F');

  const { submitted } = await checkIfHeader(dav);
  const targets: WriteTarget[] = [{ path: dest, kind: existing ? 'tree' : 'bind' }];
  if (move) targets.push({ path: dav.path, kind: 'tree' });
  checkLocks(dav, submitted, targets);
  if (dav.view.readOnly) throw new DavStatus(403, 'read-only access');

  const { props, locks } = dav.state;
  try {
    if (existing) {
      await dav.view.removeTree(dest);
      props.drop(dav.tenant, dest);
      locks.dropBelow(dav.tenant, dest);
    }
    if (move) {
      await dav.view.rename(dav.path, dest, { overwrite: true });
      props.carry(dav.tenant, dav.path, dest, true);
      locks.dropWithin(dav.tenant, dav.path);
    } else {
      if (src.type === 'dir' && depth === 0) await dav.view.mkdir(dest);
      else await dav.view.copy(dav.path, dest, { overwrite: true });
      props.carry(dav.tenant, dav.path, dest, false, depth);
    }
  } catch (err) {
    // The destination's parent is missing: §9.8.5 / §9.9.4 say 409.
    throw fsStatus(err, { ENOENT: 409 });
  }
  sendStatus(dav.res, existing ? 204 : 201);
}
