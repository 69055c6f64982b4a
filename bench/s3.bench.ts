/**
 * The S3 front end through the AWS SDK v3 (default checksum behaviour on), measured against the
 * same client talking to a plain fastify endpoint that only discards / serves bytes, in the same
 * run (the ceiling of client + HTTP on this machine):
 *   - PUT of a 1 GiB object as multipart (16 MiB parts, 8 in flight) and GET of it (one stream)
 *   - the same PUT through a gateway whose store discards part bodies: the front end's own cost
 *   - 4 KiB PUT and GET, 32 concurrent: requests per second
 * Targets (issue 3): upload ≥ 50 % of the ceiling, download ≥ 70 %.
 *
 *   node --import tsx bench/s3.bench.ts                  embedded default: PeerStore on a disk volume
 *   BENCH_S3_STORE=memory node --import tsx bench/s3.bench.ts    the in-memory reference store
 *   BENCH_GIB=0.25 …                                     smaller big object
 *
 * The gateway and the plain endpoint run in a worker thread, the SDK client in the main thread.
 * `startBenchServers(stores, size)` + `runS3Bench({ gatewayUrl, plainUrl })` run it over any
 * TenantStores.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import Fastify from 'fastify';
import { silentLogger } from '../backend/core/logger.js';
import type { PartSummary, TenantStores } from '../backend/core/object-store.js';
import { DiskFragmentStore } from '../backend/fragments/disk-fragment-store.js';
import { LocalPlacement } from '../backend/store/local-placement.js';
import { MemoryTenantStores, type MemoryObjectStore } from '../backend/store/memory-object-store.js';
import { PeerStore } from '../backend/store/peer-store.js';
import { UserRegistry } from '../gateway/common/users.js';
import { createHttpServer } from '../gateway/http-server.js';
import { measure, randomBytesFast, report } from './lib.js';
import { benchS3Client } from './s3-client.js';

const MiB = 2 ** 20;
const PART = 16 * MiB;
const IN_FLIGHT = 8;
const SMALL = 4096;
const SMALL_CONCURRENCY = 32;
const SMALL_REQUESTS = 2000;
const USER = { accessKey: 'BENCHACCESSKEY', secretKey: 'bench-secret-key-0123456789' };

const client = (url: string): S3Client => benchS3Client(url, USER);

/** The ceiling: S3-shaped replies, bodies discarded on PUT and served from memory on GET. */
async function plainEndpoint(data: Buffer, small: Buffer): Promise<{ url: string; close(): Promise<void> }> {
  const app = Fastify({ logger: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));
  const drain = (req: IncomingMessage): Promise<void> =>
    new Promise((resolve, reject) => {
      req.on('data', () => undefined);
      req.on('end', resolve);
      req.on('error', reject);
    });
  app.route({
    method: ['GET', 'PUT', 'POST', 'HEAD'],
    url: '/*',
    handler: async (request, reply) => {
      const q = request.query as Record<string, string>;
      const key = request.url.split('?')[0];
      if (request.method === 'POST' && 'uploads' in q) {
        return reply.type('application/xml').send('<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId></InitiateMultipartUploadResult>');
      }
      if (request.method === 'POST') {
        await drain(request.raw);
        return reply.type('application/xml').send('<CompleteMultipartUploadResult><ETag>"e-1"</ETag></CompleteMultipartUploadResult>');
      }
      if (request.method === 'PUT') {
        await drain(request.raw);
        return reply.header('ETag', '"d41d8cd98f00b204e9800998ecf8427e"').send();
      }
      const body = key.endsWith('/small') ? small : data;
      return reply.header('Content-Length', body.length).header('ETag', '"x"').type('binary/octet-stream').send(Readable.from(slices(body)));
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}`, close: () => app.close() };
}

function* slices(buf: Buffer): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += MiB) yield buf.subarray(i, i + MiB);
}

async function putBig(s3: S3Client, data: Buffer): Promise<void> {
  await new Upload({ client: s3, params: { Bucket: 'bench', Key: 'big', Body: data }, partSize: PART, queueSize: IN_FLIGHT }).done();
}

async function getBig(s3: S3Client, expected: number): Promise<void> {
  const r = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: 'big' }));
  let n = 0;
  for await (const c of r.Body as Readable) n += (c as Buffer).length;
  if (n !== expected) throw new Error(`GET returned ${n} of ${expected} bytes`);
}

async function rate(name: string, fn: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: SMALL_CONCURRENCY }, async () => {
      while (next < SMALL_REQUESTS) await fn(next++);
    }),
  );
  const perSec = SMALL_REQUESTS / ((performance.now() - t0) / 1000);
  console.log(`${name.padEnd(44)} ${perSec.toFixed(0).padStart(9)} req/s`);
  return perSec;
}

/**
 * A store that keeps metadata in memory but drains part bodies without keeping them: a gateway over
 * it shows what the S3 front end itself (SigV4, payload hash, checksums, HTTP) costs.
 */
class DiscardingStores extends MemoryTenantStores {
  override async open(user: Parameters<MemoryTenantStores['open']>[0]): Promise<MemoryObjectStore> {
    const store = await super.open(user);
    const sizes = new Map<string, Map<number, number>>();
    store.uploadPart = async (_b, _k, uploadId, partNumber, body, options = {}) => {
      let size = 0;
      for await (const c of body) size += c.length;
      if (!sizes.has(uploadId)) sizes.set(uploadId, new Map());
      sizes.get(uploadId)!.set(partNumber, size);
      const part: PartSummary = { partNumber, size, etag: 'd41d8cd98f00b204e9800998ecf8427e' };
      if (options.checksum) part.checksum = { ...options.checksum };
      return part;
    };
    store.listParts = async (_b, _k, uploadId) => ({
      parts: [...(sizes.get(uploadId) ?? new Map<number, number>())].map(([partNumber, size]) => ({ partNumber, size, etag: 'd41d8cd98f00b204e9800998ecf8427e', lastModified: new Date() })),
      isTruncated: false,
    });
    store.completeMultipartUpload = async (bucket, key, uploadId, parts) => {
      sizes.delete(uploadId);
      return { bucket, key, size: 0, etag: `00000000000000000000000000000000-${parts.length}`, lastModified: new Date(), headers: {}, userMetadata: {}, tags: {} };
    };
    return store;
  }
}

export interface S3BenchInit {
  /** base URL of a running gateway that knows USER */
  gatewayUrl: string;
  /** base URL of the plain endpoint (see plainEndpoint) serving `size` bytes of randomBytesFast(size, 3) */
  plainUrl: string;
  /** base URL of a gateway over DiscardingStores (the front end's own ceiling), optional */
  discardUrl?: string;
  /** big object size in bytes (default 1 GiB) */
  size?: number;
}

/** The client side of the bench: the AWS SDK against both endpoints, same data, same settings. */
export async function runS3Bench(init: S3BenchInit): Promise<void> {
  const size = init.size ?? 2 ** 30;
  const data = randomBytesFast(size, 3);
  const small = randomBytesFast(SMALL, 4);
  const base = client(init.plainUrl);
  const s3 = client(init.gatewayUrl);
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
    const basePut = await measure(`plain fastify PUT ${Math.round(size / MiB)} MiB (${IN_FLIGHT} parts in flight)`, size, () => putBig(base, data), 1);
    const gwPut = await measure('gateway PUT (multipart, SigV4, CRC32)', size, () => putBig(s3, data), 1);
    const puts = [basePut, gwPut];
    if (init.discardUrl) {
      const d = client(init.discardUrl);
      await d.send(new CreateBucketCommand({ Bucket: 'bench' }));
      puts.push(await measure('gateway PUT over a discarding store', size, () => putBig(d, data), 1));
      d.destroy();
    }
    report(puts, basePut);
    const baseGet = await measure(`plain fastify GET ${Math.round(size / MiB)} MiB`, size, () => getBig(base, size), 1);
    const gwGet = await measure('gateway GET', size, () => getBig(s3, size), 1);
    report([baseGet, gwGet], baseGet);
    console.log(
      `upload ${((gwPut.mibPerSec / basePut.mibPerSec) * 100).toFixed(0)} % of the ceiling (target ≥ 50 %), ` +
        `download ${((gwGet.mibPerSec / baseGet.mibPerSec) * 100).toFixed(0)} % (target ≥ 70 %)`,
    );

    const basePutRate = await rate(`plain fastify 4 KiB PUT x${SMALL_CONCURRENCY}`, () => base.send(new PutObjectCommand({ Bucket: 'bench', Key: 'small', Body: small })));
    const gwPutRate = await rate(`gateway 4 KiB PUT x${SMALL_CONCURRENCY}`, (i) => s3.send(new PutObjectCommand({ Bucket: 'bench', Key: `small/${i % 500}`, Body: small })));
    const getSmall = async (c: S3Client, key: string) => {
      const r = await c.send(new GetObjectCommand({ Bucket: 'bench', Key: key }));
      await r.Body!.transformToByteArray();
    };
    const baseGetRate = await rate(`plain fastify 4 KiB GET x${SMALL_CONCURRENCY}`, () => getSmall(base, 'small'));
    const gwGetRate = await rate(`gateway 4 KiB GET x${SMALL_CONCURRENCY}`, (i) => getSmall(s3, `small/${i % 500}`));
    console.log(`small PUT ${((gwPutRate / basePutRate) * 100).toFixed(0)} % of the ceiling, small GET ${((gwGetRate / baseGetRate) * 100).toFixed(0)} %`);
  } finally {
    base.destroy();
    s3.destroy();
  }
}

/** Servers side: the gateway over `stores` and the plain endpoint, both on 127.0.0.1:0. */
export async function startBenchServers(
  stores: TenantStores,
  size: number,
): Promise<{ gatewayUrl: string; plainUrl: string; discardUrl: string; close(): Promise<void> }> {
  const plain = await plainEndpoint(randomBytesFast(size, 3), randomBytesFast(SMALL, 4));
  const gw = await createHttpServer({ listen: '127.0.0.1:0' }, { users: new UserRegistry([USER]), stores });
  const discard = await createHttpServer({ listen: '127.0.0.1:0' }, { users: new UserRegistry([USER]), stores: new DiscardingStores() });
  return {
    gatewayUrl: gw.url,
    plainUrl: plain.url,
    discardUrl: discard.url,
    async close() {
      await gw.close();
      await discard.close();
      await plain.close();
    },
  };
}

/** Opens the store the bench runs on: BENCH_S3_STORE=memory, else the embedded default. */
async function openStores(kind: string | undefined): Promise<{ stores: TenantStores; name: string; close(): Promise<void> }> {
  if (kind === 'memory') return { stores: new MemoryTenantStores(), name: 'MemoryTenantStores', close: async () => undefined };
  const logger = silentLogger();
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-bench-s3-'));
  const fragments = await DiskFragmentStore.open({ volumes: [{ path: join(dir, 'vol'), mode: 'rw' }], logger });
  const stores = await PeerStore.open({ stateDir: join(dir, 'state'), kdfIterations: 1000 }, { logger, placement: new LocalPlacement({ store: fragments, logger }) });
  return {
    stores,
    name: 'embedded default (PeerStore, one disk volume, RS 10+6)',
    async close() {
      await stores.close();
      await fragments.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// The servers run in a worker thread so that client and gateway each have a core, as they would
// on a real network; the main thread is the client.
if (!isMainThread && (workerData as { s3bench?: boolean } | null)?.s3bench) {
  const { kind, size } = workerData as { kind?: string; size: number };
  const opened = await openStores(kind);
  const servers = await startBenchServers(opened.stores, size);
  parentPort!.postMessage({ gatewayUrl: servers.gatewayUrl, plainUrl: servers.plainUrl, discardUrl: servers.discardUrl, store: opened.name });
  parentPort!.once('message', async () => {
    await servers.close();
    await opened.close();
    parentPort!.postMessage('closed');
  });
} else if (isMainThread && import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const size = Math.round(Number(process.env.BENCH_GIB ?? 1) * 2 ** 30);
  const data = { s3bench: true, kind: process.env.BENCH_S3_STORE, size };
  // Run from source under tsx, the worker must register tsx itself (loader hooks are per thread).
  const worker = import.meta.url.endsWith('.ts')
    ? new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`, { eval: true, workerData: data })
    : new Worker(new URL(import.meta.url), { workerData: data });
  const ready = await new Promise<{ gatewayUrl: string; plainUrl: string; discardUrl: string; store: string }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  console.log(`store: ${ready.store}; servers in a worker thread, SDK client in the main thread`);
  try {
    await runS3Bench({ gatewayUrl: ready.gatewayUrl, plainUrl: ready.plainUrl, discardUrl: ready.discardUrl, size });
  } finally {
    const closed = new Promise((resolve) => worker.once('message', resolve));
    worker.postMessage('close');
    await closed;
    await worker.terminate();
  }
}
