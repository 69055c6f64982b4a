/**
 * Chunk crypto costs on 4 MiB chunks: chunk id (HMAC-SHA256), seal/open (AES-256-GCM), deflate,
 * fragment hashing (SHA-256). Node's synchronous crypto (what the codec's workers run) next to
 * WebCrypto, whose work runs on the libuv pool: the "main ms/MiB" column is CPU time of the main
 * thread alone (from /proc/thread-self/schedstat), the figure that decides where the work goes.
 *   node --import tsx bench/crypto.bench.ts
 */
import { createHash, createHmac, webcrypto } from 'node:crypto';
import { mainThreadCpuNs, measure, randomBytesFast, report, type Measurement } from './lib.js';
import { createMasterKey, deriveTenantKeys } from '../backend/crypto/keys.js';
import { chunkIdOf, openChunk, sealChunk } from '../backend/crypto/seal.js';
import { fragmentIdOf } from '../backend/erasure/fragment.js';

const MiB = 2 ** 20;
const CHUNK = 4 * MiB;
const CHUNKS = 8;
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
  for (const r of results) console.log(`${''.padEnd(44)}   main thread ${mainMs.get(r.name)!.toFixed(2).padStart(6)} CPU ms/MiB`);
}

const keys = deriveTenantKeys(createMasterKey());
const chunks = Array.from({ length: CHUNKS }, (_, i) => randomBytesFast(CHUNK, i + 1));
const text = Buffer.from(
  Array.from({ length: CHUNK / 64 }, (_, i) => `line ${i}: the quick brown fox ${i % 97} jumps over ${i % 13} lazy dogs\n`).join('').slice(0, CHUNK),
);
const total = CHUNK * CHUNKS;
const ids = chunks.map((c) => chunkIdOf(keys, c));
const sealed = chunks.map((c, i) => sealChunk(keys, ids[i], c));

const sha = await run('SHA-256 (createHash), baseline', total, () => chunks.forEach((c) => createHash('sha256').update(c).digest()));
const hmac = await run('chunk id: HMAC-SHA256 (sync)', total, () => chunks.forEach((c) => chunkIdOf(keys, c)));
const hmacKey = await subtle.importKey('raw', keys.chunkIdKey, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
const hmacWeb = await run('chunk id: HMAC-SHA256 (WebCrypto, libuv)', total, () => Promise.all(chunks.map((c) => subtle.sign('HMAC', hmacKey, c))));
const seal = await run('seal: AES-256-GCM (sync)', total, () => chunks.forEach((c, i) => sealChunk(keys, ids[i], c)));
const open = await run('open: AES-256-GCM (sync)', total, () => sealed.forEach((s, i) => openChunk(keys, ids[i], s)));
const aesKey = await subtle.importKey('raw', keys.contentKey, 'AES-GCM', false, ['encrypt']);
const iv = new Uint8Array(12);
const sealWeb = await run('seal: AES-256-GCM (WebCrypto, libuv)', total, () =>
  Promise.all(chunks.map((c) => subtle.encrypt({ name: 'AES-GCM', iv, additionalData: ids[0] }, aesKey, c))),
);
const zText = await run('seal + deflate, compressible text', CHUNK, () => sealChunk(keys, ids[0], text, { compress: true }));
const zNoise = await run('seal + deflate probe, random data', total, () => chunks.forEach((c, i) => sealChunk(keys, ids[i], c, { compress: true })));
const frags = chunks.flatMap((c) => Array.from({ length: 16 }, (_, i) => c.subarray(i * (CHUNK / 16), (i + 1) * (CHUNK / 16))));
const fragHash = await run('fragment ids: SHA-256 of 16 fragments (sync)', total, () => frags.forEach((f) => fragmentIdOf(f)));
const fragHashWeb = await run('fragment ids: SHA-256 (WebCrypto, libuv)', total, () => Promise.all(frags.map((f) => subtle.digest('SHA-256', f))));
const md5 = await run('MD5 (createHash, what the S3 ETag costs)', total, () => chunks.forEach((c) => createHash('md5').update(c).digest()));
const small = await run('HMAC of 64 B x 65536 (per-call overhead)', 64 * 65536, () => {
  const b = Buffer.alloc(64);
  for (let i = 0; i < 65536; i++) createHmac('sha256', keys.contentKey).update(b).digest();
});

console.log(`\n4 MiB chunks, ${CHUNKS} per run, best of 3. Node ${process.version}, OpenSSL ${process.versions.openssl}`);
print([sha, hmac, hmacWeb, seal, open, sealWeb, zText, zNoise, fragHash, fragHashWeb, md5, small], sha);
