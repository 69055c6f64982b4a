/**
 * One chunk through the write path's CPU stages (ARCHITECTURE §2–4) and back:
 *   encode: chunk id (HMAC) → [deflate] → AES-256-GCM seal → Reed-Solomon → frame → SHA-256 per fragment
 *   decode: fragments → [RS decode, only if a data fragment is missing] → GCM open → [inflate] → [id check]
 *
 * WHERE THE WORK RUNS: worker threads (CpuPool), because they leave the least on the main thread
 * at no extra total CPU. bench/codec.bench.ts, 4 MiB chunks, 10+6, 4 in flight, 2 cores (noisy
 * shared machine, so ranges), CPU ms per MiB as main thread / whole process:
 *                       encode              decode (all data)   decode (3 data lost)
 *   inline (main)       3.6 / 4.1–4.3       1.6–3.4 / 1.8–3.0   1.6–2.2 / 2.9–3.1
 *   libuv (WebCrypto)   1.7–1.9 / 5.0–5.8   0.7 / 2.3           0.7–1.0 / 2.5–2.7
 *   worker threads      0.26 / 4.1 warm     0.24–0.33 / 1.8     0.24 / 2.6–2.9
 * WebCrypto does run on the libuv pool, but it first copies every input into fresh memory on the
 * calling thread (page faults included), so about half its cost stays on the main thread, and the
 * framing, id derivation and promise plumbing add more. A worker job costs the main thread one copy
 * of the chunk into a transferable buffer; results come back transferred, not copied. Total CPU is
 * the same as inline once the allocator is warm (the first runs pay ~1 ms/MiB of page faults).
 * Inside a worker the work is synchronous node:crypto plus ronomon (which hops to the libuv pool).
 *
 * With `inline: true` everything runs on the calling thread (the worker itself uses that path).
 */
import { createHash } from 'node:crypto';
import type { TenantKeys } from '../crypto/keys.js';
import { chunkIdOf, isSealedCompressed, openChunk, openChunkParts, sealChunkInto, sealedChunkBound } from '../crypto/seal.js';
import { StoreError, isStoreError } from '../core/errors.js';
import { FRAGMENT_HEADER_BYTES, decodeFragment, fragmentIdOf, writeFragmentHeader } from '../erasure/fragment.js';
import { ErasureCoder, type ErasureParams } from '../erasure/reed-solomon.js';
import type { BufferPool } from '../core/buffer-pool.js';
import { CpuPool, chunkBuffers, copyForTransfer, noteGarbage, transferable, type CpuHandler } from './cpu-pool.js';

export interface EncodedFragment {
  /** 0..k-1 data, k..n-1 parity */
  index: number;
  /** lower-case hex SHA-256 of `bytes` */
  id: string;
  /** what the peer stores (header + shard). The n fragments of a chunk may share one ArrayBuffer. */
  bytes: Buffer;
}

export interface EncodedChunk {
  /** HMAC-SHA256(chunkIdKey, plaintext) */
  id: Buffer;
  plainSize: number;
  /** bytes RS coded; decode needs it back */
  sealedSize: number;
  /** whether the sealed payload is deflated; decode needs it back */
  compressed: boolean;
  /** exactly n, in index order */
  fragments: EncodedFragment[];
}

export interface ChunkCodecInit {
  keys: TenantKeys;
  erasure: ErasureParams;
  /** try deflate on each chunk; kept only when it saves ≥ 1/8 (default false) */
  compression?: boolean;
  /** worker threads to run on; default: CpuPool.shared() */
  pool?: CpuPool;
  /** run on the calling thread instead of a pool (tests, and the pool's workers themselves) */
  inline?: boolean;
}

export interface DecodeResult {
  /** the plaintext, when every checked fragment matched its id */
  plain?: Buffer;
  /** indexes of fragments whose bytes do not hash to their id (nothing was decoded) */
  bad?: number[];
}

