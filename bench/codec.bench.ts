/**
 * The whole per-chunk CPU path on 4 MiB chunks (10+6), three ways:
 *   inline   — everything on the main thread (sync crypto, RS on the libuv pool): the baseline
 *   libuv    — WebCrypto for HMAC/AES/SHA-256 + ronomon, all on the libuv pool, orchestrated
 *              from the main thread (what "no worker threads" would look like)
 *   workers  — ChunkCodec on a CpuPool (what the store uses)
 * plus MD5 for the S3 ETag on the main thread vs StreamHasher. "main" is CPU time of the main
 * thread alone (/proc/thread-self/schedstat): the gateway's main thread also runs MD5, Rabin
 * chunking and the protocol, so that is the figure to minimise; "CPU" is the whole process.
 *   node --import tsx bench/codec.bench.ts
 */
import { createHash, createHmac, webcrypto } from 'node:crypto';
import { mainThreadCpuNs, measure, randomBytesFast, report, type Measurement } from './lib.js';
import { createMasterKey, deriveTenantKeys, type TenantKeys } from '../backend/crypto/keys.js';
import { ChunkCodec, type EncodedChunk } from '../backend/store/chunk-codec.js';
import { CpuPool } from '../backend/store/cpu-pool.js';
import { StreamHasher } from '../backend/store/stream-hasher.js';
import { ErasureCoder, DEFAULT_ERASURE } from '../backend/erasure/reed-solomon.js';
import { FRAGMENT_HEADER_BYTES, decodeFragment, writeFragmentHeader } from '../backend/erasure/fragment.js';

const MiB = 2 ** 20;
const CHUNK = 4 * MiB;
const CHUNKS = 12;
const IN_FLIGHT = 4;
const subtle = webcrypto.subtle;


const mainMs = new Map<string, number>();
async function run(name: string, bytes: number, fn: () => unknown | Promise<unknown>): Promise<Measurement> {
  let ns = 0;
  let runs = 0;
  const m = await measure(name, bytes, async () => {
    const t0 = mainThreadCpuNs();
    await fn();
    ns += mainThreadCpuNs() - t0;
    runs++;
  });
  mainMs.set(name, ns / 1e6 / runs / (bytes / MiB));
  return m;
}

function print(results: Measurement[], baseline?: Measurement): void {
  report(results, baseline);
  for (const r of results) console.log(`  ${r.name.padEnd(42)} main thread ${mainMs.get(r.name)!.toFixed(2).padStart(6)} CPU ms/MiB`);
}

