/**
 * Chunk and blob sealing (ARCHITECTURE §3). Everything here is synchronous and runs on whatever
 * thread calls it: the chunk codec calls it from its worker threads (backend/store/cpu-pool.ts),
 * so the gateway's main thread never pays for AES or HMAC over chunk data.
 *
 * Sealed chunk format (version 1):
 *   [version=1][flags] [12-byte nonce, only if flags & DEFLATE] [ciphertext] [16-byte GCM tag]
 *   flags bit 0 = DEFLATE: the payload is raw deflate of the plaintext; other bits must be 0.
 *   key   = HMAC-SHA256(contentKey, id)                      (convergent within a tenant)
 *   nonce = HMAC-SHA256(contentKey, "nonce" || id)[0..12]     when not deflated (derived, not stored)
 *         = HMAC-SHA256(contentKey, "nonce/deflate" || id || payload)[0..12]  when deflated (stored)
 *   AAD   = version || flags || id
 * Why the deflated case stores a payload-derived nonce: deflate output is not guaranteed to be the
 * same across zlib builds, so the same chunk id could later be sealed with a different payload; a
 * nonce derived from the id alone would then encrypt two different plaintexts under one (key, nonce)
 * pair, which GCM does not survive. Deriving it from the payload (SIV style) keeps the ciphertext
 * deterministic for identical payloads and unique otherwise.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { constants as zlibConstants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { StoreError } from '../core/errors.js';
import type { TenantKeys } from './keys.js';

export const CHUNK_FORMAT_VERSION = 1;
export const BLOB_FORMAT_VERSION = 1;
export const CHUNK_ID_BYTES = 32;

const FLAG_DEFLATE = 0x01;
const KNOWN_FLAGS = FLAG_DEFLATE;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** deflate only pays when it saves at least this fraction */
const MIN_SAVING = 1 / 8;
/** Level 1: on mixed data it keeps most of level 6's saving at 3–5× the speed; chunk compression
 *  must not become the slowest pipeline stage. */
const DEFLATE_LEVEL = 1;
/** An inflated chunk larger than this is treated as corrupt rather than allocated. */
export const MAX_INFLATED_CHUNK = 256 * 2 ** 20;
const PROBE_BYTES = 32 * 1024;

const NONCE_LABEL = Buffer.from('nonce', 'utf8');
const DEFLATE_NONCE_LABEL = Buffer.from('nonce/deflate', 'utf8');

export interface SealOptions {
  /** deflate first when that saves at least 1/8 (the flag is recorded in the sealed bytes) */
  compress?: boolean;
}

/** HMAC-SHA256(chunkIdKey, plaintext): 32 bytes. Keyed so chunk ids reveal nothing about content. */
export function chunkIdOf(keys: Pick<TenantKeys, 'chunkIdKey'>, plaintext: Uint8Array): Buffer {
  return createHmac('sha256', keys.chunkIdKey).update(plaintext).digest();
}

function checkId(id: Uint8Array): void {
  if (id.length !== CHUNK_ID_BYTES) throw new StoreError('Corrupt', `chunk id must be ${CHUNK_ID_BYTES} bytes, got ${id.length}`);
}

function chunkKey(keys: Pick<TenantKeys, 'contentKey'>, id: Uint8Array): Buffer {
  return createHmac('sha256', keys.contentKey).update(id).digest();
}

function aadOf(version: number, flags: number, id: Uint8Array): Buffer {
  const aad = Buffer.allocUnsafe(2 + id.length);
  aad[0] = version;
  aad[1] = flags;
  aad.set(id, 2);
  return aad;
}

/** Cheap look at a slice from the middle (headers of media files compress, their bodies do not)
 *  so incompressible chunks skip the full deflate pass. */
function worthDeflating(plaintext: Uint8Array): boolean {
  if (plaintext.length < 64) return false;
  if (plaintext.length <= PROBE_BYTES * 2) return true;
  const start = Math.floor((plaintext.length - PROBE_BYTES) / 2);
  const probe = plaintext.subarray(start, start + PROBE_BYTES);
  const z = deflateRawSync(probe, { level: DEFLATE_LEVEL });
  // a looser bar than MIN_SAVING: the probe only decides whether the full pass is worth trying
  return z.length <= probe.length * (1 - MIN_SAVING / 2);
}

/**
 * Seals one chunk. `id` MUST be chunkIdOf(keys, plaintext): the key and (undeflated) nonce are
 * derived from it, so sealing a different plaintext under the same id would reuse a (key, nonce)
 * pair. Same keys + same plaintext → same bytes; different tenants → unrelated bytes.
 */
export function sealChunk(keys: Pick<TenantKeys, 'contentKey'>, id: Uint8Array, plaintext: Uint8Array, options: SealOptions = {}): Buffer {
  const out = Buffer.allocUnsafe(sealedChunkBound(plaintext.length));
  return out.subarray(0, sealChunkInto(keys, id, plaintext, out, options).size);
}

