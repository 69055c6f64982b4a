/**
 * Tenant key hierarchy (ARCHITECTURE §3): secret key → KEK (PBKDF2) → wrapped master key → HKDF
 * subkeys, one per purpose. The KEK is derived once when a tenant is opened and never stored; only
 * the wrapped master key is. Changing the secret re-wraps the master key, so no data is re-encrypted.
 */
import { createCipheriv, createDecipheriv, hkdfSync, pbkdf2, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { StoreError } from '../core/errors.js';

const pbkdf2Async = promisify(pbkdf2);

/** OWASP's 2023 figure for PBKDF2-HMAC-SHA256. */
export const DEFAULT_KDF_ITERATIONS = 600_000;
/** Upper bound accepted from a stored blob: the count is attacker-writable wherever the blob is
 *  stored, and an absurd one would turn unwrapping into a denial of service. */
export const MAX_KDF_ITERATIONS = 20_000_000;

export const WRAP_FORMAT_VERSION = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + 4 + SALT_BYTES;
/** [version][u32 iterations BE][salt][nonce][ciphertext of the 32-byte key][tag] */
const WRAPPED_BYTES = HEADER_BYTES + NONCE_BYTES + KEY_BYTES + TAG_BYTES;

/** All 32 bytes each, all derived from one master key; none of them is ever stored. */
export interface TenantKeys {
  /** keys the content-defined chunker, so boundaries cannot fingerprint known files */
  chunkerSeed: Buffer;
  /** HMAC key of chunk ids */
  chunkIdKey: Buffer;
  /** derives per-chunk AES keys and nonces */
  contentKey: Buffer;
  /** seals index metadata and inline objects */
  metadataKey: Buffer;
}

export function createMasterKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

function checkIterations(iterations: number): void {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_KDF_ITERATIONS) {
    throw new StoreError('InvalidArgument', `PBKDF2 iterations must be an integer in 1..${MAX_KDF_ITERATIONS}, got ${iterations}`);
  }
}

async function kek(secret: string, salt: Buffer, iterations: number): Promise<Buffer> {
  // The callback form runs on the libuv pool: 600k iterations take ~0.3 s, which must not block the loop.
  return pbkdf2Async(Buffer.from(secret, 'utf8'), salt, iterations, KEY_BYTES, 'sha256');
}

/**
 * Wraps `master` (32 bytes) under a KEK derived from `secret` with a fresh random salt.
 * Returns [version=1][u32 iterations][16-byte salt][12-byte nonce][ciphertext][16-byte tag]; the
 * header is the GCM AAD, so the iteration count and salt cannot be altered undetected.
 */
export async function wrapMasterKey(master: Buffer, secret: string, iterations = DEFAULT_KDF_ITERATIONS): Promise<Buffer> {
  if (master.length !== KEY_BYTES) throw new StoreError('InvalidArgument', `master key must be ${KEY_BYTES} bytes, got ${master.length}`);
  checkIterations(iterations);
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = WRAP_FORMAT_VERSION;
  header.writeUInt32BE(iterations, 1);
  randomBytes(SALT_BYTES).copy(header, 5);
  const key = await kek(secret, header.subarray(5), iterations);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(header);
  const ct = Buffer.concat([cipher.update(master), cipher.final()]);
  return Buffer.concat([header, nonce, ct, cipher.getAuthTag()]);
}

/** AccessDenied when the secret is wrong (or the blob was tampered with: GCM cannot tell the two
 *  apart); Corrupt when the blob is not a wrapped key of a known format. */
export async function unwrapMasterKey(wrapped: Buffer, secret: string): Promise<Buffer> {
  if (wrapped.length !== WRAPPED_BYTES) throw new StoreError('Corrupt', `wrapped master key must be ${WRAPPED_BYTES} bytes, got ${wrapped.length}`);
  if (wrapped[0] !== WRAP_FORMAT_VERSION) throw new StoreError('Corrupt', `unknown wrapped key format version ${wrapped[0]}`);
  const iterations = wrapped.readUInt32BE(1);
  if (iterations < 1 || iterations > MAX_KDF_ITERATIONS) throw new StoreError('Corrupt', `implausible PBKDF2 iteration count ${iterations}`);
  const header = wrapped.subarray(0, HEADER_BYTES);
  const nonce = wrapped.subarray(HEADER_BYTES, HEADER_BYTES + NONCE_BYTES);
  const ct = wrapped.subarray(HEADER_BYTES + NONCE_BYTES, HEADER_BYTES + NONCE_BYTES + KEY_BYTES);
  const tag = wrapped.subarray(WRAPPED_BYTES - TAG_BYTES);
  const key = await kek(secret, header.subarray(5), iterations);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce);
  decipher.setAAD(header);
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(ct), decipher.final()]);
  } catch (err) {
    throw new StoreError('AccessDenied', 'wrong secret key for this tenant', { cause: err });
  }
}

/** The same master key under a new secret and a new salt: nothing encrypted with it changes. */
export async function rewrapMasterKey(wrapped: Buffer, oldSecret: string, newSecret: string, iterations = DEFAULT_KDF_ITERATIONS): Promise<Buffer> {
  const master = await unwrapMasterKey(wrapped, oldSecret);
  try {
    return await wrapMasterKey(master, newSecret, iterations);
  } finally {
    master.fill(0);
  }
}

const SUBKEY_INFO = {
  chunkerSeed: 'peerstor/v1/chunker',
  chunkIdKey: 'peerstor/v1/chunk-id',
  contentKey: 'peerstor/v1/content',
  metadataKey: 'peerstor/v1/metadata',
} as const satisfies Record<keyof TenantKeys, string>;

/** HKDF-SHA256 (RFC 5869) with a distinct info string per purpose, so no subkey reveals another. */
export function deriveTenantKeys(master: Buffer): TenantKeys {
  if (master.length !== KEY_BYTES) throw new StoreError('InvalidArgument', `master key must be ${KEY_BYTES} bytes, got ${master.length}`);
  const salt = Buffer.from('peerstor/v1/tenant-keys', 'utf8');
  const derive = (info: string): Buffer => Buffer.from(hkdfSync('sha256', master, salt, info, KEY_BYTES));
  return {
    chunkerSeed: derive(SUBKEY_INFO.chunkerSeed),
    chunkIdKey: derive(SUBKEY_INFO.chunkIdKey),
    contentKey: derive(SUBKEY_INFO.contentKey),
    metadataKey: derive(SUBKEY_INFO.metadataKey),
  };
}
