/**
 * PUT (RFC 9110 §9.3.4, RFC 4918 §9.7), DELETE (§9.6) and MKCOL (§9.3) over the path view. Each
 * checks the If header and the locks it must honour before it changes anything.
 */
import type { PutOptions } from '../../backend/core/object-store.js';
import { checkIfHeader, checkLocks } from './conditions.js';
import { DavStatus, fsStatus, sendStatus, statOrNone, type DavRequest } from './request.js';

function unquote(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

export async function put(dav: DavRequest): Promise<void> {
  const { req } = dav;
  // RFC 9110 §14.5: a partial PUT must not be taken for a whole one.
  if (req.headers['content-range']) throw new DavStatus(400, 'partial PUT (Content-Range) is not supported');
  const st = await statOrNone(dav.view, dav.path);
  if (st?.type === 'dir') throw new DavStatus(405, 'a collection cannot be PUT');
  const { submitted } = await checkIfHeader(dav);
  checkLocks(dav, submitted, [{ path: dav.path, kind: st ? 'member' : 'bind' }]);
  const options: PutOptions = {};
  const length = req.headers['content-length'];
  if (length !== undefined && !req.headers['transfer-encoding']) options.expectedSize = Number(length);
  const type = req.headers['content-type'];
  if (type) options.headers = { contentType: type };
  const ifMatch = req.headers['if-match'];
  if (typeof ifMatch === 'string' && ifMatch.trim() !== '*') options.ifMatch = unquote(ifMatch);
  else if (ifMatch !== undefined && !st) throw new DavStatus(412, 'If-Match: * on a missing resource');
  if (req.headers['if-none-match']?.trim() === '*') options.ifNoneMatch = '*';
  try {
    const info = await dav.view.write(dav.path, req, options);
    sendStatus(dav.res, st ? 204 : 201, { ETag: `"${info.etag}"` });
  } catch (err) {
    // A missing parent folder (or bucket) is a conflict for PUT (RFC 4918 §9.7.1).
    throw fsStatus(err, { ENOENT: 409 });
  }
}

export async function del(dav: DavRequest): Promise<void> {
  if (dav.path === '/') throw new DavStatus(403, 'the root cannot be deleted');
  const st = await statOrNone(dav.view, dav.path);
  if (!st) throw new DavStatus(404, 'no such resource');
  const { submitted } = await checkIfHeader(dav);
  checkLocks(dav, submitted, [{ path: dav.path, kind: 'tree' }]);
  try {
    await dav.view.removeTree(dav.path);
  } catch (err) {
    throw fsStatus(err);
  }
  dav.state.props.drop(dav.tenant, dav.path);
  dav.state.locks.dropWithin(dav.tenant, dav.path);
  sendStatus(dav.res, 204);
}

export async function mkcol(dav: DavRequest): Promise<void> {
  if (dav.body.length > 0) {
    // §9.3: a MKCOL body this server does not understand → 415.
    throw new DavStatus(415, 'MKCOL with a body is not supported');
  }
  if (await statOrNone(dav.view, dav.path)) throw new DavStatus(405, 'already exists');
  const { submitted } = await checkIfHeader(dav);
  checkLocks(dav, submitted, [{ path: dav.path, kind: 'bind' }]);
  try {
    await dav.view.mkdir(dav.path);
  } catch (err) {
    throw fsStatus(err, { ENOENT: 409, EEXIST: 405 });
  }
  sendStatus(dav.res, 201);
}
