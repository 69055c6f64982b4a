// The web page (/ui/) in a real browser: Debian's Chromium driven by playwright-core, against the
// real S3 front end on loopback. Covers sign-in (wrong and right credentials), buckets, a 50 MiB
// multipart upload with progress to 100 %, download + hash, share link in a fresh context,
// drag and drop, folders, rename, delete, resume after a "reload", the network view and the
// phone layout. Screenshots of each view go to test-output/screenshots/ (gitignored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateMultipartUploadCommand, GetObjectCommand, ListObjectsV2Command, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { silentLogger } from '../backend/core/logger.js';
import { createMetrics } from '../backend/metrics/metrics.js';
import type { NetworkStatus } from '../backend/metrics/network-status.js';
import { createOpsHandler } from '../backend/metrics/ops-handler.js';
import { createWebHandler } from '../gateway/web/index.js';
import { startTestGateway, type TestGateway } from '../test/helpers/gateway.js';
import { sdkClient, sha256File, tempDir } from './helpers/s3-clients.js';

// Browser globals used inside page.evaluate/waitForFunction callbacks, which run in Chromium, not
// Node. Declared loosely in this module only: the DOM lib would leak DOM types into every file.
/* eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above */
declare const document: any, window: any, sessionStorage: any, localStorage: any, MutationObserver: any, DataTransfer: any;

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(process.cwd(), 'test-output', 'screenshots');
const MiB = 2 ** 20;

const STATUS: NetworkStatus = {
  self: '12D3KooWSelfPeer000000000000000000000000000000001',
  placement: { k: 10, n: 16 },
  peers: Array.from({ length: 16 }, (_, i) => ({
    id: `12D3KooWPeer${String(i).padStart(36, '0')}`,
    address: `/ip4/127.0.0.1/tcp/${41000 + i}`,
    capacity: 100 * 2 ** 30,
    free: (60 - i) * 2 ** 30,
    lastSeen: new Date(Date.UTC(2026, 10, 25, 12, 0, i)).toISOString(),
    state: i === 0 ? ('self' as const) : i >= 14 ? ('unreachable' as const) : ('connected' as const),
  })),
  chunks: { total: 1200, healthy: 1100, degraded: 95, lost: 5 },
  repair: { queued: 95, active: 4, repaired: 310, failed: 1 },
  at: new Date(Date.UTC(2026, 10, 25, 12, 1)).toISOString(),
};

let gw: TestGateway;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let s3: S3Client;
let tmp: { dir: string; cleanup(): Promise<void> };
let bigFile: string;
let bigHash: string;

/** A file of `size` pseudo-random bytes (written in 1 MiB slices, never held whole). */
async function makeFile(path: string, size: number, seed: number): Promise<string> {
  const fh = await open(path, 'w');
  const hash = createHash('sha256');
  let x = seed;
  try {
    for (let off = 0; off < size; off += MiB) {
      const buf = Buffer.allocUnsafe(Math.min(MiB, size - off));
      for (let i = 0; i + 4 <= buf.length; i += 4) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        buf.writeUInt32LE(x >>> 0, i);
      }
      hash.update(buf);
      await fh.write(buf);
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function bodyText(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

async function keys(bucket: string): Promise<string[]> {
  const r = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (r.Contents ?? []).map((c) => c.Key!);
}

before(async () => {
  await mkdir(SHOTS, { recursive: true });
  tmp = await tempDir('peerstor-browser-');
  bigFile = join(tmp.dir, 'big.bin');
  bigHash = await makeFile(bigFile, 50 * MiB, 0x9e3779b9);
  const web = createWebHandler({ prefix: '/ui/' }, { logger: silentLogger() });
  const ops = createOpsHandler({}, { metrics: createMetrics({ processMetrics: false }), ready: async () => ({ ok: true, reasons: [] }), status: async () => STATUS });
  gw = await startTestGateway({ init: { mounts: [web, ops] } });
  s3 = sdkClient(gw.url, gw.users[0]);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1200, height: 800 } });
  page = await context.newPage();
  page.setDefaultTimeout(60_000);
  // The page must make no request outside the gateway's origin.
  page.on('request', (req) => {
    const u = req.url();
    if (!u.startsWith(gw.url) && !u.startsWith('data:') && !u.startsWith('blob:')) throw new Error(`external request ${u}`);
  });
});

after(async () => {
  await browser?.close();
  await gw?.close();
  s3?.destroy();
  await tmp?.cleanup();
});

