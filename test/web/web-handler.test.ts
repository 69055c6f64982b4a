import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { silentLogger } from '../../backend/core/logger.js';
import { createMetrics } from '../../backend/metrics/metrics.js';
import { createOpsHandler } from '../../backend/metrics/ops-handler.js';
import { createWebHandler, CONTENT_SECURITY_POLICY } from '../../gateway/web/index.js';
import { startTestGateway } from '../helpers/gateway.js';

/** Raw GET (node:http, so no automatic decompression or redirects). */
function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('serves the real page: index, modules, CSS, with CSP, ETag/304, gzip', async () => {
  const web = createWebHandler({ prefix: '/ui/' }, { logger: silentLogger() });
  const gw = await startTestGateway({ init: { mounts: [web] } });
  try {
    const index = await get(`${gw.url}/ui/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(index.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.match(index.headers['content-security-policy']!, /default-src 'none'/);
    const html = index.body.toString();
    assert.match(html, /<script type="module" src="app.js"><\/script>/);
    // Every local reference resolves; nothing points off-origin.
    const refs = [...html.matchAll(/(?:src|href)="([^"#]+)"/g)].map((m) => m[1]).filter((r) => !r.startsWith('data:'));
    assert.ok(refs.length >= 2);
    for (const ref of refs) {
      assert.doesNotMatch(ref, /^(https?:)?\/\//, `external reference ${ref}`);
      assert.equal((await get(`${gw.url}/ui/${ref}`)).status, 200, ref);
    }
    for (const mod of ['app.js', 'sigv4.js', 's3.js', 'upload.js', 'network.js', 'format.js']) {
      const r = await get(`${gw.url}/ui/${mod}`);
      assert.equal(r.status, 200, mod);
      assert.equal(r.headers['content-type'], 'text/javascript; charset=utf-8');
      assert.doesNotMatch(r.body.toString(), /https?:\/\/(?!s3\.amazonaws\.com)/, `${mod} names no external URL`);
    }
    const etag = index.headers.etag!;
    assert.equal((await get(`${gw.url}/ui/`, { 'if-none-match': etag })).status, 304);
    const gz = await get(`${gw.url}/ui/app.js`, { 'accept-encoding': 'gzip, br' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    const plain = await get(`${gw.url}/ui/app.js`);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.deepEqual(gunzipSync(gz.body), plain.body);
    assert.ok(gz.body.length < plain.body.length / 2);
    const head = await get(`${gw.url}/ui/app.css`, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(Number(head.headers['content-length']), (await get(`${gw.url}/ui/app.css`)).body.length);
  } finally {
    await gw.close();
  }
});

test('redirects, unknown files, methods, traversal', async () => {
  const web = createWebHandler({ prefix: '/ui/' }, { logger: silentLogger() });
  const gw = await startTestGateway({ init: { mounts: [web] } });
  try {
    const root = await get(`${gw.url}/`, { accept: 'text/html' });
    assert.equal(root.status, 302, 'a browser asking for / without credentials goes to the page');
    assert.equal(root.headers.location, '/ui/');
    const bare = await get(`${gw.url}/ui`);
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.location, '/ui/');
    assert.equal((await get(`${gw.url}/ui/nope.js`)).status, 404);
    assert.equal((await get(`${gw.url}/ui/..%2F..%2Fpackage.json`)).status, 404);
    assert.equal((await get(`${gw.url}/ui/%E0%A4%A`)).status, 400);
    const post = await get(`${gw.url}/ui/`, {}, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
  } finally {
    await gw.close();
  }
});

test('a custom static folder, subfolders included; a bad prefix is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-web-'));
  try {
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>x</title>');
    await mkdir(join(dir, 'img'));
    await writeFile(join(dir, 'img', 'a.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    const web = createWebHandler({ prefix: '/web/', staticDir: dir }, { logger: silentLogger() });
    const server = http.createServer(web.handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      assert.equal((await get(`http://127.0.0.1:${port}/web/`)).body.toString(), '<!doctype html><title>x</title>');
      const svg = await get(`http://127.0.0.1:${port}/web/img/a.svg`);
      assert.equal(svg.headers['content-type'], 'image/svg+xml');
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
    assert.throws(() => createWebHandler({ prefix: '/web' }, { logger: silentLogger() }), RangeError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the page and the ops endpoints mount side by side on the gateway', async () => {
  const web = createWebHandler({ prefix: '/ui/' }, { logger: silentLogger() });
  const ops = createOpsHandler({}, { metrics: createMetrics({ processMetrics: false }), ready: async () => ({ ok: true, reasons: [] }) });
  const gw = await startTestGateway({ init: { mounts: [web, ops] } });
  try {
    assert.equal((await get(`${gw.url}/-/health`)).status, 200);
    assert.equal((await get(`${gw.url}/-/status`)).status, 404, 'the page handles this 404 (no network status plugged in)');
    assert.equal((await get(`${gw.url}/ui/`)).status, 200);
    const s3 = await get(`${gw.url}/some-bucket`);
    assert.equal(s3.status, 403, 'everything else is still S3 and needs credentials');
  } finally {
    await gw.close();
  }
});