export interface DecodeOptions {
  /**
   * The caller gives up `fragments`: the ones decode uses move to the worker when each spans its
   * whole ArrayBuffer (those views are detached afterwards, also when `bad` comes back), instead of
   * being copied. Others are copied.
   */
  take?: boolean;
  /**
   * the code the chunk was written with (its index row's k, n); default the codec's own. A store
   * reopened with another --erasure still reads what it wrote before.
   */
  erasure?: ErasureParams;
  /**
   * Recompute the chunk id from the plaintext (HMAC-SHA256 over every byte) and refuse a mismatch
   * as Corrupt; default true. The GCM tag already proves the sealed bytes were made for this id
   * under the tenant's key (the key and nonce derive from the id, and the AAD holds it), so no peer
   * or disk can pass this check's failure off as a good read: it only catches a write-path bug that
   * sealed other bytes than its id names. It costs about a quarter of a read's CPU, so ChunkIo asks
   * for it on a sample of reads (PLAINTEXT_CHECK_EVERY).
   */
  checkPlaintext?: boolean;
  /**
   * With `take`: fragments this pool handed out move to the worker whole even when shorter than
   * their buffer, and every buffer that moved comes back to the pool once the decode is over (the
   * chunk read path reads fragments into it, so a get reuses warm memory instead of faulting in
   * fresh pages for every fragment).
   */
  recycle?: BufferPool;
}

export interface EncodeOptions {
  /** the caller gives up `plaintext` (see ChunkCodec.encode) */
  take?: boolean;
}

type CodecKeys = Pick<TenantKeys, 'chunkIdKey' | 'contentKey'>;

const coders = new Map<string, ErasureCoder>();
function coderFor(p: ErasureParams): ErasureCoder {
  const key = `${p.k}/${p.n}`;
  let c = coders.get(key);
  if (!c) {
    c = new ErasureCoder(p);
    coders.set(key, c);
  }
  return c;
}

/** Bytes encodeChunkHere lays a chunk of `length` bytes out in: n × (header + shard). */
export function encodeCapacity(erasure: ErasureParams, length: number): number {
  return erasure.n * (FRAGMENT_HEADER_BYTES + coderFor(erasure).shardSize(sealedChunkBound(length)));
}

/**
 * encode on the calling thread; the n fragments share one ArrayBuffer of their own.
 * `frame`, when at least encodeCapacity() long, is that buffer (recycled memory); with `inPlace`
 * the plaintext is the start of `frame` itself (one buffer per chunk from cut to fragments).
 */
export async function encodeChunkHere(
  keys: CodecKeys,
  erasure: ErasureParams,
  compress: boolean,
  plaintext: Uint8Array,
  knownId?: Uint8Array,
  frame?: ArrayBuffer,
  inPlace = false,
): Promise<EncodedChunk> {
  const { k, n } = erasure;
  const coder = coderFor(erasure);
  const length = plaintext.length;
  const id = knownId ? Buffer.from(knownId) : chunkIdOf(keys, plaintext);
  const H = FRAGMENT_HEADER_BYTES;
  const bound = sealedChunkBound(length);
  const need = encodeCapacity(erasure, length);
  // Everything happens in the one output buffer, with no scratch memory: the chunk is sealed to
  // offset n·H, where the k data shards lie back to back as Reed-Solomon wants them, with the
  // parity shards right after; then each shard moves down into its fragment's place behind its
  // header. Shard i moves from n·H + i·size to i·(H + size) + H, never above where it was, and
  // ends at or below where shard i+1 starts, so moving them in index order overwrites nothing
  // still to be moved.
  const fits = frame !== undefined && frame.byteLength >= need;
  if (inPlace && (!fits || plaintext.buffer !== frame || plaintext.byteOffset !== 0)) {
    throw new StoreError('InvalidArgument', 'an in-place encode needs the plaintext at the start of a frame of encodeCapacity() bytes');
  }
  const all = fits ? Buffer.from(frame, 0, need) : Buffer.allocUnsafeSlow(need);
  const base = n * H;
  let payload = plaintext;
  if (inPlace) {
    // to where its ciphertext goes (sealChunkInto: 2 header bytes, then the cipher's output, which
    // for GCM is exactly as long as its input), so the cipher overwrites each piece after reading it
    all.copyWithin(base + 2, 0, length);
    payload = all.subarray(base + 2, base + 2 + length);
  }
  const { size: sealedSize, compressed } = sealChunkInto(keys, id, payload, all.subarray(base, base + bound), { compress });
  noteGarbage(sealedSize);
  const size = coder.shardSize(sealedSize);
  all.fill(0, base + sealedSize, base + size * k);
  await coder.encodeInto(all.subarray(base, base + size * k), all.subarray(base + size * k, base + size * n), size);
  const stride = H + size;
  const fragments: EncodedFragment[] = [];
  for (let index = 0; index < n; index++) {
    const off = index * stride;
    all.copyWithin(off + H, base + index * size, base + (index + 1) * size);
    writeFragmentHeader(all, off, { k, n, index });
    const bytes = all.subarray(off, off + stride);
    fragments.push({ index, id: fragmentIdOf(bytes), bytes });
  }
  return { id, plainSize: length, sealedSize, compressed, fragments };
}

