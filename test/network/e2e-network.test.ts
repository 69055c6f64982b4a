/**
 * End to end on the peer network (issue 4, item 8): 16 real storage-peer processes on loopback,
 * an in-process gateway (PeerStore over the NetworkPlacement of startNetworkClient, S3 through the
 * real HTTP listener, /-/status from collectStatus) driven by the AWS SDK and `peerstor status`.
 *
 * One story, in order: objects of mixed sizes (inline, one chunk, many chunks) land with all 16
 * fragments of every chunk on 16 distinct peers → SIGKILL 6 peers: every object reads back
 * identical → SIGKILL a 7th: chunked objects fail cleanly with 503, never wrong bytes → the 7th
 * comes back and 6 new peers join: repair returns every chunk to 16 healthy fragments and status
 * says so → corrupt fragment files on a peer's disk are found (peer scrub + gateway audit, and the
 * gateway's verifying audit alone) and repaired → a canary in bodies and names, the names and the
 * bodies' SHA-256 appear on no peer's disk.
 *
 * The data set is the issue's: 200 objects of mixed sizes, bytes to MiB, one of them 256 MiB, sent
 * by multipart upload as aws cli would (16 MiB parts, 4 in flight) and read back as a stream.
 * Not here: "a peer without the network key cannot join" (test/network/cluster.test.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { silentLogger } from '../../backend/core/logger.js';
import { startNetworkClient, type NetworkClient } from '../../backend/network/network-client.js';
import { RepairWorker } from '../../backend/network/repair.js';
import { collectStatus } from '../../backend/network/status.js';
import { createMetrics } from '../../backend/metrics/metrics.js';
import { readiness } from '../../backend/metrics/network-status.js';
import { createOpsHandler } from '../../backend/metrics/ops-handler.js';
import { PeerStore } from '../../backend/store/peer-store.js';
import { FragmentAudit, MetaRepairIndex } from '../../backend/store/repair-index.js';
import { main } from '../../cli/main.js';
import { startTestGateway, TEST_USERS, type TestGateway } from '../helpers/gateway.js';
import { Cluster, type PeerProc } from './helpers/cluster.js';

const N = 16;
const K = 10;
const CANARY = 'PEERSTOR-CANARY-c0ffee-5f1d2e';
const BUCKET = `e2e-${CANARY.toLowerCase()}`;
const INLINE = 4096;
const MiB = 2 ** 20;

/** sizes crossing the inline threshold, one chunk, and many chunks (the default 4 MiB average chunk): ~60 MiB */
const SIZES = [
  1, 17, 100, 1000, 4000, 4096, 4097, 5000, 9000, 20_000, 64 * 1024, 100_000, 250_000, 512 * 1024, 700_000, 1 * MiB,
  1 * MiB + 1, 1.5 * MiB, 2 * MiB, 3 * MiB, 4 * MiB, 5 * MiB, 7 * MiB, 11 * MiB, 21 * MiB,
].map(Math.round);
/** 174 more small ones (bytes to 300 KB, deterministic sizes); with the big one, 200 objects */
const MORE = Array.from({ length: 200 - SIZES.length - 1 }, (_, i) => Math.round(((i * 7919) % 997) ** 2 * 0.3) + (i % 5));
const BIG = 256 * MiB;

interface Obj {
  key: string;
  size: number;
  sha: string;
}

/** random bytes (no dedup between objects) with the canary planted every 64 KiB */
function makeBody(size: number): Buffer {
  const b = randomBytes(size);
  const c = Buffer.from(CANARY);
  for (let off = 0; off + c.length <= size; off += 64 * 1024) c.copy(b, off);
  return b;
}

