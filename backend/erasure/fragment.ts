/**
 * The bytes a storage peer holds: one RS shard behind a 4-byte header. Peers learn nothing from
 * them: the shard is a slice of AES-GCM ciphertext (or parity of it), and the header says only how
 * the chunk was coded. A fragment's id is the SHA-256 of these bytes.
 */
import { createHash } from 'node:crypto';
import { StoreError } from '../core/errors.js';

export const FRAGMENT_FORMAT_VERSION = 1;
export const FRAGMENT_HEADER_BYTES = 4;

export interface FragmentHeader {
  k: number;
  n: number;
  /** 0..k-1 data shard, k..n-1 parity shard */
  index: number;
}

function checkHeader(h: FragmentHeader, code: 'Corrupt' | 'InvalidArgument'): void {
  const { k, n, index } = h;
  const ok = [k, n, index].every((v) => Number.isInteger(v) && v >= 0 && v <= 255) && k >= 1 && k < n && index < n;
  if (!ok) throw new StoreError(code, `bad fragment header k=${k} n=${n} index=${index}`);
}

/** [version][k][n][index][shard] */
export function encodeFragment(h: FragmentHeader, shard: Uint8Array): Buffer {
  checkHeader(h, 'InvalidArgument');
  const out = Buffer.allocUnsafe(FRAGMENT_HEADER_BYTES + shard.length);
  writeFragmentHeader(out, 0, h);
  out.set(shard, FRAGMENT_HEADER_BYTES);
  return out;
}

/** Writes the 4 header bytes at `offset` (for callers laying several fragments out in one buffer). */
export function writeFragmentHeader(target: Uint8Array, offset: number, h: FragmentHeader): void {
  checkHeader(h, 'InvalidArgument');
  target[offset] = FRAGMENT_FORMAT_VERSION;
  target[offset + 1] = h.k;
  target[offset + 2] = h.n;
  target[offset + 3] = h.index;
}

/** Corrupt on a short buffer, an unknown version or an impossible header. `shard` is a view, not a copy. */
export function decodeFragment(buf: Uint8Array): FragmentHeader & { shard: Buffer } {
  if (buf.length < FRAGMENT_HEADER_BYTES) throw new StoreError('Corrupt', `fragment too short (${buf.length} bytes)`);
  if (buf[0] !== FRAGMENT_FORMAT_VERSION) throw new StoreError('Corrupt', `unknown fragment format version ${buf[0]}`);
  const h = { k: buf[1], n: buf[2], index: buf[3] };
  checkHeader(h, 'Corrupt');
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return { ...h, shard: b.subarray(FRAGMENT_HEADER_BYTES) };
}

/** lower-case hex SHA-256: the only name a peer ever sees */
export function fragmentIdOf(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}