/**
 * Indexes (into `ids`) of fragments whose bytes — `headers[i]` (FRAGMENT_HEADER_BYTES) followed by
 * `shards[i]` — do not hash to `ids[i]`. Hashing the two parts in turn needs no copy.
 */
function badFragments(indexes: number[], headers: Uint8Array, shards: Uint8Array[], ids: string[]): number[] {
  const bad: number[] = [];
  indexes.forEach((index, i) => {
    const h = createHash('sha256');
    h.update(headers.subarray(i * FRAGMENT_HEADER_BYTES, (i + 1) * FRAGMENT_HEADER_BYTES));
    h.update(shards[i]);
    if (h.digest('hex') !== ids[i]) bad.push(index);
  });
  return bad;
}

/** decode on the calling thread from shard views (null = not used / missing) */
export async function decodeChunkHere(
  keys: CodecKeys,
  erasure: ErasureParams,
  id: Uint8Array,
  sealedSize: number,
  compressed: boolean,
  shards: (Buffer | null)[],
  checkPlaintext = true,
): Promise<Buffer> {
  const coder = coderFor(erasure);
  let plaintext: Buffer;
  const dataShards = shards.slice(0, erasure.k);
  if (!compressed && dataShards.every((s): s is Buffer => s !== null) && dataShards[0].length * erasure.k >= sealedSize) {
    // All data shards here: no RS work, and the shards are deciphered in place instead of being
    // joined into one sealed buffer first (one chunk-sized copy and allocation fewer).
    const size = dataShards[0].length;
    const parts: Buffer[] = [];
    for (let i = 0, left = sealedSize; left > 0; i++, left -= size) {
      if (dataShards[i].length !== size) throw new StoreError('Corrupt', `shards differ in size (${size} and ${dataShards[i].length} bytes)`);
      parts.push(dataShards[i].subarray(0, Math.min(size, left)));
    }
    if (isSealedCompressed(parts[0].length >= 2 + 16 ? parts[0] : Buffer.concat(parts))) {
      throw new StoreError('Corrupt', 'chunk recorded as uncompressed but its sealed bytes say otherwise');
    }
    plaintext = openChunkParts(keys, id, parts);
  } else {
    const sealed = await coder.decode(shards, sealedSize);
    if (isSealedCompressed(sealed) !== compressed) {
      throw new StoreError('Corrupt', `chunk recorded as ${compressed ? '' : 'un'}compressed but its sealed bytes say otherwise`);
    }
    plaintext = openChunk(keys, id, sealed);
  }
  if (checkPlaintext && !chunkIdOf(keys, plaintext).equals(id)) throw new StoreError('Corrupt', 'decoded chunk does not hash to its id');
  return plaintext;
}

/**
 * decodeChunkHere, verifying fragments once: the GCM tag authenticates every sealed byte the data
 * shards carry (and parity-rebuilt ones), and the chunk id check covers the plaintext, so fragments
 * are hashed against `ids` only when that fails, to name the bad ones. Measured on a 256 MiB disk
 * get this dropped SHA-256 over k fragments (~0.8 CPU ms per MiB read) from every read. A damaged
 * byte the tag does not cover (shard padding, an unused parity fragment) is left to the scrub.
 */
