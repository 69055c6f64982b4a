/** Fragment id helpers shared by every implementation and decorator in this folder. */
import { createHash } from 'node:crypto';
import { StoreError } from '../core/errors.js';
import type { FragmentId } from '../core/fragment-store.js';

const ID_RE = /^[0-9a-f]{64}$/;

export function isFragmentId(id: unknown): id is FragmentId {
  return typeof id === 'string' && ID_RE.test(id);
}

/** InvalidArgument unless `id` is 64 lower-case hex characters; ids become file names, so this
 *  check is what keeps `../` and friends out of the volume. */
export function assertFragmentId(id: unknown): asserts id is FragmentId {
  if (!isFragmentId(id)) {
    const shown = typeof id === 'string' ? JSON.stringify(id.length > 80 ? `${id.slice(0, 80)}…` : id) : typeof id;
    throw new StoreError('InvalidArgument', `not a fragment id (64 lower-case hex characters): ${shown}`);
  }
}

/** Lower-case hex SHA-256 of exactly the bytes of the view (not its whole underlying buffer). */
export function fragmentIdOf(data: Uint8Array): FragmentId {
  return createHash('sha256').update(data).digest('hex');
}

/** A Buffer sharing memory with `data` (no copy). */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