test('chromium is where the brief says', () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} missing: apt-get install -y chromium`);
});

test('/ redirects a browser to the sign-in page; wrong credentials say so clearly', async () => {
  const external: string[] = [];
  page.on('requestfailed', (r) => external.push(r.url()));
  await page.goto(`${gw.url}/`);
  assert.equal(new URL(page.url()).pathname, '/ui/');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await shot('01-signin');
  await page.getByLabel('Access key').fill(gw.users[0].accessKey);
  await page.getByLabel('Secret key').fill('definitely-not-the-secret');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const err = page.locator('#signin-error');
  await err.filter({ hasText: /\S/ }).waitFor();
  assert.equal(await err.textContent(), 'Wrong access key or secret key. Check both and try again.');
  assert.equal(await err.getAttribute('role'), 'alert');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'secret-key', 'focus goes back to the secret');
  await shot('02-signin-wrong');
  await page.getByLabel('Access key').fill('AKIDNOSUCHUSER');
  await page.getByLabel('Secret key').fill('whatever-secret');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await err.filter({ hasText: 'Wrong access key' }).waitFor();
  assert.deepEqual(external, []);
});

test('sign in with the keyboard only; the secret stays out of storage unless remembered', async () => {
  await page.getByLabel('Access key').focus();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(gw.users[0].accessKey);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type(gw.users[0].secretKey);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Buckets' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'buckets-title', 'focus moves to the new view');
  const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }));
  assert.ok(!stored.includes(gw.users[0].secretKey), 'not remembered → not stored');
  // "Remember" keeps it in sessionStorage, so a reload stays signed in.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('Access key').fill(gw.users[0].accessKey);
  await page.getByLabel('Secret key').fill(gw.users[0].secretKey);
  await page.getByLabel(/Remember me/).check();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Buckets' }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: 'Buckets' }).waitFor();
  assert.ok((await page.evaluate(() => sessionStorage.getItem('peerstor.credentials')))?.includes(gw.users[0].secretKey));
});

test('create a bucket (and refuse an invalid name)', async () => {
  await page.getByLabel('New bucket').fill('Bad_Name');
  await page.getByRole('button', { name: 'Create bucket' }).click();
  await page.locator('#alert').filter({ hasText: 'not a valid bucket name' }).waitFor();
  await page.getByLabel('New bucket').fill('photos');
  await page.getByRole('button', { name: 'Create bucket' }).click();
  await page.getByRole('link', { name: 'photos' }).waitFor();
  await shot('03-buckets');
  await page.getByRole('link', { name: 'photos' }).click();
  await page.getByRole('heading', { name: 'photos' }).waitFor();
  assert.match(page.url(), /#\/b\/photos\/$/);
});

test('upload 50 MiB (multipart) and watch the progress reach 100 %', async () => {
  await page.evaluate(() => {
    const w = window as unknown as { seen: string[] };
    w.seen = [];
    new MutationObserver(() => {
      const t = document.querySelector('#upload-list .pct')?.textContent;
      if (t && w.seen.at(-1) !== t) w.seen.push(t);
    }).observe(document.getElementById('upload-list')!, { subtree: true, childList: true, characterData: true });
  });
  const parts: string[] = [];
  const onReq = (r: { method(): string; url(): string }): void => {
    if (r.method() === 'PUT' && r.url().includes('uploadId=')) parts.push(r.url());
  };
  page.on('request', onReq);
  await page.setInputFiles('#file-input', bigFile);
  await page.locator('#upload-list .pct', { hasText: '100 %' }).waitFor({ timeout: 120_000 });
  await page.locator('#upload-list li', { hasText: 'done:' }).waitFor();
  page.off('request', onReq);
  const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
  const pcts = seen.map((s) => Number.parseInt(s, 10));
  assert.equal(pcts.at(-1), 100);
  assert.ok(pcts.some((p) => p > 0 && p < 100), `intermediate progress shown (${seen.join(', ')})`);
  for (let i = 1; i < pcts.length; i++) assert.ok(pcts[i] >= pcts[i - 1], `progress never goes back (${seen.join(', ')})`);
  assert.equal(parts.length, 7, '50 MiB in 8 MiB parts');
  assert.equal(await page.locator('progress').first().getAttribute('aria-label'), 'Upload of big.bin');
  await page.getByRole('cell', { name: 'big.bin', exact: true }).waitFor();
  await shot('04-uploaded');
  assert.equal(createHash('sha256').update(await bodyText(s3, 'photos', 'big.bin')).digest('hex'), bigHash);
});

test('download it back: same SHA-256', async () => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download big.bin' }).click()]);
  assert.equal(download.suggestedFilename(), 'big.bin');
  const saved = join(tmp.dir, 'downloaded.bin');
  await download.saveAs(saved);
  assert.equal(await sha256File(saved), bigHash);
});

test('drag and drop a file; share it; the link works in a fresh browser context', async () => {
  const dt = await page.evaluateHandle(() => {
    const d = new DataTransfer();
    d.items.add(new File(['hello from a share link'], 'note.txt', { type: 'text/plain' }));
    return d;
  });
  await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer: dt });
  await page.getByRole('cell', { name: 'note.txt', exact: true }).waitFor();
  await page.getByRole('button', { name: 'Share note.txt' }).click();
  await page.getByLabel('Link expires after').selectOption('86400');
  await page.getByRole('button', { name: 'Create link' }).click();
  const input = page.getByLabel('Link', { exact: true });
  await page.waitForFunction(() => document.getElementById('share-url').value.startsWith('http'));
  const url = await input.inputValue();
  assert.equal(new URL(url).searchParams.get('X-Amz-Expires'), '86400');
  await shot('05-share');
  await page.keyboard.press('Escape');
  const fresh = await browser.newContext();
  try {
    const p2 = await fresh.newPage();
    const res = await p2.goto(url);
    assert.equal(res?.status(), 200);
    assert.equal(await p2.locator('body').innerText(), 'hello from a share link');
    // A large shared file too, fetched with the fresh context's own client.
    await page.getByRole('button', { name: 'Share big.bin' }).click();
    await page.getByRole('button', { name: 'Create link' }).click();
    await page.waitForFunction(() => document.getElementById('share-url').value.includes('big.bin'));
    const bigUrl = await input.inputValue();
    await page.keyboard.press('Escape');
    const r = await fresh.request.get(bigUrl);
    assert.equal(r.status(), 200);
    assert.equal(createHash('sha256').update(await r.body()).digest('hex'), bigHash);
    const tampered = new URL(bigUrl);
    tampered.searchParams.set('X-Amz-Expires', '604800');
    assert.equal((await fresh.request.get(tampered.href)).status(), 403, 'a link cannot be extended');
  } finally {
    await fresh.close();
  }
});

test('new folder, rename, delete', async () => {
  await page.getByLabel('New folder').fill('docs');
  await page.getByRole('button', { name: 'Create folder' }).click();
  await page.getByRole('link', { name: 'docs/' }).waitFor();
  await page.getByRole('button', { name: 'Rename note.txt' }).click();
  await page.getByLabel('New name').fill('renamed.txt');
  await page.getByRole('button', { name: 'Rename', exact: true }).click();
  await page.getByRole('cell', { name: 'renamed.txt', exact: true }).waitFor();
  assert.equal(await page.getByRole('cell', { name: 'note.txt', exact: true }).count(), 0);
  assert.deepEqual((await bodyText(s3, 'photos', 'renamed.txt')).toString(), 'hello from a share link');
  await page.getByRole('button', { name: 'Delete big.bin' }).click();
  await shot('06-confirm-delete');
  await page.locator('#confirm-dialog').getByRole('button', { name: 'Delete' }).click();
  await page.locator('#toast', { hasText: 'big.bin deleted.' }).waitFor();
  assert.equal(await page.getByRole('cell', { name: 'big.bin', exact: true }).count(), 0);
  assert.deepEqual((await keys('photos')).sort(), ['docs/', 'renamed.txt']);
  // A folder rename moves every key under it.
  await s3.send(new (await import('@aws-sdk/client-s3')).PutObjectCommand({ Bucket: 'photos', Key: 'docs/a/b.txt', Body: 'deep' }));
  await page.getByRole('button', { name: 'Rename docs/' }).click();
  await page.getByLabel('New name').fill('papers');
  await page.getByRole('button', { name: 'Rename', exact: true }).click();
  await page.getByRole('link', { name: 'papers/' }).waitFor();
  assert.deepEqual((await keys('photos')).sort(), ['papers/', 'papers/a/b.txt', 'renamed.txt']);
  await page.getByRole('link', { name: 'papers/' }).click();
  await page.getByRole('heading', { name: 'papers/' }).waitFor();
  await shot('07-folder');
  await page.getByRole('link', { name: 'photos' }).click();
  await page.getByRole('button', { name: 'Delete papers/' }).click();
  await page.locator('#confirm-dialog').getByRole('button', { name: 'Delete' }).click();
  await page.locator('#toast', { hasText: 'Folder papers/ deleted.' }).waitFor();
  assert.deepEqual(await keys('photos'), ['renamed.txt']);
});

test('an interrupted multipart upload resumes: only the missing part is sent', async () => {
  const file = join(tmp.dir, 'resume.bin');
  const hash = await makeFile(file, 20 * MiB, 12345);
  const data = await readFile(file);
  // What a reload leaves behind: an upload with its first two 8 MiB parts stored.
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'photos', Key: 'resume.bin' }));
  for (const n of [1, 2]) {
    await s3.send(new UploadPartCommand({ Bucket: 'photos', Key: 'resume.bin', UploadId, PartNumber: n, Body: data.subarray((n - 1) * 8 * MiB, n * 8 * MiB) }));
  }
  await page.reload();
  const row = page.locator('#unfinished-list li', { hasText: 'resume.bin' });
  await row.waitFor();
  await shot('08-unfinished');
  const sent: string[] = [];
  const onReq = (r: { method(): string; url(): string }): void => {
    if (r.method() === 'PUT' && r.url().includes('uploadId=')) sent.push(new URL(r.url()).searchParams.get('partNumber')!);
  };
  page.on('request', onReq);
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), row.getByRole('button', { name: 'Resume upload of resume.bin' }).click()]);
  await chooser.setFiles(file);
  await page.locator('#upload-list li', { hasText: 'done:' }).waitFor({ timeout: 120_000 });
  page.off('request', onReq);
  assert.deepEqual(sent, ['3']);
  assert.match(await page.locator('#upload-list').innerText(), /100 %/);
  assert.equal(createHash('sha256').update(await bodyText(s3, 'photos', 'resume.bin')).digest('hex'), hash);
  await page.locator('#unfinished').waitFor({ state: 'hidden' });
});

test('paging with continuation tokens and sorting', async () => {
  const { PutObjectCommand } = await import('@aws-sdk/client-s3');
  await s3.send(new (await import('@aws-sdk/client-s3')).CreateBucketCommand({ Bucket: 'many' }));
  for (let i = 0; i < 120; i++) await s3.send(new PutObjectCommand({ Bucket: 'many', Key: `k${String(i).padStart(3, '0')}`, Body: 'x'.repeat(i) }));
  await page.goto(`${gw.url}/ui/#/b/many/`);
  await page.getByRole('cell', { name: 'k000', exact: true }).waitFor();
  await page.getByLabel('Per page').selectOption('50');
  await page.locator('#page-label', { hasText: 'Page 1' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('#object-rows tr').length === 50);
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.locator('#page-label', { hasText: 'Page 2' }).waitFor();
  await page.getByRole('cell', { name: 'k050', exact: true }).waitFor();
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.locator('#page-label', { hasText: 'Page 3' }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('#object-rows tr').length === 20);
  assert.ok(await page.getByRole('button', { name: 'Next page' }).isDisabled());
  await page.getByRole('button', { name: 'Previous page' }).click();
  await page.locator('#page-label', { hasText: 'Page 2' }).waitFor();
  await page.getByRole('cell', { name: 'k099', exact: true }).waitFor();
  await page.getByRole('button', { name: 'Size' }).click();
  await page.getByRole('button', { name: 'Size' }).click();
  const first = await page.locator('#object-rows tr td:first-child').first().textContent();
  assert.equal(first, 'k099', 'size descending within the page');
  assert.equal(await page.locator('th[data-sort="size"]').getAttribute('aria-sort'), 'descending');
});