async function decodeVerifying(
  keys: CodecKeys,
  erasure: ErasureParams,
  id: Uint8Array,
  sealedSize: number,
  compressed: boolean,
  indexes: number[],
  headers: Uint8Array,
  shards: Buffer[],
  ids: string[] | undefined,
  checkPlaintext: boolean,
): Promise<DecodeResult> {
  try {
    return { plain: await decodeChunkHere(keys, erasure, id, sealedSize, compressed, slots(erasure.n, indexes, shards), checkPlaintext) };
  } catch (err) {
    if (!ids || !isStoreError(err, 'Corrupt')) throw err;
    const bad = badFragments(indexes, headers, shards, ids);
    if (bad.length > 0) return { bad };
    throw err;
  }
}

/**
 * Checks fragment headers against their slots and picks the shards decode needs: the k data shards
 * when all are there (no RS work at all), else any k present, data first. Returns the chosen
 * indexes and their shards (views into the caller's buffers).
 */
function chooseShards(erasure: ErasureParams, fragments: (Buffer | null)[]): { indexes: number[]; shards: Buffer[]; headers: Buffer } {
  const { k, n } = erasure;
  if (fragments.length !== n) throw new StoreError('InvalidArgument', `expected ${n} fragment slots, got ${fragments.length}`);
  const present: { index: number; shard: Buffer }[] = [];
  for (let i = 0; i < n; i++) {
    const f = fragments[i];
    if (!f) continue;
    const h = decodeFragment(f);
    if (h.k !== k || h.n !== n || h.index !== i) {
      throw new StoreError('Corrupt', `fragment in slot ${i} says it is index ${h.index} of a ${h.k}+${h.n - h.k} code, expected ${k}+${n - k}`);
    }
    present.push({ index: i, shard: h.shard });
  }
  if (present.length < k) {
    throw new StoreError('Unavailable', `only ${present.length} of ${k} fragments needed are available (${n - present.length} of ${n} lost)`);
  }
  // present is in index order, so its first k are the data shards whenever those are all there
  const chosen = present.slice(0, k);
  const size = chosen[0].shard.length;
  for (const c of chosen) if (c.shard.length !== size) throw new StoreError('Corrupt', `fragments of one chunk differ in size`);
  const headers = Buffer.allocUnsafe(chosen.length * FRAGMENT_HEADER_BYTES);
  chosen.forEach((c, i) => fragments[c.index]!.copy(headers, i * FRAGMENT_HEADER_BYTES, 0, FRAGMENT_HEADER_BYTES));
  return { indexes: chosen.map((c) => c.index), shards: chosen.map((c) => c.shard), headers };
}

/** Indexes of present fragments whose length or header cannot be right for this chunk. */
function malformed(erasure: ErasureParams, sealedSize: number, fragments: (Buffer | null)[]): number[] {
  const { k, n } = erasure;
  const length = FRAGMENT_HEADER_BYTES + coderFor(erasure).shardSize(sealedSize);
  const bad: number[] = [];
  fragments.forEach((f, i) => {
    if (!f) return;
    if (f.length !== length) {
      bad.push(i);
      return;
    }
    try {
      const h = decodeFragment(f);
      if (h.k !== k || h.n !== n || h.index !== i) bad.push(i);
    } catch {
      bad.push(i);
    }
  });
  return bad;
}

function slots(n: number, indexes: number[], shards: Buffer[]): (Buffer | null)[] {
  const out = new Array<Buffer | null>(n).fill(null);
  indexes.forEach((index, i) => (out[index] = shards[i]));
  return out;
}

export class ChunkCodec {
  readonly erasure: ErasureParams;
  readonly compression: boolean;
  readonly #keys: CodecKeys;
  /** the two keys the workers need, in a private 64-byte buffer (cloned per job: cheaper than state) */
  readonly #keyBytes: Uint8Array;
  readonly #pool: CpuPool | undefined;

