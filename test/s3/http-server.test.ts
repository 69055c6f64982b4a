// The listener: reserved prefixes reach their raw handlers untouched (bodies included), S3 owns
// the rest, anonymous browsers at / go to /ui/, HTTPS with a certificate, virtual-hosted buckets.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { parseListen } from '../../gateway/http-server.js';
import { rawS3, sdkClient, tempDir } from '../../compat/helpers/s3-clients.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const seen: { prefix: string; url: string; body: string }[] = [];

function echoMount(prefix: string) {
  return {
    prefix,
    handler: (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ prefix, url: req.url ?? '', body: Buffer.concat(chunks).toString() });
        res.setHeader('content-type', 'text/plain');
        res.end(`${prefix} got ${req.method} ${req.url}`);
      });
    },
  };
}

let gw: TestGateway;

before(async () => {
  gw = await startTestGateway({ init: { mounts: [echoMount('/d/'), echoMount('/ui/'), echoMount('/-/')] } });
});

after(async () => {
  await gw?.close();
});

test('reserved prefixes get the raw request, body and URL untouched', async () => {
  const r = await fetch(`${gw.url}/d/bucket/file%20x.txt?x=1`, { method: 'PUT', body: 'raw body', headers: { 'content-type': 'application/xml' } });
  assert.equal(await r.text(), '/d/ got PUT /d/bucket/file%20x.txt?x=1');
  assert.deepEqual(seen.at(-1), { prefix: '/d/', url: '/d/bucket/file%20x.txt?x=1', body: 'raw body' });
  const bare = await fetch(`${gw.url}/d`, { method: 'PROPFIND' });
  assert.equal(await bare.text(), '/d/ got PROPFIND /d');
  assert.equal(await (await fetch(`${gw.url}/-/health`)).text(), '/-/ got GET /-/health');
  assert.equal(await (await fetch(`${gw.url}/ui/`)).text(), '/ui/ got GET /ui/');
});

test('anonymous browser GET / → 302 /ui/; signed ListBuckets at / is S3', async () => {
  const r = await fetch(`${gw.url}/`, { redirect: 'manual' });
  assert.equal(r.status, 302);
  assert.equal(r.headers.get('location'), '/ui/');
  const signed = await rawS3(gw.url, { method: 'GET', path: '/', user: gw.users[0] });
  assert.equal(signed.status, 200);
  assert.match(signed.body, /<ListAllMyBucketsResult/);
  const other = await fetch(`${gw.url}/somebucket`, { redirect: 'manual' });
  assert.equal(other.status, 403);
  assert.ok(other.headers.get('x-amz-request-id'));
});

test('no /ui/ mount: anonymous / is an S3 AccessDenied', async () => {
  const g = await startTestGateway();
  try {
    const r = await fetch(`${g.url}/`, { redirect: 'manual' });
    assert.equal(r.status, 403);
    assert.match(await r.text(), /<Code>AccessDenied<\/Code>/);
  } finally {
    await g.close();
  }
});

test('virtual-hosted style with a domain', async () => {
  const g = await startTestGateway({ init: { s3: { domain: 'peerstor.test' } } });
  try {
    const u = g.users[0];
    assert.equal((await rawS3(g.url, { method: 'PUT', path: '/vhost-bucket', user: u })).status, 200);
    const port = new URL(g.url).port;
    const put = await rawS3(g.url, { method: 'PUT', path: '/a/key.txt', user: u, body: 'virtual', headers: { host: `vhost-bucket.peerstor.test:${port}` } });
    assert.equal(put.status, 200, put.body);
    const get = await rawS3(g.url, { method: 'GET', path: '/vhost-bucket/a/key.txt', user: u });
    assert.equal(get.body, 'virtual');
  } finally {
    await g.close();
  }
});

test('long transfers are not cut off by Node\'s default request timeout', () => {
  const server = gw.server.server;
  assert.equal(server.requestTimeout, 0);
  assert.ok(server.keepAliveTimeout >= 60_000);
  assert.ok(server.headersTimeout > 0);
});

test('--listen parsing', () => {
  assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  assert.deepEqual(parseListen(':9000'), { host: '0.0.0.0', port: 9000 });
  assert.throws(() => parseListen('8080'), RangeError);
  assert.throws(() => parseListen('host:70000'), RangeError);
});

function haveOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('HTTPS with --tls-cert/--tls-key serves S3 to the SDK', { skip: haveOpenssl() ? false : 'openssl is not installed (needed to make a test certificate)' }, async () => {
  const tmp = await tempDir('tls');
  try {
    const cert = join(tmp.dir, 'cert.pem');
    const key = join(tmp.dir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const g = await startTestGateway({ init: { tlsCert: cert, tlsKey: key } });
    try {
      assert.match(g.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const agent = new https.Agent({ ca: await readFile(cert) });
      const s3 = sdkClient(g.url, g.users[0], { requestHandler: { httpsAgent: agent } });
      await s3.send(new CreateBucketCommand({ Bucket: 'tls-bucket' }));
      await s3.send(new PutObjectCommand({ Bucket: 'tls-bucket', Key: 'k', Body: 'over tls' }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'tls-bucket', Key: 'k' }));
      assert.equal(await got.Body!.transformToString(), 'over tls');
      s3.destroy();
      agent.destroy();
    } finally {
      await g.close();
    }
  } finally {
    await tmp.cleanup();
  }
});

test('metadata set through another front end with non-Latin-1 text is sent as UTF-8 bytes', async () => {
  const store = await gw.stores.open(gw.users[0]);
  await store.createBucket('utf8-meta');
  async function* body(): AsyncGenerator<Uint8Array> {
    yield Buffer.from('x');
  }
  await store.putObject('utf8-meta', 'k', body(), {
    headers: { contentDisposition: 'attachment; filename="Übersicht €.pdf"' },
    userMetadata: { note: 'naïve ☃', bad: 'line\r\nbreak' },
  });
  const r = await rawS3(gw.url, { method: 'GET', path: '/utf8-meta/k', user: gw.users[0] });
  assert.equal(r.status, 200);
  const utf8 = (v: string | string[] | undefined) => Buffer.from(String(v), 'latin1').toString('utf8');
  assert.equal(utf8(r.headers['content-disposition']), 'attachment; filename="Übersicht €.pdf"');
  assert.equal(utf8(r.headers['x-amz-meta-note']), 'naïve ☃');
  assert.equal(r.headers['x-amz-meta-bad'], 'line  break');
});
