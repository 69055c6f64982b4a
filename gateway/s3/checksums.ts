/**
 * The S3 additional checksums (S3 API reference, "Checking object integrity"): CRC32, CRC32C,
 * CRC64NVME, SHA1, SHA256, each as an incremental hasher whose digest is the big-endian raw value
 * S3 sends base64-encoded in `x-amz-checksum-*`.
 *
 * CRC32 uses node:zlib (native since Node 20.15). CRC32C and CRC64NVME have no native version in
 * Node 20, so they are table-driven here (slicing-by-8), with CRC64 split into two 32-bit halves so
 * the inner loop stays on small integers instead of BigInt.
 */
import { createHash, type Hash } from 'node:crypto';
import * as zlib from 'node:zlib';
import type { ChecksumAlgorithm } from '../../backend/core/object-store.js';

export const CHECKSUM_ALGORITHMS: readonly ChecksumAlgorithm[] = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'];

export interface Checksummer {
  update(data: Uint8Array): void;
  /** raw big-endian digest; call once */
  digest(): Buffer;
}

/** `x-amz-checksum-crc64nvme` ↔ 'CRC64NVME' */
export function checksumHeaderName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

export function parseChecksumAlgorithm(text: string | undefined): ChecksumAlgorithm | undefined {
  if (!text) return undefined;
  const up = text.toUpperCase();
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(up) ? (up as ChecksumAlgorithm) : undefined;
}

/** Expected raw digest length per algorithm (used to reject malformed header values). */
export function digestLength(algorithm: ChecksumAlgorithm): number {
  switch (algorithm) {
    case 'CRC32':
    case 'CRC32C':
      return 4;
    case 'CRC64NVME':
      return 8;
    case 'SHA1':
      return 20;
    case 'SHA256':
      return 32;
  }
}

// ---- CRC32C (Castagnoli, reflected polynomial 0x82F63B78) ----------------------------------------
const CRC32C_TABLES: Uint32Array[] = (() => {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    tables[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = tables[0][n];
    for (let t = 1; t < 8; t++) {
      c = tables[0][c & 0xff] ^ (c >>> 8);
      tables[t][n] = c >>> 0;
    }
  }
  return tables;
})();

export function crc32cUpdate(crc: number, data: Uint8Array): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC32C_TABLES;
  let c = ~crc >>> 0;
  let i = 0;
  const n = data.length;
  for (; i + 8 <= n; i += 8) {
    const a = (c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24))) >>> 0;
    c =
      t7[a & 0xff] ^
      t6[(a >>> 8) & 0xff] ^
      t5[(a >>> 16) & 0xff] ^
      t4[a >>> 24] ^
      t3[data[i + 4]] ^
      t2[data[i + 5]] ^
      t1[data[i + 6]] ^
      t0[data[i + 7]];
  }
  for (; i < n; i++) c = t0[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ---- CRC64NVME (reflected polynomial 0x9A6C9329AC4BC9B5, init and xorout all ones) ---------------
// Each table entry is stored as two 32-bit halves: HI[t][n], LO[t][n].
const CRC64_HI: Uint32Array[] = Array.from({ length: 8 }, () => new Uint32Array(256));
const CRC64_LO: Uint32Array[] = Array.from({ length: 8 }, () => new Uint32Array(256));
(() => {
  const polyHi = 0x9a6c9329;
  const polyLo = 0xac4bc9b5;
  for (let n = 0; n < 256; n++) {
    let hi = 0;
    let lo = n;
    for (let k = 0; k < 8; k++) {
      const bit = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi = hi >>> 1;
      if (bit) {
        hi = (hi ^ polyHi) >>> 0;
        lo = (lo ^ polyLo) >>> 0;
      }
    }
    CRC64_HI[0][n] = hi;
    CRC64_LO[0][n] = lo;
  }
  for (let n = 0; n < 256; n++) {
    let hi = CRC64_HI[0][n];
    let lo = CRC64_LO[0][n];
    for (let t = 1; t < 8; t++) {
      const idx = lo & 0xff;
      // (crc >>> 8) ^ T0[crc & 0xff]
      const shLo = ((lo >>> 8) | ((hi & 0xff) << 24)) >>> 0;
      const shHi = hi >>> 8;
      hi = (CRC64_HI[0][idx] ^ shHi) >>> 0;
      lo = (CRC64_LO[0][idx] ^ shLo) >>> 0;
      CRC64_HI[t][n] = hi;
      CRC64_LO[t][n] = lo;
    }
  }
})();

/** state is [hi, lo] of the running (already inverted) register */
function crc64Update(state: [number, number], data: Uint8Array): void {
  const [h0, h1, h2, h3, h4, h5, h6, h7] = CRC64_HI;
  const [l0, l1, l2, l3, l4, l5, l6, l7] = CRC64_LO;
  let hi = state[0];
  let lo = state[1];
  let i = 0;
  const n = data.length;
  for (; i + 8 <= n; i += 8) {
    // XOR 8 little-endian input bytes into the register, then look up each byte in its table.
    const a = (lo ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24))) >>> 0;
    const b = (hi ^ (data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24))) >>> 0;
    const b0 = a & 0xff;
    const b1 = (a >>> 8) & 0xff;
    const b2 = (a >>> 16) & 0xff;
    const b3 = a >>> 24;
    const b4 = b & 0xff;
    const b5 = (b >>> 8) & 0xff;
    const b6 = (b >>> 16) & 0xff;
    const b7 = b >>> 24;
    hi = (h7[b0] ^ h6[b1] ^ h5[b2] ^ h4[b3] ^ h3[b4] ^ h2[b5] ^ h1[b6] ^ h0[b7]) >>> 0;
    lo = (l7[b0] ^ l6[b1] ^ l5[b2] ^ l4[b3] ^ l3[b4] ^ l2[b5] ^ l1[b6] ^ l0[b7]) >>> 0;
  }
  for (; i < n; i++) {
    const idx = (lo ^ data[i]) & 0xff;
    const shLo = ((lo >>> 8) | ((hi & 0xff) << 24)) >>> 0;
    const shHi = hi >>> 8;
    hi = (h0[idx] ^ shHi) >>> 0;
    lo = (l0[idx] ^ shLo) >>> 0;
  }
  state[0] = hi;
  state[1] = lo;
}