test('network view: peers, capacity, chunk health, repair; a 404 status is explained', async () => {
  await page.getByRole('link', { name: 'Network' }).click();
  await page.getByRole('heading', { name: 'Network' }).waitFor();
  await page.locator('#net-peers', { hasText: '14 live of 16' }).waitFor();
  assert.equal(await page.locator('#net-chunks').textContent(), '1100 healthy, 95 degraded, 5 lost (of 1200)');
  assert.equal(await page.locator('#net-repair').textContent(), '95 queued, 4 in progress, 310 repaired, 1 failed');
  assert.equal(await page.locator('#peer-rows tr').count(), 16);
  assert.match((await page.locator('#net-capacity').textContent())!, /^760\.0 GiB used of 1\.56 TiB$/);
  await shot('09-network');
  await page.route('**/-/status', (route) => route.fulfill({ status: 404, body: '{}' }));
  await page.reload();
  await page.locator('#network-message', { hasText: '404' }).waitFor();
  assert.ok(await page.locator('#network-body').isHidden());
  await page.unroute('**/-/status');
});

test('readable on a phone', async () => {
  await page.setViewportSize({ width: 375, height: 740 });
  await page.goto(`${gw.url}/ui/#/b/photos/`);
  await page.getByRole('cell', { name: 'renamed.txt', exact: true }).waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `no horizontal scrolling (${overflow} px too wide)`);
  await shot('10-phone-browse');
  await page.getByRole('link', { name: 'Network' }).click();
  await page.locator('#net-peers', { hasText: 'live' }).waitFor();
  await shot('11-phone-network');
});
