/**
 * Issue 4 item 5 over the real data plane: a GET whose later chunk has fewer than k live holders
 * answers 503 before any byte (S3 SlowDown with Retry-After; WebDAV 503), not 200 and a body that
 * breaks after the first chunks; holders lost after the response started end the body with an
 * error, never with wrong or silently missing bytes.
 *
 * In process, for speed: nine peers are real HTTP/2+TLS data-plane servers (startDataPlane, each
 * with its own Ed25519 identity) over TinyStores, reached through the real NetworkPlacement and
 * RemoteFragmentStore; the gateway is the real S3 listener, WebDAV handler, SFTP and FTP servers
 * over one PeerStore. Only the membership is a double: killing a peer closes its server (its sessions too,
 * so reads get connection refused) and, when the gateway is to know, records the missed
 * heartbeats the control plane would (`failures`). The multi-process cluster (cluster.test.ts,
 * e2e-network.test.ts) takes about a minute to start; this takes about a second.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { generateKeyPair } from '@libp2p/crypto/keys';
import ssh2 from 'ssh2';
import { silentLogger } from '../../backend/core/logger.js';
import type { Member } from '../../backend/network/control-plane.js';
import { startDataPlane, type DataPlaneServer } from '../../backend/network/data-plane.js';
import { identityFromKey } from '../../backend/network/identity.js';
import { NetworkPlacement, type Membership } from '../../backend/network/network-placement.js';
import { PeerStore } from '../../backend/store/peer-store.js';
import { rabinChunkerFactory } from '../../backend/store/chunking.js';
import { randomBytesFast } from '../../bench/lib.js';
import { errorCode, rawS3, sdkClient } from '../../compat/helpers/s3-clients.js';
import { startTestGateway, TEST_USERS, type TestGateway } from '../helpers/gateway.js';
import { run, startFileGateways, type FileGateways } from '../helpers/file-gateways.js';
import { TinyStore } from './helpers/tiny-store.js';

const K = 4;
const N = 6;
const PEERS = 9;
const USER = TEST_USERS[0];

interface Peer {
  member: Member;
  server: DataPlaneServer;
  down: boolean;
}

interface Net {
  peers: Peer[];
  placement: NetworkPlacement;
  peerStore: PeerStore;
  s3: TestGateway;
  dav: FileGateways;
  data: Buffer;
  /** the object's chunks in offset order, with the peers holding their fragments */
  chunks: { offset: number; holders: string[] }[];
  /** closes the data planes of `ids`; `known`: the gateway has seen their heartbeats fail */
  kill(ids: string[], known: boolean): Promise<void>;
  close(): Promise<void>;
}

