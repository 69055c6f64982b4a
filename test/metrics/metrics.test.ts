import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMetrics } from '../../backend/metrics/metrics.js';
import { createOpsHandler } from '../../backend/metrics/ops-handler.js';
import { readiness, type NetworkStatus } from '../../backend/metrics/network-status.js';
import { sample } from './prom-text.js';

test('requests, bytes and latency histograms by protocol and operation', async () => {
  const m = createMetrics({ processMetrics: false });
  m.observeRequest({ protocol: 's3', operation: 'PutObject', code: 'OK', seconds: 0.02, bytesIn: 1000 });
  m.observeRequest({ protocol: 's3', operation: 'GetObject', code: 'NoSuchKey', seconds: 0.003 });
  const done = m.startRequest('webdav', 'GET');
  done({ code: 'OK', bytesOut: 77 });
  const t = await m.text();
  assert.equal(sample(t, 'peerstor_requests_total{protocol="s3",operation="PutObject",code="OK"}'), 1);
  assert.equal(sample(t, 'peerstor_requests_total{protocol="s3",operation="GetObject",code="NoSuchKey"}'), 1);
  assert.equal(sample(t, 'peerstor_requests_total{protocol="webdav",operation="GET",code="OK"}'), 1);
  assert.equal(sample(t, 'peerstor_received_bytes_total{protocol="s3"}'), 1000);
  assert.equal(sample(t, 'peerstor_sent_bytes_total{protocol="webdav"}'), 77);
  assert.equal(sample(t, 'peerstor_request_duration_seconds_bucket{le="0.025",protocol="s3",operation="PutObject"}'), 1);
  assert.equal(sample(t, 'peerstor_request_duration_seconds_bucket{le="0.01",protocol="s3",operation="PutObject"}'), 0);
  assert.equal(sample(t, 'peerstor_request_duration_seconds_count{protocol="webdav",operation="GET"}'), 1);
});

test('pipeline stages, fragments per peer, repair, chunk health, peers', async () => {
  const m = createMetrics({ processMetrics: false });
  await m.timeStage('encrypt', async () => 1, 4096);
  await assert.rejects(m.timeStage('encode', () => Promise.reject(new Error('boom'))));
  m.observeFragment({ peer: 'PeerA', op: 'put', seconds: 0.01, bytes: 500 });
  m.observeFragment({ peer: 'PeerA', op: 'get', seconds: 0.5, error: 'Timeout' });
  m.observeFragment({ peer: 'PeerB', op: 'get', seconds: 0.01, bytes: 300 });
  m.setRepairQueue(12, 2);
  m.countRepair('repaired', 3);
  m.countRepair('failed');
  m.setChunkHealth({ healthy: 90, degraded: 9, lost: 1 });
  m.setPeers({ self: 1, connected: 15 });
  let t = await m.text();
  assert.equal(sample(t, 'peerstor_pipeline_stage_duration_seconds_count{stage="encrypt"}'), 1);
  assert.equal(sample(t, 'peerstor_pipeline_stage_duration_seconds_count{stage="encode"}'), 1, 'a throwing stage is still timed');
  assert.equal(sample(t, 'peerstor_pipeline_stage_bytes_total{stage="encrypt"}'), 4096);
  assert.equal(sample(t, 'peerstor_fragment_operations_total{peer="PeerA",op="put"}'), 1);
  assert.equal(sample(t, 'peerstor_fragment_failures_total{peer="PeerA",op="get",code="Timeout"}'), 1);
  assert.equal(sample(t, 'peerstor_fragment_bytes_total{op="get"}'), 300, 'failed gets move no bytes');
  assert.equal(sample(t, 'peerstor_repair_queue_chunks'), 12);
  assert.equal(sample(t, 'peerstor_repair_active_chunks'), 2);
  assert.equal(sample(t, 'peerstor_repairs_total{result="repaired"}'), 3);
  assert.equal(sample(t, 'peerstor_chunks{state="lost"}'), 1);
  assert.equal(sample(t, 'peerstor_peers{state="connected"}'), 15);
  assert.equal(sample(t, 'peerstor_peers{state="unreachable"}'), 0);
  m.forgetPeer('PeerA');
  t = await m.text();
  assert.equal(sample(t, 'peerstor_fragment_operations_total{peer="PeerA",op="put"}'), undefined);
  assert.equal(sample(t, 'peerstor_fragment_failures_total{peer="PeerA",op="get",code="Timeout"}'), undefined);
  assert.equal(sample(t, 'peerstor_fragment_operations_total{peer="PeerB",op="get"}'), 1, 'other peers stay');
});