/** The nonce of a chunk sealed without deflate: derived from its id, never stored. */
function idNonce(keys: Pick<TenantKeys, 'contentKey'>, id: Uint8Array): Buffer {
  return createHmac('sha256', keys.contentKey).update(NONCE_LABEL).update(id).digest().subarray(0, NONCE_BYTES);
}

/** The payload (deflated when that pays), its flags and the nonce for sealing one chunk. */
function prepareSeal(
  keys: Pick<TenantKeys, 'contentKey'>,
  id: Uint8Array,
  plaintext: Uint8Array,
  options: SealOptions,
): { flags: number; payload: Uint8Array; nonce: Buffer } {
  let flags = 0;
  let payload: Uint8Array = plaintext;
  if (options.compress && worthDeflating(plaintext)) {
    const z = deflateRawSync(plaintext, { level: DEFLATE_LEVEL, strategy: zlibConstants.Z_DEFAULT_STRATEGY });
    if (z.length <= plaintext.length * (1 - MIN_SAVING)) {
      flags = FLAG_DEFLATE;
      payload = z;
    }
  }
  const nonce =
    flags & FLAG_DEFLATE
      ? createHmac('sha256', keys.contentKey).update(DEFLATE_NONCE_LABEL).update(id).update(payload).digest().subarray(0, NONCE_BYTES)
      : idNonce(keys, id);
  return { flags, payload, nonce };
}

/** The most bytes sealChunk can produce for a plaintext of `length` bytes (a deflated payload is
 *  kept only when smaller than the plaintext). */
export function sealedChunkBound(length: number): number {
  return 2 + NONCE_BYTES + length + TAG_BYTES;
}

/** Bytes of ciphertext per cipher.update call in sealChunkInto: small enough that node's output
 *  buffer comes from warm allocator memory, large enough that the call overhead is noise. */
const SEAL_PIECE = 64 * 1024;

/**
 * sealChunk's bytes written into `target` (at least sealedChunkBound(plaintext.length) long) instead
 * of fresh memory; returns how many were written. Same rules and output as sealChunk (which is this
 * into a buffer of its own). `plaintext` may lie in `target` exactly where its ciphertext goes
 * (offset 2; the chunk codec seals in place): each piece is read before its ciphertext, which GCM
 * makes exactly as long, is written over it.
 */
export function sealChunkInto(
  keys: Pick<TenantKeys, 'contentKey'>,
  id: Uint8Array,
  plaintext: Uint8Array,
  target: Uint8Array,
  options: SealOptions = {},
): { size: number; compressed: boolean } {
  checkId(id);
  if (target.length < sealedChunkBound(plaintext.length)) throw new StoreError('InvalidArgument', 'seal target too small');
  const { flags, payload, nonce } = prepareSeal(keys, id, plaintext, options);
  const cipher = createCipheriv('aes-256-gcm', chunkKey(keys, id), nonce);
  cipher.setAAD(aadOf(CHUNK_FORMAT_VERSION, flags, id));
  target[0] = CHUNK_FORMAT_VERSION;
  target[1] = flags;
  let at = 2;
  if (flags & FLAG_DEFLATE) {
    target.set(nonce, at);
    at += NONCE_BYTES;
  }
  for (let off = 0; off < payload.length; off += SEAL_PIECE) {
    const out = cipher.update(payload.subarray(off, Math.min(payload.length, off + SEAL_PIECE)));
    target.set(out, at);
    at += out.length;
  }
  const rest = cipher.final();
  target.set(rest, at);
  at += rest.length;
  target.set(cipher.getAuthTag(), at);
  at += TAG_BYTES;
  return { size: at, compressed: flags === FLAG_DEFLATE };
}

/** Whether a sealed chunk holds deflated data (Corrupt when the header is not a known format). */
export function isSealedCompressed(sealed: Uint8Array): boolean {
  if (sealed.length < 2 + TAG_BYTES) throw new StoreError('Corrupt', `sealed chunk too short (${sealed.length} bytes)`);
  return checkSealedHeader(sealed[0], sealed[1], sealed.length);
}

function checkSealedHeader(version: number, flags: number, length: number): boolean {
  if (length < 2 + TAG_BYTES) throw new StoreError('Corrupt', `sealed chunk too short (${length} bytes)`);
  if (version !== CHUNK_FORMAT_VERSION) throw new StoreError('Corrupt', `unknown sealed chunk format version ${version}`);
  if (flags & ~KNOWN_FLAGS) throw new StoreError('Corrupt', `unknown sealed chunk flags 0x${flags.toString(16)}`);
  if (flags & FLAG_DEFLATE && length < 2 + NONCE_BYTES + TAG_BYTES) throw new StoreError('Corrupt', 'sealed chunk too short');
  return (flags & FLAG_DEFLATE) !== 0;
}

