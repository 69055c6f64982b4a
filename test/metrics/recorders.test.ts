/**
 * The recording helpers the composition wires (backend/metrics/): the metered placement, the timed
 * chunker, the scrape-time health recount, the HTTP exchange observer, and a storage peer's data
 * plane (requests as protocol `peer`, /-/ served without the token).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { silentLogger } from '../../backend/core/logger.js';
import { isStoreError } from '../../backend/core/errors.js';
import type { Placement } from '../../backend/core/placement.js';
import { MemoryFragmentStore } from '../../backend/fragments/memory-fragment-store.js';
import { addHealthCollector } from '../../backend/metrics/health-collector.js';
import { observeHttpExchange } from '../../backend/metrics/http-exchange.js';
import { meterPlacement } from '../../backend/metrics/metered-placement.js';
import { createMetrics } from '../../backend/metrics/metrics.js';
import { createOpsResponder } from '../../backend/metrics/ops-handler.js';
import { timeChunker } from '../../backend/metrics/timed-chunker.js';
import { startDataPlane } from '../../backend/network/data-plane.js';
import { identityFromKey } from '../../backend/network/identity.js';
import { RemoteFragmentStore } from '../../backend/network/remote-fragment-store.js';
import { LocalPlacement } from '../../backend/store/local-placement.js';
import { sample } from './prom-text.js';

const idOf = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('metered placement: every fragment operation counts per peer, failures by code; handles and stores keep one identity', async () => {
  const metrics = createMetrics({ processMetrics: false });
  const inner = new LocalPlacement({ store: new MemoryFragmentStore(), logger: silentLogger() });
  const placement = meterPlacement(inner, metrics);
  const [a, b] = placement.choose(Buffer.from('k'), 2);
  assert.equal(a.store, b.store, 'the same peer gets the same wrapped store');
  assert.equal(placement.peer('local')!.store, a.store);
  assert.equal(placement.peers()[0].store, a.store);
  assert.equal(placement.peer('nobody'), undefined);
  const data = randomBytes(1000);
  await a.store.put(idOf(data), data);
  assert.deepEqual(await a.store.get(idOf(data)), data);
  assert.equal(await a.store.has(idOf(data)), true);
  await assert.rejects(a.store.get(idOf(randomBytes(8))), (e) => isStoreError(e, 'FragmentNotFound'));
  await a.store.stat();
  const t = await metrics.text();
  assert.equal(sample(t, 'peerstor_fragment_operations_total{peer="local",op="put"}'), 1);
  assert.equal(sample(t, 'peerstor_fragment_operations_total{peer="local",op="get"}'), 2);
  assert.equal(sample(t, 'peerstor_fragment_operations_total{peer="local",op="stat"}'), 1);
  assert.equal(sample(t, 'peerstor_fragment_failures_total{peer="local",op="get",code="FragmentNotFound"}'), 1);
  assert.equal(sample(t, 'peerstor_fragment_bytes_total{op="put"}'), 1000);
  assert.equal(sample(t, 'peerstor_fragment_bytes_total{op="get"}'), 1000);
  assert.equal(placement.isHealthy('local'), true);
});

test('timed chunker: one observation per chunk cut, bytes add up to the scanned bytes before the last cut', () => {
  const metrics = createMetrics({ processMetrics: false });
  // cuts every 100 bytes of the stream
  let pos = 0;
  const inner = {
    scan(data: Uint8Array): number[] {
      const cuts: number[] = [];
      for (let i = 0; i < data.length; i++) if ((pos + i + 1) % 100 === 0) cuts.push(i + 1);
      pos += data.length;
      return cuts;
    },
    reset() {
      pos = 0;
    },
  };
  const c = timeChunker(inner, metrics);
  assert.deepEqual(c.scan(new Uint8Array(50)), []);
  assert.deepEqual(c.scan(new Uint8Array(180)), [50, 150]);
  assert.deepEqual(c.scan(new Uint8Array(10)), []);
  c.reset();
  return metrics.text().then((t) => {
    assert.equal(sample(t, 'peerstor_pipeline_stage_duration_seconds_count{stage="chunk"}'), 3, 'two cuts, then the rest at reset');
    assert.equal(sample(t, 'peerstor_pipeline_stage_bytes_total{stage="chunk"}'), 240);
  });
});

test('health collector: peers and chunk health recounted on a scrape, at most once per interval', async () => {
  const metrics = createMetrics({ processMetrics: false });
  const store = new MemoryFragmentStore();
  const healthy = new Set(['self', 'p1']);
  const placement: Placement = {
    choose: () => [],
    peer: () => undefined,
    peers: () => ['self', 'p1', 'p2'].map((id) => ({ id, host: 'h', store })),
    reportSuccess: () => undefined,
    reportFailure: () => undefined,
    isHealthy: (id) => healthy.has(id),
  };
  let clock = 0;
  const asked: string[][] = [];
  addHealthCollector(
    { selfId: 'self', minIntervalMs: 30_000, now: () => clock },
    { metrics, placement, chunks: { chunkHealth: async (dead) => (asked.push([...dead]), { healthy: 7, degraded: 2, lost: 1 }) } },
  );
  let t = await metrics.text();
  assert.deepEqual(asked, [['p2']], 'unreachable peers are the dead set');
  assert.equal(sample(t, 'peerstor_peers{state="self"}'), 1);
  assert.equal(sample(t, 'peerstor_peers{state="connected"}'), 1);
  assert.equal(sample(t, 'peerstor_peers{state="unreachable"}'), 1);
  assert.equal(sample(t, 'peerstor_chunks{state="degraded"}'), 2);
  clock = 10_000;
  await metrics.text();
  assert.equal(asked.length, 1, 'no recount within the interval');
  clock = 40_000;
  healthy.add('p2');
  t = await metrics.text();
  assert.equal(asked.length, 2);
  assert.equal(sample(t, 'peerstor_peers{state="connected"}'), 2);
});

test('HTTP exchange: status codes, Content-Length bytes (also from writeHead)', async () => {
  const metrics = createMetrics({ processMetrics: false });
  const server = http.createServer((req, res) => {
    observeHttpExchange(metrics, req, res, { protocol: 'webdav', operation: req.method ?? 'GET' });
    req.resume();
    if (req.method === 'PUT') {
      req.on('end', () => {
        res.writeHead(201, { 'Content-Length': '0' });
        res.end();
      });
    } else if (req.url === '/missing') {
      res.writeHead(404, { 'Content-Length': '2' });
      res.end('no');
    } else {
      res.setHeader('Content-Length', 5);
      res.end('hello');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await (await fetch(`${base}/x`, { method: 'PUT', body: 'abcdefgh', headers: { 'content-length': '8' } })).arrayBuffer();
    await (await fetch(`${base}/x`)).text();
    await (await fetch(`${base}/missing`)).text();
    // the server's 'close' may trail the client's last byte: wait until all three were recorded
    let t = await metrics.text();
    for (let i = 0; i < 100 && (sample(t, 'peerstor_request_duration_seconds_count{protocol="webdav",operation="GET"}') ?? 0) < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      t = await metrics.text();
    }
    assert.equal(sample(t, 'peerstor_requests_total{protocol="webdav",operation="PUT",code="OK"}'), 1);
    assert.equal(sample(t, 'peerstor_requests_total{protocol="webdav",operation="GET",code="OK"}'), 1);
    assert.equal(sample(t, 'peerstor_requests_total{protocol="webdav",operation="GET",code="404"}'), 1);
    assert.equal(sample(t, 'peerstor_received_bytes_total{protocol="webdav"}'), 8);
    assert.equal(sample(t, 'peerstor_sent_bytes_total{protocol="webdav"}'), 7);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

test('storage peer data plane: requests recorded as protocol peer; /-/ answers without the token', async () => {
  const metrics = createMetrics({ processMetrics: false, labels: { role: 'peer' } });
  const identity = await identityFromKey(await generateKeyPair('Ed25519'));
  const networkKey = randomBytes(32);
  const store = new MemoryFragmentStore();
  const ops = createOpsResponder({}, { metrics, ready: async () => ({ ok: true, reasons: [] }) });
  const server = await startDataPlane({ host: '127.0.0.1', port: 0, identity, networkKey, logger: silentLogger() }, { store, metrics, ops });
  const remote = new RemoteFragmentStore({ address: server.address, peerId: identity.peerId, networkKey });
  const session = http2.connect(`https://${server.address}`, { rejectUnauthorized: false });
  session.on('error', () => undefined);
  const get = (path: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = session.request({ ':method': 'GET', ':path': path });
      let status = 0;
      let body = '';
      req.on('response', (h) => (status = Number(h[':status'])));
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => resolve({ status, body }));
      req.on('error', reject);
    });
  try {
    const data = randomBytes(5000);
    await remote.put(idOf(data), data);
    assert.deepEqual(await remote.get(idOf(data)), data);
    await assert.rejects(remote.get(idOf(randomBytes(4))), (e) => isStoreError(e, 'FragmentNotFound'));
    assert.equal((await get('/-/health')).status, 200);
    assert.equal((await get('/-/ready')).status, 200);
    assert.equal((await get('/f/' + idOf(data))).status, 403, 'fragments still need the token');
    const m = await get('/-/metrics');
    assert.equal(m.status, 200);
    assert.equal(sample(m.body, 'peerstor_requests_total{protocol="peer",operation="PUT",code="OK",role="peer"}'), 1);
    assert.equal(sample(m.body, 'peerstor_requests_total{protocol="peer",operation="GET",code="OK",role="peer"}'), 1);
    assert.equal(sample(m.body, 'peerstor_requests_total{protocol="peer",operation="GET",code="FragmentNotFound",role="peer"}'), 1);
    assert.equal(sample(m.body, 'peerstor_requests_total{protocol="peer",operation="GET",code="AccessDenied",role="peer"}'), 1);
    assert.equal(sample(m.body, 'peerstor_received_bytes_total{protocol="peer",role="peer"}'), 5000);
    assert.equal(sample(m.body, 'peerstor_sent_bytes_total{protocol="peer",role="peer"}'), 5000);
  } finally {
    session.close();
    await remote.close();
    await server.close();
  }
});