class Crc32Hasher implements Checksummer {
  #crc = 0;
  update(data: Uint8Array): void {
    this.#crc = zlib.crc32(data, this.#crc);
  }
  digest(): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(this.#crc >>> 0);
    return b;
  }
}

class Crc32cHasher implements Checksummer {
  #crc = 0;
  update(data: Uint8Array): void {
    this.#crc = crc32cUpdate(this.#crc, data);
  }
  digest(): Buffer {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(this.#crc >>> 0);
    return b;
  }
}

class Crc64NvmeHasher implements Checksummer {
  readonly #state: [number, number] = [0xffffffff, 0xffffffff];
  update(data: Uint8Array): void {
    crc64Update(this.#state, data);
  }
  digest(): Buffer {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(~this.#state[0] >>> 0, 0);
    b.writeUInt32BE(~this.#state[1] >>> 0, 4);
    return b;
  }
}

class CryptoHasher implements Checksummer {
  readonly #hash: Hash;
  constructor(alg: string) {
    this.#hash = createHash(alg);
  }
  update(data: Uint8Array): void {
    this.#hash.update(data);
  }
  digest(): Buffer {
    return this.#hash.digest();
  }
}

export function createChecksummer(algorithm: ChecksumAlgorithm): Checksummer {
  switch (algorithm) {
    case 'CRC32':
      return new Crc32Hasher();
    case 'CRC32C':
      return new Crc32cHasher();
    case 'CRC64NVME':
      return new Crc64NvmeHasher();
    case 'SHA1':
      return new CryptoHasher('sha1');
    case 'SHA256':
      return new CryptoHasher('sha256');
  }
}

export function checksumOf(algorithm: ChecksumAlgorithm, data: Uint8Array): Buffer {
  const h = createChecksummer(algorithm);
  h.update(data);
  return h.digest();
}

/** S3's multipart COMPOSITE checksum: checksum of the concatenated raw part checksums, then `-N`. */
export function compositeChecksum(algorithm: ChecksumAlgorithm, partValuesBase64: string[]): string {
  const h = createChecksummer(algorithm);
  for (const v of partValuesBase64) h.update(Buffer.from(v, 'base64'));
  return `${h.digest().toString('base64')}-${partValuesBase64.length}`;
}

// ---- CRC combination (zlib's crc32_combine method, generalised to 64 bits) -----------------------
// Lets a multipart upload report the FULL_OBJECT CRC of the assembled object from its parts' CRCs
// and sizes, without reading the data again. Works on finalised values because the CRCs here all
// use init = xorout = all ones, whose effects cancel in the combination.
interface CrcSpec {
  width: bigint;
  poly: bigint;
}
const CRC_SPECS: Partial<Record<ChecksumAlgorithm, CrcSpec>> = {
  CRC32: { width: 32n, poly: 0xedb88320n },
  CRC32C: { width: 32n, poly: 0x82f63b78n },
  CRC64NVME: { width: 64n, poly: 0x9a6c9329ac4bc9b5n },
};

function multModP(spec: CrcSpec, a: bigint, b: bigint): bigint {
  let m = 1n << (spec.width - 1n);
  let p = 0n;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1n)) === 0n) break;
    }
    m >>= 1n;
    b = b & 1n ? (b >> 1n) ^ spec.poly : b >> 1n;
  }
  return p;
}

/** x^(8·bytes) mod P in the reflected representation */
function xPowBytes(spec: CrcSpec, bytes: number): bigint {
  let p = 1n << (spec.width - 1n);
  let sq = 1n << (spec.width - 2n); // x^1
  let n = BigInt(bytes) * 8n;
  while (n > 0n) {
    if (n & 1n) p = multModP(spec, sq, p);
    sq = multModP(spec, sq, sq);
    n >>= 1n;
  }
  return p;
}

export function isCrcAlgorithm(algorithm: ChecksumAlgorithm): boolean {
  return CRC_SPECS[algorithm] !== undefined;
}

/** CRC of A‖B from CRC(A), CRC(B) and |B|; raw big-endian digests in and out. */
export function crcCombine(algorithm: ChecksumAlgorithm, crcA: Buffer, crcB: Buffer, lengthB: number): Buffer {
  const spec = CRC_SPECS[algorithm];
  if (!spec) throw new RangeError(`${algorithm} is not a CRC`);
  const a = BigInt(`0x${crcA.toString('hex')}`);
  const b = BigInt(`0x${crcB.toString('hex')}`);
  const c = multModP(spec, xPowBytes(spec, lengthB), a) ^ b;
  const out = Buffer.alloc(Number(spec.width / 8n));
  const hex = c.toString(16).padStart(out.length * 2, '0');
  out.write(hex, 'hex');
  return out;
}