  constructor(init: ChunkCodecInit) {
    this.erasure = coderFor(init.erasure).params;
    this.compression = init.compression ?? false;
    this.#keys = { chunkIdKey: Buffer.from(init.keys.chunkIdKey), contentKey: Buffer.from(init.keys.contentKey) };
    this.#keyBytes = new Uint8Array(copyForTransfer(this.#keys.chunkIdKey, this.#keys.contentKey));
    this.#pool = init.inline ? undefined : (init.pool ?? CpuPool.shared());
  }

  /** chunk id of a plaintext (keyed HMAC-SHA256, 32 bytes) */
  async chunkId(plaintext: Buffer): Promise<Buffer> {
    if (!this.#pool) return chunkIdOf(this.#keys, plaintext);
    // copied into a recycled buffer, which the worker sends back with the id
    const copy = chunkBuffers.take(plaintext.length);
    copy.set(plaintext);
    const data = copy.buffer as ArrayBuffer;
    const r = await this.#pool.run<{ id: ArrayBuffer; data: ArrayBuffer }>(
      'codec/chunk-id',
      { keys: this.#keyBytes, data, length: plaintext.length },
      [data],
    );
    chunkBuffers.give(r.data);
    return Buffer.from(r.id);
  }

  /**
   * Seal (deflated first when enabled and it saves ≥ 1/8), RS-encode, frame and hash the fragments.
   * `id`, when given, MUST be chunkId(plaintext) (it keys the encryption; see backend/crypto/seal.ts);
   * leave it out to have it computed in the same pass. `plaintext` is copied, never kept or detached,
   * unless `options.take` hands its memory over: then, when it spans its whole ArrayBuffer, that
   * buffer moves to the worker (the caller's view is detached, length 0) instead of being copied.
   */
  async encode(plaintext: Buffer, id?: Buffer, options: EncodeOptions = {}): Promise<EncodedChunk> {
    if (id && id.length !== 32) throw new StoreError('InvalidArgument', `chunk id must be 32 bytes, got ${id.length}`);
    if (!this.#pool) return encodeChunkHere(this.#keys, this.erasure, this.compression, plaintext, id);
    // A copy of a 4 MiB chunk into fresh memory costs ~0.5 CPU ms/MiB on the main thread (page
    // faults); into a recycled buffer ~0.05. A taken chunk from chunkBuffers moves whole (capacity
    // and all); when that capacity holds the fragments too (cutChunks' `capacity`, see
    // frameCapacity) the worker encodes in place and the one buffer comes back as the fragments.
    // Otherwise the worker sends the plaintext buffer back for reuse and the fragments come in a
    // second, recycled buffer.
    const { k, n } = this.erasure;
    const need = encodeCapacity(this.erasure, plaintext.length);
    let data: ArrayBuffer;
    let inPlace = false;
    if (options.take && chunkBuffers.owns(plaintext)) {
      data = plaintext.buffer as ArrayBuffer;
      // capacityOf, not byteLength: a big pooled buffer carries untouched headroom past its capacity
      inPlace = chunkBuffers.capacityOf(data) >= need;
    } else if (options.take) data = transferable(plaintext);
    else {
      const copy = chunkBuffers.take(plaintext.length, need);
      copy.set(plaintext);
      data = copy.buffer as ArrayBuffer;
      inPlace = true;
    }
    const frame = inPlace ? undefined : (chunkBuffers.take(need).buffer as ArrayBuffer);
    const r = await this.#pool.run<EncodeResult>(
      'codec/encode',
      {
        keys: this.#keyBytes,
        erasure: { k, n },
        compress: this.compression,
        data,
        length: plaintext.length,
        frame,
        inPlace,
        id: id ? new Uint8Array(copyForTransfer(id)) : undefined,
      },
      frame ? [data, frame] : [data],
    );
    if (!inPlace) chunkBuffers.give(r.data);
    const all = Buffer.from(r.fragments, 0, r.stride * n);
    return {
      id: Buffer.from(r.id),
      plainSize: r.plainSize,
      sealedSize: r.sealedSize,
      compressed: r.compressed,
      fragments: r.fragmentIds.map((fid, index) => ({ index, id: fid, bytes: all.subarray(index * r.stride, (index + 1) * r.stride) })),
    };
  }

  /**
   * The capacity a chunk buffer of `length` bytes should have so that encode({ take: true }) can
   * lay the fragments out in it, with no second buffer (pass it to cutChunks).
   */
  frameCapacity(length: number): number {
    return encodeCapacity(this.erasure, length);
  }

  /**
   * Gives the memory of `chunk`'s fragments back for reuse by later encodes. Only for a caller
   * done with every fragment's bytes: no store may read them any more (every put resolved: see
   * FragmentStore.put), and no view of them is used again.
   */
  recycle(chunk: EncodedChunk): void {
    const b = chunk.fragments[0]?.bytes;
    if (b && b.byteOffset === 0 && b.buffer instanceof ArrayBuffer) chunkBuffers.give(b.buffer);
  }

  /**
   * `fragments` by index (length n, null = missing), each already checked against its fragment id
   * by whoever fetched it. Bad headers, a wrong `sealedSize`/`compressed`, a GCM failure or a
   * plaintext that does not hash to `id` → Corrupt; fewer than k fragments → Unavailable.
   * The caller's buffers are read, never kept or detached.
   */
  async decode(id: Buffer, sealedSize: number, compressed: boolean, fragments: (Buffer | null)[]): Promise<Buffer> {
    const r = await this.decodeChecked(id, sealedSize, compressed, fragments);
    return r.plain!;
  }

  /**
   * decode, for fragments nobody has checked yet: with `fragmentIds` (by index, as recorded), the
   * chunk is decoded and, only when the GCM tag or the chunk id check fails, the k fragments it used
   * are hashed (on the worker) against their ids. Any that do not match come back as `bad` (their
   * indexes) and no plaintext is returned: the caller replaces them (e.g.
   * by parity, or by asking the store again with its own check, which quarantines a bad copy) and
   * calls again. Without `fragmentIds` it is exactly decode. Other errors as decode.
   */
  async decodeChecked(
    id: Buffer,
    sealedSize: number,
    compressed: boolean,
    fragments: (Buffer | null)[],
    fragmentIds?: (string | null | undefined)[],
    options: DecodeOptions = {},
  ): Promise<DecodeResult> {
    if (id.length !== 32) throw new StoreError('InvalidArgument', `chunk id must be 32 bytes, got ${id.length}`);
    const erasure = options.erasure ? coderFor(options.erasure).params : this.erasure;
    let ids: string[] | undefined;
    if (fragmentIds) {
      // Unchecked bytes: a damaged header or length is a bad fragment, not a corrupt chunk.
      const bad = malformed(erasure, sealedSize, fragments);
      if (bad.length > 0) return { bad };
    }
    const { indexes, shards, headers } = chooseShards(erasure, fragments);
    if (fragmentIds) ids = indexes.map((i) => fragmentIds[i] ?? '');
    const checkPlaintext = options.checkPlaintext ?? true;
    if (!this.#pool) return decodeVerifying(this.#keys, erasure, id, sealedSize, compressed, indexes, headers, shards, ids, checkPlaintext);
    // Moving the caller's fragment buffers (options.take) costs the main thread nothing; packing
    // copies of the shards into one buffer cost it ~0.5 CPU ms per MiB (copy + fresh pages).
    const recycle = options.recycle;
    const lengths = indexes.map((i) => fragments[i]!.length);
    const shardBufs = options.take
      ? indexes.map((i) => (recycle?.owns(fragments[i]!) ? (fragments[i]!.buffer as ArrayBuffer) : transferable(fragments[i]!)))
      : [copyForTransfer(...shards)];
    const r = await this.#pool.run<{ plain?: ArrayBuffer; bad?: number[]; spent?: ArrayBuffer[] }>(
      'codec/decode',
      {
        keys: this.#keyBytes,
        erasure,
        id: new Uint8Array(copyForTransfer(id)),
        sealedSize,
        compressed,
        indexes,
        shards: shardBufs,
        whole: options.take === true,
        lengths,
        headers,
        ids,
        checkPlaintext,
      },
      shardBufs,
    );
    if (recycle) for (const b of r.spent ?? []) recycle.give(b);
    if (r.bad && r.bad.length > 0) return { bad: r.bad };
    return { plain: Buffer.from(r.plain!) };
  }
}

// ---- worker side ------------------------------------------------------------------------------

interface EncodeResult {
  id: ArrayBuffer;
  /** the job's plaintext buffer, handed back for reuse (the fragments' own when encoded in place) */
  data: ArrayBuffer;
  plainSize: number;
  sealedSize: number;
  compressed: boolean;
  stride: number;
  fragmentIds: string[];
  fragments: ArrayBuffer;
}

function keysFrom(bytes: Uint8Array): CodecKeys {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { chunkIdKey: b.subarray(0, 32), contentKey: b.subarray(32, 64) };
}

/** Handlers the CpuPool workers run (registered in cpu-worker.ts). */
export const codecHandlers: Record<string, CpuHandler> = {
  'codec/chunk-id': (args: { keys: Uint8Array; data: ArrayBuffer; length: number }) => {
    const id = transferable(chunkIdOf(keysFrom(args.keys), new Uint8Array(args.data, 0, args.length)));
    return { result: { id, data: args.data }, transfer: [id, args.data] };
  },
  'codec/encode': async (args: {
    keys: Uint8Array;
    erasure: ErasureParams;
    compress: boolean;
    data: ArrayBuffer;
    length: number;
    frame?: ArrayBuffer;
    inPlace: boolean;
    id?: Uint8Array;
  }) => {
    const plain = new Uint8Array(args.data, 0, args.length);
    const c = await encodeChunkHere(keysFrom(args.keys), args.erasure, args.compress, plain, args.id, args.inPlace ? args.data : args.frame, args.inPlace);
    const fragments = c.fragments[0].bytes.buffer as ArrayBuffer;
    const id = copyForTransfer(c.id);
    const result: EncodeResult = {
      id,
      data: args.data,
      plainSize: c.plainSize,
      sealedSize: c.sealedSize,
      compressed: c.compressed,
      stride: c.fragments[0].bytes.length,
      fragmentIds: c.fragments.map((f) => f.id),
      fragments,
    };
    return { result, transfer: args.inPlace ? [fragments, id] : [fragments, id, args.data] };
  },
  'codec/decode': async (args: {
    keys: Uint8Array;
    erasure: ErasureParams;
    id: Uint8Array;
    sealedSize: number;
    compressed: boolean;
    indexes: number[];
    /** one packed buffer of the shards, or (whole) each chosen fragment, header included */
    shards: ArrayBuffer[];
    whole: boolean;
    /** (whole) each fragment's length: its buffer may be longer */
    lengths: number[];
    headers: Uint8Array;
    ids?: string[];
    checkPlaintext: boolean;
  }) => {
    let views: Buffer[];
    if (args.whole) {
      views = args.shards.map((b, i) => Buffer.from(b, 0, args.lengths[i]).subarray(FRAGMENT_HEADER_BYTES));
    } else {
      const all = Buffer.from(args.shards[0]);
      const size = all.length / args.indexes.length;
      views = args.indexes.map((_, i) => all.subarray(i * size, (i + 1) * size));
    }
    const r = await decodeVerifying(keysFrom(args.keys), args.erasure, args.id, args.sealedSize, args.compressed, args.indexes, args.headers, views, args.ids, args.checkPlaintext);
    // whole fragments go back to the caller for reuse (DecodeOptions.recycle); nothing here keeps a view
    const out = r.plain ? transferable(r.plain) : undefined;
    const spent = args.whole ? args.shards.filter((b) => b !== out) : [];
    if (!out) return { result: { bad: r.bad, spent }, transfer: spent };
    return { result: { plain: out, spent }, transfer: [out, ...spent] };
  },
};