/** bytes [from, to) of the concatenation of `parts`, copied (for the few header and tag bytes) */
function gather(parts: readonly Uint8Array[], from: number, to: number): Buffer {
  const out = Buffer.alloc(to - from);
  let pos = 0;
  for (const p of parts) {
    const a = Math.max(from, pos);
    const b = Math.min(to, pos + p.length);
    if (b > a) out.set(p.subarray(a - pos, b - pos), a - from);
    pos += p.length;
  }
  return out;
}

/**
 * openChunk over sealed bytes given as consecutive parts (the data shards of a chunk, without
 * joining them first): the ciphertext is deciphered part by part into one plaintext buffer, so the
 * only chunk-sized allocation is the plaintext itself. Same errors as openChunk.
 */
export function openChunkParts(keys: Pick<TenantKeys, 'contentKey'>, id: Uint8Array, parts: readonly Uint8Array[]): Buffer {
  checkId(id);
  let size = 0;
  for (const p of parts) size += p.length;
  if (size < 2 + TAG_BYTES) throw new StoreError('Corrupt', `sealed chunk too short (${size} bytes)`);
  const head = gather(parts, 0, 2);
  // deflated chunks (a minority, and inflate wants its input whole) take the joined path
  if (checkSealedHeader(head[0], head[1], size)) return openChunk(keys, id, Buffer.concat(parts));
  const nonce = idNonce(keys, id);
  const decipher = createDecipheriv('aes-256-gcm', chunkKey(keys, id), nonce);
  decipher.setAAD(aadOf(head[0], head[1], id));
  decipher.setAuthTag(gather(parts, size - TAG_BYTES, size));
  const end = size - TAG_BYTES;
  const out = Buffer.allocUnsafeSlow(end - 2);
  let at = 0;
  let pos = 0;
  try {
    for (const p of parts) {
      const a = Math.max(2, pos);
      const b = Math.min(end, pos + p.length);
      for (let off = a; off < b; off += SEAL_PIECE) {
        const piece = decipher.update(p.subarray(off - pos, Math.min(b, off + SEAL_PIECE) - pos));
        out.set(piece, at);
        at += piece.length;
      }
      pos += p.length;
    }
    const rest = decipher.final();
    out.set(rest, at);
  } catch (err) {
    throw new StoreError('Corrupt', 'sealed chunk failed authentication (wrong id, damaged or tampered)', { cause: err });
  }
  return out;
}

/** The plaintext (inflated if it was deflated). Corrupt on any changed bit, a wrong id, a wrong
 *  version or wrong keys. */
export function openChunk(keys: Pick<TenantKeys, 'contentKey'>, id: Uint8Array, sealed: Uint8Array): Buffer {
  checkId(id);
  const deflated = isSealedCompressed(sealed);
  const flags = sealed[1];
  let offset = 2;
  let nonce: Uint8Array;
  if (deflated) {
    nonce = sealed.subarray(2, 2 + NONCE_BYTES);
    offset += NONCE_BYTES;
  } else {
    nonce = idNonce(keys, id);
  }
  const decipher = createDecipheriv('aes-256-gcm', chunkKey(keys, id), nonce);
  decipher.setAAD(aadOf(sealed[0], flags, id));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  let payload: Buffer;
  try {
    const body = decipher.update(sealed.subarray(offset, sealed.length - TAG_BYTES));
    const rest = decipher.final(); // empty for GCM: skip the copy a concat would make
    payload = rest.length ? Buffer.concat([body, rest]) : body;
  } catch (err) {
    throw new StoreError('Corrupt', 'sealed chunk failed authentication (wrong id, damaged or tampered)', { cause: err });
  }
  if (!deflated) return payload;
  try {
    return inflateRawSync(payload, { maxOutputLength: MAX_INFLATED_CHUNK });
  } catch (err) {
    throw new StoreError('Corrupt', 'sealed chunk payload does not inflate', { cause: err });
  }
}

/**
 * Random-nonce AES-256-GCM for small things (inline objects, metadata):
 * [version=1][12-byte nonce][ciphertext][16-byte tag], AAD = version || aad.
 * Random nonces are fine here: one key seals far fewer than 2^32 blobs.
 */
export function sealBlob(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const version = Buffer.from([BLOB_FORMAT_VERSION]);
  cipher.setAAD(Buffer.concat([version, aad]));
  return Buffer.concat([version, nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** Corrupt on a malformed blob, a wrong key, a wrong aad or any changed bit. */
export function openBlob(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  if (sealed.length < 1 + NONCE_BYTES + TAG_BYTES) throw new StoreError('Corrupt', `sealed blob too short (${sealed.length} bytes)`);
  if (sealed[0] !== BLOB_FORMAT_VERSION) throw new StoreError('Corrupt', `unknown sealed blob format version ${sealed[0]}`);
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 1 + NONCE_BYTES));
  decipher.setAAD(Buffer.concat([sealed.subarray(0, 1), aad]));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(1 + NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch (err) {
    throw new StoreError('Corrupt', 'sealed blob failed authentication', { cause: err });
  }
}