/** runs `fn` over every item with at most IN_FLIGHT at once, as the store's pipeline does */
async function each<T, R>(items: T[], fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/** The same format as ChunkCodec (uncompressed), computed with WebCrypto on the libuv pool. */
class LibuvCodec {
  readonly #coder = new ErasureCoder(DEFAULT_ERASURE);
  #idKey!: webcrypto.CryptoKey;
  constructor(readonly keys: TenantKeys) {}
  async init(): Promise<this> {
    this.#idKey = await subtle.importKey('raw', this.keys.chunkIdKey, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return this;
  }
  #aes(id: Buffer, usage: 'encrypt' | 'decrypt') {
    const key = createHmac('sha256', this.keys.contentKey).update(id).digest();
    const nonce = createHmac('sha256', this.keys.contentKey).update('nonce').update(id).digest().subarray(0, 12);
    const aad = Buffer.concat([Buffer.from([1, 0]), id]);
    return subtle.importKey('raw', key, 'AES-GCM', false, [usage]).then((k) => ({ k, params: { name: 'AES-GCM', iv: nonce, additionalData: aad } }));
  }
  async encode(plain: Buffer): Promise<{ id: Buffer; sealedSize: number; fragments: { id: string; bytes: Buffer }[] }> {
    const id = Buffer.from(await subtle.sign('HMAC', this.#idKey, plain));
    const { k, params } = await this.#aes(id, 'encrypt');
    const ct = await subtle.encrypt(params, k, plain);
    const sealed = Buffer.concat([Buffer.from([1, 0]), Buffer.from(ct)]);
    const shards = await this.#coder.encode(sealed);
    const stride = FRAGMENT_HEADER_BYTES + shards[0].length;
    const all = Buffer.allocUnsafe(stride * shards.length);
    const frames = shards.map((s, index) => {
      writeFragmentHeader(all, index * stride, { k: 10, n: 16, index });
      all.set(s, index * stride + FRAGMENT_HEADER_BYTES);
      return all.subarray(index * stride, (index + 1) * stride);
    });
    const digests = await Promise.all(frames.map((f) => subtle.digest('SHA-256', f)));
    return { id, sealedSize: sealed.length, fragments: frames.map((bytes, i) => ({ bytes, id: Buffer.from(digests[i]).toString('hex') })) };
  }
  async decode(id: Buffer, sealedSize: number, fragments: (Buffer | null)[]): Promise<Buffer> {
    const shards = fragments.map((f) => (f ? decodeFragment(f).shard : null));
    const sealed = await this.#coder.decode(shards, sealedSize);
    const { k, params } = await this.#aes(id, 'decrypt');
    const plain = Buffer.from(await subtle.decrypt(params, k, sealed.subarray(2)));
    const check = Buffer.from(await subtle.sign('HMAC', this.#idKey, plain));
    if (!check.equals(id)) throw new Error('id mismatch');
    return plain;
  }
}

const keys = deriveTenantKeys(createMasterKey());
const chunks = Array.from({ length: CHUNKS }, (_, i) => randomBytesFast(CHUNK, i + 7));
const total = CHUNK * CHUNKS;
const pool = new CpuPool();
const inline = new ChunkCodec({ keys, erasure: DEFAULT_ERASURE, inline: true });
const workers = new ChunkCodec({ keys, erasure: DEFAULT_ERASURE, pool });
const libuv = await new LibuvCodec(keys).init();

// warm up the workers and check all three agree byte for byte
const ref = await inline.encode(chunks[0]);
const viaPool = await workers.encode(chunks[0]);
const viaLibuv = await libuv.encode(chunks[0]);
for (const other of [viaPool, viaLibuv]) {
  if (other.fragments.some((f, i) => f.id !== ref.fragments[i].id)) throw new Error('codecs disagree');
}

const enc: EncodedChunk[] = await each(chunks, (c) => inline.encode(c));
const lose3 = (c: EncodedChunk): (Buffer | null)[] => c.fragments.map((f) => (f.index === 1 || f.index === 4 || f.index === 8 ? null : f.bytes));
const all = (c: EncodedChunk): (Buffer | null)[] => c.fragments.map((f) => f.bytes);

const encInline = await run('encode, inline (main thread)', total, () => each(chunks, (c) => inline.encode(c)));
const encLibuv = await run('encode, libuv pool (WebCrypto)', total, () => each(chunks, (c) => libuv.encode(c)));
const encWorkers = await run(`encode, ${pool.threads} worker threads`, total, () => each(chunks, (c) => workers.encode(c)));
const decInline = await run('decode, all data present, inline', total, () => each(enc, (c) => inline.decode(c.id, c.sealedSize, false, all(c))));
const decLibuv = await run('decode, all data present, libuv', total, () => each(enc, (c) => libuv.decode(c.id, c.sealedSize, all(c))));
const decWorkers = await run('decode, all data present, workers', total, () => each(enc, (c) => workers.decode(c.id, c.sealedSize, false, all(c))));
const dec3Inline = await run('decode, 3 data missing, inline', total, () => each(enc, (c) => inline.decode(c.id, c.sealedSize, false, lose3(c))));
const dec3Libuv = await run('decode, 3 data missing, libuv', total, () => each(enc, (c) => libuv.decode(c.id, c.sealedSize, lose3(c))));
const dec3Workers = await run('decode, 3 data missing, workers', total, () => each(enc, (c) => workers.decode(c.id, c.sealedSize, false, lose3(c))));

const body = Buffer.concat(chunks);
const pieces = Array.from({ length: body.length / (64 * 1024) }, (_, i) => body.subarray(i * 65536, (i + 1) * 65536));
const md5Main = await run('MD5 on the main thread (64 KiB updates)', body.length, () => {
  const h = createHash('md5');
  for (const p of pieces) h.update(p);
  return h.digest();
});
const md5Worker = await run('MD5 in a worker (StreamHasher)', body.length, async () => {
  const h = new StreamHasher({ pool });
  for (const p of pieces) if (!h.update(p)) await h.drained();
  return h.digest();
});

console.log(`\n${CHUNKS} chunks of 4 MiB per run, ${IN_FLIGHT} in flight, RS 10+6, best of 3. Node ${process.version}, ${pool.threads} workers`);
print([encInline, encLibuv, encWorkers], encInline);
print([decInline, decLibuv, decWorkers], decInline);
print([dec3Inline, dec3Libuv, dec3Workers], dec3Inline);
print([md5Main, md5Worker], md5Main);
await pool.close();