test('dedup ratio and cache hit ratio are computed at scrape time', async () => {
  const m = createMetrics({ processMetrics: false });
  assert.equal(sample(await m.text(), 'peerstor_dedup_ratio'), 0);
  m.addDedup(1000, 1000);
  m.addDedup(1000, 0);
  m.countCache('chunk', true);
  m.countCache('chunk', true);
  m.countCache('chunk', true);
  m.countCache('chunk', false);
  const t = await m.text();
  assert.equal(sample(t, 'peerstor_dedup_ratio'), 2);
  assert.equal(sample(t, 'peerstor_dedup_logical_bytes_total'), 2000);
  assert.equal(sample(t, 'peerstor_cache_hit_ratio{cache="chunk"}'), 0.75);
  assert.equal(sample(t, 'peerstor_cache_requests_total{cache="chunk",result="miss"}'), 1);
  const all = createMetrics({ processMetrics: false });
  all.addDedup(10, 0);
  assert.equal(sample(await all.text(), 'peerstor_dedup_ratio'), Infinity);
});

test('process metrics and constant labels are optional', async () => {
  const m = createMetrics({ labels: { role: 'peer' } });
  const t = await m.text();
  assert.match(t, /peerstor_process_cpu_seconds_total\{role="peer"\} /);
  assert.equal(sample(t, 'peerstor_repair_queue_chunks{role="peer"}'), 0);
  assert.doesNotMatch(await createMetrics({ processMetrics: false }).text(), /process_cpu/);
});

test('readiness rule: index open and k+2 peers unless told otherwise', () => {
  assert.deepEqual(readiness({ indexOpen: true, healthyPeers: 12, k: 10 }), { ok: true, reasons: [] });
  const r = readiness({ indexOpen: false, healthyPeers: 11, k: 10 });
  assert.equal(r.ok, false);
  assert.equal(r.reasons.length, 2);
  assert.match(r.reasons[1], /11 healthy peers; placement needs 12/);
  assert.equal(readiness({ indexOpen: true, healthyPeers: 1, k: 10, minPeers: 1 }).ok, true);
});

async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

test('ops handler: health, ready, status, metrics, 404, 405, HEAD', async () => {
  const metrics = createMetrics({ processMetrics: false });
  metrics.observeRequest({ protocol: 's3', operation: 'ListBuckets', code: 'OK', seconds: 0.001 });
  let ready = { ok: false, reasons: ['only 3 healthy peers; placement needs 12'] };
  const status: NetworkStatus = {
    placement: { k: 10, n: 16 },
    peers: [{ id: 'PeerA', state: 'self', capacity: 100, free: 40 }],
    chunks: { total: 1, healthy: 1, degraded: 0, lost: 0 },
    at: new Date(0).toISOString(),
  };
  const ops = createOpsHandler({}, { metrics, ready: async () => ready, status: async () => status });
  assert.equal(ops.prefix, '/-/');
  const s = await serve(ops.handler);
  try {
    let r = await fetch(`${s.url}/-/health`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { ok: true });
    r = await fetch(`${s.url}/-/ready`);
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), ready);
    ready = { ok: true, reasons: [] };
    assert.equal((await fetch(`${s.url}/-/ready`)).status, 200);
    r = await fetch(`${s.url}/-/status`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), status);
    r = await fetch(`${s.url}/-/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(await r.text(), 'peerstor_requests_total{protocol="s3",operation="ListBuckets",code="OK"}'), 1);
    r = await fetch(`${s.url}/-/nope`);
    assert.equal(r.status, 404);
    r = await fetch(`${s.url}/-/health`, { method: 'POST' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
    r = await fetch(`${s.url}/-/metrics`, { method: 'HEAD' });
    assert.equal(r.status, 200);
    assert.equal(await r.text(), '');
  } finally {
    await s.close();
  }
});

test('ops handler: a failing or stuck ready()/status() answers 503, no status() answers 404', async () => {
  const metrics = createMetrics({ processMetrics: false });
  const stuck = createOpsHandler({ timeoutMs: 50 }, { metrics, ready: () => new Promise(() => {}), status: () => Promise.reject(new Error('down')) });
  const none = createOpsHandler({ prefix: '/ops/' }, { metrics, ready: async () => ({ ok: true, reasons: [] }) });
  const s = await serve((req, res) => ((req.url ?? '').startsWith('/ops/') ? none : stuck).handler(req, res));
  try {
    let r = await fetch(`${s.url}/-/ready`);
    assert.equal(r.status, 503);
    assert.deepEqual(await r.json(), { ok: false, reasons: ['the readiness check timed out'] });
    r = await fetch(`${s.url}/-/status`);
    assert.equal(r.status, 503);
    r = await fetch(`${s.url}/ops/status`);
    assert.equal(r.status, 404);
    assert.equal((await fetch(`${s.url}/ops/ready`)).status, 200);
  } finally {
    await s.close();
  }
});
