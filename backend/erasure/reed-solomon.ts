/**
 * Reed-Solomon over GF(2^8) through @ronomon/reed-solomon (native, Cauchy bit matrices). Its encode
 * runs on the libuv pool, so awaiting it never blocks the calling thread's event loop.
 *
 * ronomon's model: the k data shards lie back to back in one buffer and the m parity shards in
 * another, every shard the same size, a multiple of 8 bytes. `sources` and `targets` are bit sets of
 * shard indexes (data 0..k-1, parity k..k+m-1); any ≥ k sources rebuild up to m targets.
 */
import { createRequire } from 'node:module';
import { StoreError } from '../core/errors.js';

interface Ronomon {
  MAX_K: number;
  MAX_M: number;
  create(k: number, m: number): Buffer;
  encode(
    context: Buffer,
    sources: number,
    targets: number,
    buffer: Buffer,
    bufferOffset: number,
    bufferSize: number,
    parity: Buffer,
    parityOffset: number,
    paritySize: number,
    end: (error?: Error) => void,
  ): void;
}

// The package's main is a .node binary, which ESM cannot import.
const ronomon = createRequire(import.meta.url)('@ronomon/reed-solomon') as Ronomon;

export interface ErasureParams {
  /** data shards: any k of the n fragments rebuild the chunk */
  k: number;
  /** total shards (data + parity) */
  n: number;
}

export const DEFAULT_ERASURE: ErasureParams = Object.freeze({ k: 10, n: 16 });
/** most parity shards ronomon supports */
export const MAX_PARITY = ronomon.MAX_M;
/** most data shards ronomon supports */
export const MAX_DATA = ronomon.MAX_K;

function runEncode(
  context: Buffer,
  sources: number,
  targets: number,
  data: Buffer,
  parity: Buffer,
): Promise<void> {
  return new Promise((resolve, reject) => {
    try {
      ronomon.encode(context, sources, targets, data, 0, data.length, parity, 0, parity.length, (error) =>
        error ? reject(new StoreError('Internal', 'Reed-Solomon coding failed', { cause: error })) : resolve(),
      );
    } catch (err) {
      reject(new StoreError('Internal', 'Reed-Solomon coding rejected its arguments', { cause: err }));
    }
  });
}

/**
 * Safe to share: encode/decode/reconstruct may run concurrently. Returned shards may be views into
 * one larger buffer (so keeping one shard alive keeps its siblings' memory alive too).
 */
export class ErasureCoder {
  readonly params: ErasureParams;
  readonly #k: number;
  readonly #m: number;
  readonly #context: Buffer;

  constructor(params: ErasureParams) {
    const { k, n } = params;
    if (!Number.isInteger(k) || !Number.isInteger(n) || k < 1 || k >= n || k > MAX_DATA || n - k > MAX_PARITY) {
      throw new StoreError(
        'InvalidArgument',
        `erasure code (k=${k}, n=${n}) unsupported: need integers 1 ≤ k ≤ ${MAX_DATA}, k < n ≤ k + ${MAX_PARITY}`,
      );
    }
    this.params = Object.freeze({ k, n });
    this.#k = k;
    this.#m = n - k;
    this.#context = ronomon.create(k, this.#m);
  }

