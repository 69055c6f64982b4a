// The page's own SigV4 (gateway/web/static/sigv4.js, WebCrypto) against AWS's published examples
// (S3 API reference, "Signature Calculations for the Authorization Header" and "Query String
// Authentication") and against the gateway's verifier, over real HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defaultStaticDir } from '../../gateway/web/index.js';
import { startTestGateway } from '../helpers/gateway.js';

interface SigV4Module {
  signHeaders(o: Record<string, unknown>): Promise<Record<string, string>>;
  presignUrl(o: Record<string, unknown>): Promise<string>;
  uriEncode(s: string, keepSlash?: boolean): string;
  sha256Hex(s: string): Promise<string>;
  sha256Base64(s: string): Promise<string>;
  EMPTY_SHA256: string;
  UNSIGNED_PAYLOAD: string;
}

// A computed specifier: the browser module is plain JS outside tsc's view, loaded from the source tree.
const load = (): Promise<SigV4Module> => import(pathToFileURL(join(defaultStaticDir(), 'sigv4.js')).href) as Promise<SigV4Module>;

const AWS = {
  accessKey: 'AKIAIOSFODNN7EXAMPLE',
  secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
  date: new Date(Date.UTC(2013, 4, 24)),
};
const HOST = 'examplebucket.s3.amazonaws.com';

function signatureOf(authorization: string): string {
  return /Signature=([0-9a-f]{64})$/.exec(authorization)![1];
}

test('AWS example: GET object with a Range header', async () => {
  const s = await load();
  const h = await s.signHeaders({ ...AWS, method: 'GET', path: '/test.txt', headers: { host: HOST, range: 'bytes=0-9' }, payloadHash: s.EMPTY_SHA256 });
  assert.equal(h['x-amz-date'], '20130524T000000Z');
  assert.match(h.authorization, /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/20130524\/us-east-1\/s3\/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, /);
  assert.equal(signatureOf(h.authorization), 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41');
});

test('AWS example: PUT object with a Date header and an encoded key', async () => {
  const s = await load();
  const body = 'Welcome to Amazon S3.';
  const payloadHash = await s.sha256Hex(body);
  assert.equal(payloadHash, '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072');
  const h = await s.signHeaders({
    ...AWS,
    method: 'PUT',
    path: `/${s.uriEncode('test$file.text', true)}`,
    headers: { host: HOST, date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
    payloadHash,
  });
  assert.equal(signatureOf(h.authorization), '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
});

test('AWS examples: query parameters (lifecycle, list objects)', async () => {
  const s = await load();
  const lifecycle = await s.signHeaders({ ...AWS, method: 'GET', path: '/', query: [['lifecycle', '']], headers: { host: HOST }, payloadHash: s.EMPTY_SHA256 });
  assert.equal(signatureOf(lifecycle.authorization), 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
  const list = await s.signHeaders({ ...AWS, method: 'GET', path: '/', query: [['prefix', 'J'], ['max-keys', '2']], headers: { host: HOST }, payloadHash: s.EMPTY_SHA256 });
  assert.equal(signatureOf(list.authorization), '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
});

test('AWS example: presigned GET', async () => {
  const s = await load();
  const url = await s.presignUrl({ ...AWS, origin: `https://${HOST}`, host: HOST, path: '/test.txt', expires: 86400 });
  const u = new URL(url);
  assert.equal(u.searchParams.get('X-Amz-Credential'), 'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request');
  assert.equal(u.searchParams.get('X-Amz-Signature'), 'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404');
});

test('uriEncode and sha256Base64', async () => {
  const s = await load();
  assert.equal(s.uriEncode('a b/c~d+é', true), 'a%20b/c~d%2B%C3%A9');
  assert.equal(s.uriEncode('a/b'), 'a%2Fb');
  for (const text of ['', '<Delete><Object><Key>a</Key></Object></Delete>']) {
    assert.equal(await s.sha256Base64(text), createHash('sha256').update(text).digest('base64'));
  }
});

test('the gateway accepts what the page signs: header auth, unsigned and hashed bodies, presigned GET', async () => {
  const s = await load();
  const gw = await startTestGateway();
  try {
    const { accessKey, secretKey } = gw.users[0];
    const host = new URL(gw.url).host;
    const call = async (method: string, path: string, opts: { query?: [string, string][]; body?: string; payloadHash?: string; headers?: Record<string, string> } = {}): Promise<Response> => {
      const query = opts.query ?? [];
      const signed = await s.signHeaders({ method, path, query, headers: { host, ...opts.headers }, payloadHash: opts.payloadHash ?? s.EMPTY_SHA256, accessKey, secretKey });
      delete signed.host;
      const qs = query.map(([k, v]) => `${s.uriEncode(k)}=${s.uriEncode(v)}`).join('&');
      return fetch(`${gw.url}${path}${qs ? `?${qs}` : ''}`, { method, headers: signed, body: opts.body });
    };
    assert.equal((await call('PUT', '/web-bucket')).status, 200);
    const key = 'folder/naïve name+(1).txt';
    const path = `/web-bucket/${s.uriEncode(key, true)}`;
    let r = await call('PUT', path, { body: 'hello page', payloadHash: s.UNSIGNED_PAYLOAD, headers: { 'content-type': 'text/plain' } });
    assert.equal(r.status, 200, await r.text());
    r = await call('GET', '/web-bucket', { query: [['list-type', '2'], ['prefix', 'folder/'], ['delimiter', '/']] });
    assert.equal(r.status, 200);
    assert.match(await r.text(), /naïve name\+\(1\)\.txt/);
    const url = await s.presignUrl({ origin: gw.url, host, path, query: [['response-content-disposition', 'attachment']], accessKey, secretKey, expires: 60 });
    r = await fetch(url);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-disposition'), 'attachment');
    assert.equal(await r.text(), 'hello page');
    const wrong = await s.signHeaders({ method: 'GET', path: '/', headers: { host }, payloadHash: s.EMPTY_SHA256, accessKey, secretKey: 'not-the-secret' });
    delete wrong.host;
    r = await fetch(`${gw.url}/`, { headers: wrong });
    assert.equal(r.status, 403);
    assert.match(await r.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
  } finally {
    await gw.close();
  }
});