async function until(what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function filesUnder(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return names.filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('the peer network end to end: 16 peer processes, S3 gateway, kills, repair, corruption, zero knowledge', { timeout: 900_000 }, () => {
  let cluster: Cluster;
  let client: NetworkClient;
  let store: PeerStore;
  let gw: TestGateway;
  let s3: S3Client;
  let stateDir: string;
  const objects: Obj[] = [];
  const logger = silentLogger();

  const placement = () => client.placement;
  const dead = (): Set<string> => new Set(placement().peers().filter((p) => !placement().isHealthy(p.id)).map((p) => p.id));
  const healthyCount = (): number => placement().peers().filter((p) => placement().isHealthy(p.id)).length;
  const health = () => new MetaRepairIndex(store.index).chunkHealth(dead());

  /** SHA-256 of the object's bytes as S3 streams them (a 256 MiB object is never buffered) */
  async function readSha(key: string): Promise<string> {
    const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const h = createHash('sha256');
    let n = 0;
    for await (const piece of r.Body as Readable) {
      h.update(piece as Buffer);
      n += (piece as Buffer).length;
    }
    assert.equal(n, Number(r.ContentLength), `${key}: body length matches Content-Length`);
    return h.digest('hex');
  }

  /** every object, 8 reads in flight */
  async function readAllIdentical(): Promise<void> {
    let next = 0;
    const one = async (): Promise<void> => {
      while (next < objects.length) {
        const o = objects[next++];
        assert.equal(await readSha(o.key), o.sha, o.key);
      }
    };
    await Promise.all(Array.from({ length: 8 }, one));
  }

  /** `peerstor status --gateway URL --json`, in process */
  async function cliStatus(): Promise<{ peers: { id: string; address: string; capacity: number; free: number; lastSeen: string; healthy?: boolean }[]; chunks: { total: number; healthy: number; degraded: number; lost: number } }> {
    let out = '';
    const code = await main(['status', '--gateway', gw.url, '--json'], { stdout: (t) => void (out += t), stderr: () => undefined, env: {}, home: '/nonexistent-home', logger });
    assert.equal(code, 0, out);
    return JSON.parse(out) as Awaited<ReturnType<typeof cliStatus>>;
  }

  before(async () => {
    // heartbeats every 2 s: faster ones add real load when 16 peers share 2 cores
    cluster = await Cluster.start({ peers: N, heartbeatMs: 2000 });
    stateDir = await mkdtemp(join(tmpdir(), 'peerstor-e2e-gw-'));
    client = await startNetworkClient({
      stateDir,
      networkKeyFile: cluster.networkKeyFile,
      bootstrap: cluster.bootstrap,
      heartbeatMs: 1000,
      logger,
      placement: { minFree: 0, staleMs: 12_000, failuresToDead: 2, requestTimeoutMs: 20_000 },
    });
    await until('the gateway to see 16 healthy peers', () => healthyCount() === N, 120_000);
    // no plaintext cache: every read after a kill must really go to the peers
    store = await PeerStore.open(
      { stateDir: join(stateDir, 'store'), kdfIterations: 1000, avgChunkSize: 4 * MiB, cacheSize: 0, gcIntervalMs: 0, timeoutMs: 20_000, inlineThreshold: INLINE },
      { logger, placement: client.placement },
    );
    const chunks = new MetaRepairIndex(store.index);
    const ops = createOpsHandler(
      {},
      {
        metrics: createMetrics(),
        ready: async () => readiness({ indexOpen: true, healthyPeers: healthyCount(), k: K }),
        status: () => collectStatus({ placement: client.placement, membership: client.controlPlane, chunks }),
      },
    );
    gw = await startTestGateway({ stores: () => store, init: { mounts: [{ prefix: ops.prefix, handler: ops.handler }] } });
    const u = TEST_USERS[0];
    // one attempt: a 503 must reach the test, not be retried away
    s3 = new S3Client({ endpoint: gw.url, region: 'us-east-1', forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: u.accessKey, secretAccessKey: u.secretKey } });
  });

  after(async () => {
    s3?.destroy();
    await gw?.close();
    await store?.close();
    await client?.stop();
    await cluster?.stop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  test('200 objects of mixed sizes, one of them 256 MiB, land with every chunk on 16 distinct peers; status shows 16 peers and all chunks healthy', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const small = [...SIZES, ...MORE];
    let next = 0;
    const putSome = async (): Promise<void> => {
      while (next < small.length) {
        const i = next++;
        const body = makeBody(small[i]);
        const key = `dir/${CANARY}/object-${i}-${small[i]}.bin`;
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
        objects.push({ key, size: body.length, sha: sha256(body) });
      }
    };
    await Promise.all(Array.from({ length: 4 }, putSome));
    {
      const body = makeBody(BIG);
      const key = `big/${CANARY}/object-256MiB.bin`;
      await new Upload({ client: s3, params: { Bucket: BUCKET, Key: key, Body: body }, partSize: 16 * MiB, queueSize: 4 }).done();
      objects.push({ key, size: body.length, sha: sha256(body) });
    }
    assert.equal(objects.length, 200);
    const h = await health();
    assert.ok(h.total >= 200, `many chunks stored (${h.total})`);
    assert.deepEqual(h, { total: h.total, healthy: h.total, degraded: 0, lost: 0 });
    // the n fragments of every chunk sit on n distinct peers
    const rows = store.index.storedFragments({ chunk: 0, idx: -1 }, 100_000);
    const byChunk = new Map<number, Set<string>>();
    for (const r of rows) byChunk.set(r.chunk, (byChunk.get(r.chunk) ?? new Set()).add(r.peer));
    assert.equal(byChunk.size, h.total);
    for (const peers of byChunk.values()) assert.equal(peers.size, N);
    const st = await cliStatus();
    assert.equal(st.peers.length, N);
    for (const p of st.peers) {
      assert.match(p.address, /^127\.0\.0\.1:\d+$/);
      assert.ok(p.capacity > 0 && p.free > 0 && p.free <= p.capacity);
      assert.ok(!Number.isNaN(Date.parse(p.lastSeen)));
    }
    assert.deepEqual(st.chunks, h);
  });

  test('SIGKILL 6 peers: every object reads back identical (SHA-256)', async () => {
    const victims = cluster.peers.slice(2, 8);
    await Promise.all(victims.map((p) => p.kill('SIGKILL')));
    await readAllIdentical();
  });

  let seventh: PeerProc;
  test('SIGKILL a 7th peer: chunked objects fail cleanly with 503, inline ones still read', async () => {
    seventh = cluster.peers[8];
    await seventh.kill('SIGKILL');
    for (const o of objects) {
      if (o.size <= INLINE) {
        assert.equal(await readSha(o.key), o.sha, `${o.key} is inline: no peer needed`);
        continue;
      }
      await assert.rejects(readSha(o.key), (err: { $metadata?: { httpStatusCode?: number }; name?: string }) => {
        assert.equal(err.$metadata?.httpStatusCode, 503, `${o.key}: ${err.name}`);
        return true;
      });
    }
  });

  test('the 7th comes back and 6 new peers join: repair returns every chunk to 16 healthy fragments; status shows it', async () => {
    await cluster.add(1, { dir: seventh.dir });
    const fresh = await cluster.add(6);
    const live = new Set(cluster.live().map((p) => p.id));
    assert.equal(live.size, N);
    await until('the gateway to see the 16 live peers healthy and the 6 dead ones dead', () => {
      const d = dead();
      return [...live].every((id) => placement().isHealthy(id)) && cluster.peers.slice(2, 8).every((p) => d.has(p.id));
    }, 120_000);
    const before = await health();
    assert.equal(before.lost, 0, 'with the 7th back, every chunk has k fragments');
    assert.equal(before.degraded, before.total, 'every chunk lost the 6 fragments of the dead peers');

    const worker = new RepairWorker({ logger, bytesPerSecond: 512 * MiB, concurrency: 4 }, { index: new MetaRepairIndex(store.index), placement: client.placement });
    for (let pass = 0; pass < 5 && (await health()).healthy < before.total; pass++) await worker.runOnce();
    await worker.stop();
    const after = await health();
    assert.deepEqual(after, { total: before.total, healthy: before.total, degraded: 0, lost: 0 });
    // rebuilt fragments went to the new peers, and no chunk holds two fragments on one peer
    const rows = store.index.storedFragments({ chunk: 0, idx: -1 }, 100_000);
    const freshIds = new Set(fresh.map((p) => p.id));
    assert.ok(rows.some((r) => freshIds.has(r.peer)));
    const byChunk = new Map<number, Set<string>>();
    for (const r of rows) {
      assert.ok(live.has(r.peer), 'every fragment on a live peer');
      byChunk.set(r.chunk, (byChunk.get(r.chunk) ?? new Set()).add(r.peer));
    }
    for (const peers of byChunk.values()) assert.equal(peers.size, N);

    const st = await cliStatus();
    assert.deepEqual(st.chunks, after);
    assert.equal(st.peers.filter((p) => p.healthy).length, N);
    await readAllIdentical();
  });

  test('corrupt fragment files on a peer are detected (scrub + audit, or the verifying audit) and repaired', async () => {
    const peer = cluster.live()[0];
    const files = (await filesUnder(join(peer.dir, 'fragments'))).filter((f) => /[0-9a-f]{64}$/.test(f));
    assert.ok(files.length >= 8);
    const flip = async (file: string): Promise<string> => {
      const b = await readFile(file);
      b[b.length >> 1] ^= 0xff;
      await writeFile(file, b);
      return file.slice(-64);
    };
    // 1. the peer's scrub drops them; the gateway's audit notices they are gone
    const scrubbed = await Promise.all(files.slice(0, 4).map(flip));
    const r = await peer.ask<{ corrupt: string[] }>({ op: 'scrub' });
    assert.deepEqual([...r.corrupt].sort(), [...scrubbed].sort());
    const audit = new FragmentAudit({ index: store.index, placement: client.placement, logger });
    const a1 = await audit.run({ peer: peer.id, limit: 1_000_000 });
    assert.equal(a1.missing, scrubbed.length);
    // 2. silent corruption the peer has not scrubbed yet: the verifying audit re-hashes what it reads
    const silent = await Promise.all(files.slice(4, 7).map(flip));
    const a2 = await audit.run({ peer: peer.id, limit: 1_000_000, verify: true });
    assert.equal(a2.missing, silent.length);

    const degraded = await health();
    assert.ok(degraded.degraded >= 1 && degraded.lost === 0, JSON.stringify(degraded));
    const worker = new RepairWorker({ logger, bytesPerSecond: 512 * MiB }, { index: new MetaRepairIndex(store.index), placement: client.placement });
    await worker.runOnce();
    await worker.stop();
    assert.deepEqual(await health(), { total: degraded.total, healthy: degraded.total, degraded: 0, lost: 0 });
    // every rebuilt fragment is recorded as stored again, and its holder serves it intact (the
    // remote store re-hashes what it gets); with exactly 16 live peers that may be the same peer,
    // the only one that holds no other fragment of the chunk
    const all = store.index.storedFragments({ chunk: 0, idx: -1 }, 100_000);
    for (const id of [...scrubbed, ...silent]) {
      const rows = all.filter((x) => x.fragmentId === id);
      assert.ok(rows.length > 0, `${id} is recorded as stored`);
      for (const row of rows) assert.equal((await client.placement.peer(row.peer)!.store.get(id)).length, row.size);
    }
    await readAllIdentical();
  });

  test('zero knowledge: no canary, object name or body hash on any peer’s disk', async () => {
    const needles: Buffer[] = [Buffer.from(CANARY), Buffer.from(BUCKET)];
    // every key and every body of 29 bytes or more carries the canary, so the canary alone covers
    // them; the body hashes are looked for one by one for 25 objects and the big one
    // (all 200 would mean 400 scans of every peer file)
    for (const o of objects) assert.ok(o.key.includes(CANARY));
    for (const o of [...objects.slice(0, SIZES.length), objects[objects.length - 1]]) {
      needles.push(Buffer.from(o.key), Buffer.from(o.sha), Buffer.from(o.sha, 'hex'));
    }
    let scanned = 0;
    for (const p of cluster.peers) {
      for (const file of await filesUnder(p.dir)) {
        const bytes = await readFile(file);
        scanned += bytes.length;
        for (const n of needles) assert.equal(bytes.indexOf(n), -1, `${file} contains ${n.toString('hex').slice(0, 16)}…`);
      }
    }
    assert.ok(scanned > 300 * MiB, `scanned the fragments (${scanned} bytes)`);
  });
});