  /** ceil(length / k) rounded up to a multiple of 8 (ronomon's rule), at least 8. */
  shardSize(length: number): number {
    return Math.max(8, Math.ceil(Math.ceil(length / this.#k) / 8) * 8);
  }

  /** n shards of shardSize(data.length) bytes: 0..k-1 data (zero padded), k..n-1 parity.
   *  `data` may be given as consecutive parts (it is copied into place either way). */
  async encode(data: Uint8Array | readonly Uint8Array[]): Promise<Buffer[]> {
    const parts = data instanceof Uint8Array ? [data] : data;
    let length = 0;
    for (const p of parts) length += p.length;
    const size = this.shardSize(length);
    const dataBuf = Buffer.allocUnsafe(size * this.#k);
    let off = 0;
    for (const p of parts) {
      dataBuf.set(p, off);
      off += p.length;
    }
    dataBuf.fill(0, length);
    const parity = Buffer.allocUnsafe(size * this.#m);
    await this.encodeInto(dataBuf, parity, size);
    return this.#split(dataBuf, parity, size);
  }

  /**
   * Parity into caller-owned memory, for callers that recycle their buffers: `data` holds the k data
   * shards of `size` bytes back to back (padding already zeroed), `parity` receives the n−k parity
   * shards. Both are exactly k·size and (n−k)·size bytes; size a positive multiple of 8.
   */
  async encodeInto(data: Buffer, parity: Buffer, size: number): Promise<void> {
    if (size <= 0 || size % 8 !== 0 || data.length !== size * this.#k || parity.length !== size * this.#m) {
      throw new StoreError('InvalidArgument', `encodeInto needs ${this.#k}·${size} data and ${this.#m}·${size} parity bytes`);
    }
    await runEncode(this.#context, this.#bits(0, this.#k), this.#bits(this.#k, this.params.n), data, parity);
  }

  /** Exactly `length` bytes of data. Decodes only when a data shard is missing; fewer than k
   *  present → Unavailable; shards of unequal or impossible sizes → Corrupt. When the k data
   *  shards lie back to back in one buffer, the result is a view of it, not a copy. */
  async decode(shards: (Buffer | null)[], length: number): Promise<Buffer> {
    const size = this.#check(shards);
    if (size * this.#k < length) throw new StoreError('Corrupt', `shards of ${size} bytes cannot hold ${length} bytes`);
    const k = this.#k;
    let dataMissing = 0;
    for (let i = 0; i < k; i++) if (!shards[i]) dataMissing |= 1 << i;
    if (dataMissing === 0) {
      const first = shards[0]!;
      let contiguous = true;
      for (let i = 1; i < k && contiguous; i++) {
        const s = shards[i]!;
        contiguous = s.buffer === first.buffer && s.byteOffset === first.byteOffset + i * size;
      }
      if (contiguous) return Buffer.from(first.buffer, first.byteOffset, length);
      const out = Buffer.allocUnsafe(length);
      for (let i = 0, off = 0; off < length; i++, off += size) out.set(shards[i]!.subarray(0, Math.min(size, length - off)), off);
      return out;
    }
    const { dataBuf } = await this.#rebuild(shards, size, dataMissing);
    return dataBuf.subarray(0, length);
  }

  /** All n shards, the missing ones rebuilt (for repair). Same error rules as decode. */
  async reconstruct(shards: (Buffer | null)[]): Promise<Buffer[]> {
    const size = this.#check(shards);
    let missing = 0;
    for (let i = 0; i < this.params.n; i++) if (!shards[i]) missing |= 1 << i;
    if (missing === 0) return shards as Buffer[];
    const { dataBuf, parity } = await this.#rebuild(shards, size, missing);
    const rebuilt = this.#split(dataBuf, parity, size);
    return shards.map((s, i) => s ?? rebuilt[i]);
  }

  #bits(from: number, to: number): number {
    let b = 0;
    for (let i = from; i < to; i++) b |= 1 << i;
    return b;
  }

  #split(dataBuf: Buffer, parity: Buffer, size: number): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < this.#k; i++) out.push(dataBuf.subarray(i * size, (i + 1) * size));
    for (let i = 0; i < this.#m; i++) out.push(parity.subarray(i * size, (i + 1) * size));
    return out;
  }

  /** shard size, after checking count, presence and sizes */
  #check(shards: (Buffer | null)[]): number {
    const { k, n } = this.params;
    if (shards.length !== n) throw new StoreError('InvalidArgument', `expected ${n} shard slots, got ${shards.length}`);
    let present = 0;
    let size = -1;
    for (const s of shards) {
      if (!s) continue;
      present++;
      if (size === -1) size = s.length;
      else if (s.length !== size) throw new StoreError('Corrupt', `shards differ in size (${size} and ${s.length} bytes)`);
    }
    if (present < k) {
      throw new StoreError('Unavailable', `only ${present} of ${k} fragments needed are available (${n - present} of ${n} lost)`);
    }
    if (size <= 0 || size % 8 !== 0) throw new StoreError('Corrupt', `shard size ${size} is not a positive multiple of 8`);
    return size;
  }

  /** Lays the present shards out as ronomon wants them and rebuilds the `targets` bit set. */
  async #rebuild(shards: (Buffer | null)[], size: number, targets: number): Promise<{ dataBuf: Buffer; parity: Buffer }> {
    const k = this.#k;
    const dataBuf = Buffer.allocUnsafe(size * k);
    const parity = Buffer.allocUnsafe(size * this.#m);
    let sources = 0;
    for (let i = 0; i < this.params.n; i++) {
      const s = shards[i];
      if (!s) continue;
      sources |= 1 << i;
      if (i < k) dataBuf.set(s, i * size);
      else parity.set(s, (i - k) * size);
    }
    await runEncode(this.#context, sources, targets, dataBuf, parity);
    return { dataBuf, parity };
  }
}