async function startNet(): Promise<Net> {
  const logger = silentLogger();
  const networkKey = randomBytes(32);
  const peers: Peer[] = await Promise.all(
    Array.from({ length: PEERS }, async (_, i) => {
      const identity = await identityFromKey(await generateKeyPair('Ed25519'));
      const server = await startDataPlane({ host: '127.0.0.1', port: 0, identity, networkKey, logger }, { store: new TinyStore() });
      const member: Member = { id: identity.peerId, role: 'peer', dataAddress: server.address, host: `host-${i}`, capacity: 1 << 30, free: 1 << 30, v: 1, lastSeen: Date.now(), failures: 0, multiaddrs: [] };
      return { member, server, down: false };
    }),
  );
  const byId = new Map(peers.map((p) => [p.member.id, p.member]));
  const membership: Membership = { members: () => [...byId.values()], member: (id) => byId.get(id), locate: async (id) => byId.get(id) };
  // staleMs: no heartbeats run here, and a slow machine must not make every peer look stale
  const placement = new NetworkPlacement({ networkKey, minFree: 0, staleMs: 3_600_000, failuresToDead: 2 }, { membership });
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-get-precheck-'));
  const peerStore = await PeerStore.open(
    { stateDir: join(dir, 'state'), kdfIterations: 1000, erasure: { k: K, n: N }, avgChunkSize: 64 * 1024, gcIntervalMs: 0, cacheSize: 0, readAhead: 1, timeoutMs: 10_000 },
    { logger, placement, chunker: await rabinChunkerFactory(), ownedStores: [] },
  );
  const s3 = await startTestGateway({ stores: () => peerStore, users: [USER] });
  const dav = await startFileGateways({ stores: () => peerStore, users: [USER] });
  const store = await peerStore.open(USER);
  await store.createBucket('bkt');
  const data = randomBytesFast(1536 * 1024, 21);
  await store.putObject('bkt', 'obj', (async function* () {
    for (let i = 0; i < data.length; i += 64 * 1024) yield data.subarray(i, i + 64 * 1024);
  })());
  const rows = peerStore.index.db
    .prepare('SELECT vc.offset AS offset, f.peer AS peer FROM version_chunks vc JOIN fragments f ON f.chunk = vc.chunk ORDER BY vc.offset, f.idx')
    .all() as { offset: number; peer: string }[];
  const chunks: Net['chunks'] = [];
  for (const r of rows) {
    if (chunks.at(-1)?.offset !== r.offset) chunks.push({ offset: r.offset, holders: [] });
    chunks.at(-1)!.holders.push(r.peer);
  }
  assert.ok(chunks.length >= 8, `enough chunks to lose a later one (${chunks.length})`);
  assert.ok(chunks.every((c) => new Set(c.holders).size === N), 'each chunk on n distinct peers');
  return {
    peers,
    placement,
    peerStore,
    s3,
    dav,
    data,
    chunks,
    async kill(ids, known) {
      for (const p of peers.filter((x) => ids.includes(x.member.id))) {
        if (known) p.member.failures = 2;
        if (!p.down) await p.server.close();
        p.down = true;
      }
    },
    async close() {
      await s3.close();
      await dav.close();
      await peerStore.close();
      await placement.close();
      await Promise.all(peers.filter((p) => !p.down).map((p) => p.server.close()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Peers whose loss leaves some chunk after the first with fewer than k holders, the first keeping k. */
function laterLoss(net: Net): { target: number; dead: string[] } {
  const first = new Set(net.chunks[0].holders);
  for (let target = net.chunks.length - 1; target > 0; target--) {
    const holders = net.chunks[target].holders;
    // its holders that do not hold the first chunk, then shared ones while the first can spare them
    const dead = holders.filter((p) => !first.has(p));
    for (const p of holders.filter((h) => first.has(h))) {
      if (N - dead.length < K) break;
      if (net.chunks[0].holders.filter((h) => !dead.includes(h) && h !== p).length >= K) dead.push(p);
    }
    if (N - dead.length < K) return { target, dead };
  }
  throw new Error('no later chunk can be lost without the first');
}

/** The bytes of `path` read over SFTP (ssh2 client, password = secret key). */
async function sftpRead(net: Net, path: string): Promise<Buffer> {
  const client = new ssh2.Client();
  try {
    const sftp = await new Promise<ssh2.SFTPWrapper>((resolve, reject) => {
      client.once('error', reject);
      client.once('ready', () => client.sftp((err, w) => (err ? reject(err) : resolve(w))));
      client.connect({ host: net.dav.sftp.host, port: net.dav.sftp.port, username: USER.accessKey, password: USER.secretKey, readyTimeout: 20_000 });
    });
    return (await promisify(sftp.readFile.bind(sftp))(path)) as Buffer;
  } finally {
    client.end();
  }
}

const basic = `Basic ${Buffer.from(`${USER.accessKey}:${USER.secretKey}`).toString('base64')}`;

test('a GET whose later chunk lost its holders is a 503 before any byte: S3 SlowDown with Retry-After, WebDAV 503', { timeout: 120_000 }, async () => {
  const net = await startNet();
  try {
    const { dead } = laterLoss(net);
    await net.kill(dead, true);
    // without the pre-check: 200, the first chunks, then a reset (rawS3 rejects with "aborted")
    const r = await rawS3(net.s3.url, { method: 'GET', path: '/bkt/obj', user: USER });
    assert.equal(r.status, 503);
    assert.equal(errorCode(r.body), 'SlowDown');
    assert.equal(r.headers['retry-after'], '1');
    assert.ok(!r.bytes.includes(net.data.subarray(0, 64)), 'no object bytes in the reply');
    const dav = await fetch(`${net.dav.webdavUrl}bkt/obj`, { headers: { authorization: basic } });
    assert.equal(dav.status, 503);
    await dav.arrayBuffer();
    // SFTP and FTP read through the same getObject: the error comes at open / RETR, no bytes
    await assert.rejects(sftpRead(net, '/bkt/obj'), (err: { code?: number }) => err.code === ssh2.utils.sftp.STATUS_CODE.FAILURE);
    const out = join(net.dav.dir, 'ftp.out');
    const ftp = await run('curl', ['-sS', '--max-time', '60', '-u', `${USER.accessKey}:${USER.secretKey}`, '-o', out, `ftp://${net.dav.ftp.host}:${net.dav.ftp.port}/bkt/obj`]);
    assert.notEqual(ftp.code, 0, 'curl reports the failed download');
    const got = await stat(out).then(() => readFile(out), () => Buffer.alloc(0));
    assert.equal(got.length, 0, `FTP delivered ${got.length} bytes of a lost object`);
    // HEAD is metadata only: still 200
    const head = await rawS3(net.s3.url, { method: 'HEAD', path: '/bkt/obj', user: USER });
    assert.equal(head.status, 200);
  } finally {
    await net.close();
  }
});

test('a GET with every chunk keeping k live holders is served whole and right over the degraded network', { timeout: 120_000 }, async () => {
  const net = await startNet();
  try {
    // n − k peers of the first chunk's holders: every chunk they hold keeps ≥ k of its n on the rest
    const dead = net.chunks[0].holders.slice(0, N - K);
    await net.kill(dead, true);
    const r = await rawS3(net.s3.url, { method: 'GET', path: '/bkt/obj', user: USER });
    assert.equal(r.status, 200);
    assert.ok(r.bytes.equals(net.data));
  } finally {
    await net.close();
  }
});

test('holders killed while a GET streams end its body with an error; every byte received before is right', { timeout: 120_000 }, async () => {
  const net = await startNet();
  const client = sdkClient(net.s3.url, USER);
  try {
    const { target, dead } = laterLoss(net);
    assert.ok(target >= 3, `the lost chunk (${target}) lies beyond the first chunk and the read-ahead`);
    const res = await client.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'obj' }));
    assert.equal(res.ContentLength, net.data.length);
    const got: Buffer[] = [];
    let failure: unknown;
    try {
      for await (const piece of res.Body as AsyncIterable<Uint8Array>) {
        // killed before the gateway's heartbeats notice: only the read itself finds out
        if (got.length === 0) await net.kill(dead, false);
        got.push(Buffer.from(piece));
      }
    } catch (err) {
      failure = err;
    }
    const bytes = Buffer.concat(got);
    assert.ok(failure !== undefined, `the body ended cleanly after ${bytes.length} of ${net.data.length} bytes`);
    assert.ok(bytes.length < net.data.length && bytes.length <= net.chunks[target].offset, `${bytes.length} bytes before the error`);
    assert.ok(bytes.equals(net.data.subarray(0, bytes.length)), 'every byte before the error is right');
    // the read marked the dead holders: the next GET is refused before any byte
    const again = await rawS3(net.s3.url, { method: 'GET', path: '/bkt/obj', user: USER });
    assert.equal(again.status, 503);
  } finally {
    client.destroy();
    await net.close();
  }
});
