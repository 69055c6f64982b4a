/**
 * The web page's figures (issue 6, "Measure"):
 *   1. page weight: bytes transferred for the first view (sign-in), gzip as served;
 *   2. time to first listing of a 10,000-object bucket in the browser (sign-in done, navigate to
 *      the bucket, until its first row shows);
 *   3. upload rate in the browser (the page's multipart: 8 MiB parts, 4 in flight) against
 *      `aws s3 cp` on the same file to the same gateway, in the same run (the baseline).
 *
 *   node --import tsx bench/web.bench.ts                      embedded default: PeerStore on a disk volume
 *   BENCH_WEB_STORE=memory node --import tsx bench/web.bench.ts    the in-memory reference store
 *   BENCH_WEB_MIB=256 …                                        upload size (default 256)
 *
 * CPU ms/MiB is this process's (the gateway's) CPU: the browser and aws cli run in their own.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { chromium } from 'playwright-core';
import { silentLogger } from '../backend/core/logger.js';
import type { TenantStores } from '../backend/core/object-store.js';
import { DiskFragmentStore } from '../backend/fragments/disk-fragment-store.js';
import { LocalPlacement } from '../backend/store/local-placement.js';
import { MemoryTenantStores } from '../backend/store/memory-object-store.js';
import { PeerStore } from '../backend/store/peer-store.js';
import { UserRegistry } from '../gateway/common/users.js';
import { createHttpServer } from '../gateway/http-server.js';
import { createWebHandler } from '../gateway/web/index.js';
import { measure, randomBytesFast, report } from './lib.js';

const MiB = 2 ** 20;
const USER = { accessKey: 'AKIDWEBBENCH', secretKey: 'web-bench-secret-0123456789' };
const SIZE = Number(process.env.BENCH_WEB_MIB ?? 256) * MiB;
const AWS = existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';

async function openStores(dir: string): Promise<{ stores: TenantStores; name: string; close(): Promise<void> }> {
  if (process.env.BENCH_WEB_STORE === 'memory') return { stores: new MemoryTenantStores(), name: 'MemoryTenantStores', close: async () => undefined };
  const logger = silentLogger();
  const fragments = await DiskFragmentStore.open({ volumes: [{ path: join(dir, 'vol'), mode: 'rw' }], logger });
  const stores = await PeerStore.open({ stateDir: join(dir, 'state'), kdfIterations: 1000 }, { logger, placement: new LocalPlacement({ store: fragments, logger }) });
  return {
    stores,
    name: 'embedded default (PeerStore, one disk volume, RS 10+6)',
    async close() {
      await stores.close();
      await fragments.close();
    },
  };
}

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => execFile(cmd, args, { env, maxBuffer: 1 << 26 }, (err, _o, stderr) => (err ? reject(new Error(`${cmd}: ${stderr}`)) : resolve())));
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-bench-web-'));
  const { stores, name, close } = await openStores(dir);
  const web = createWebHandler({ prefix: '/ui/' }, { logger: silentLogger() });
  const gw = await createHttpServer({ listen: '127.0.0.1:0', mounts: [web] }, { users: new UserRegistry([USER]), stores });
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    console.log(`store: ${name}`);
    // 1. page weight
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(300_000);
    await page.goto(`${gw.url}/`, { waitUntil: 'networkidle' });
    // Page-side code as strings: it runs in Chromium, and this program has no DOM types.
    const weight = (await page.evaluate(`(() => {
      const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
      return { requests: entries.length, transfer: entries.reduce((s, e) => s + e.transferSize, 0), body: entries.reduce((s, e) => s + e.decodedBodySize, 0) };
    })()`)) as { requests: number; transfer: number; body: number };
    console.log(`page weight, first view: ${weight.requests} requests, ${weight.transfer} bytes transferred (gzip, headers included), ${weight.body} bytes uncompressed`);

    // 2. time to first listing of 10,000 objects
    const store = await stores.open(USER);
    await store.createBucket('tenk');
    const t0 = performance.now();
    for (let i = 0; i < 10_000; i += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => store.putObject('tenk', `dir/file-${String(i + j).padStart(5, '0')}.txt`, (async function* () { yield Buffer.from(`object ${i + j}`); })())));
    }
    console.log(`(seeded 10,000 objects in ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    await page.getByLabel('Access key').fill(USER.accessKey);
    await page.getByLabel('Secret key').fill(USER.secretKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Buckets' }).waitFor();
    const times: number[] = [];
    for (const view of ['#/b/tenk/', '#/b/tenk/dir/']) {
      for (let i = 0; i < 3; i++) {
        await page.goto(`${gw.url}/ui/#/`);
        await page.getByRole('heading', { name: 'Buckets' }).waitFor();
        const s = performance.now();
        await page.evaluate(`location.hash = ${JSON.stringify(view)}`);
        await page.locator('#object-rows tr').first().waitFor();
        times.push(performance.now() - s);
      }
      console.log(`first listing of ${view} (10,000 objects under dir/, 100 per page): best ${Math.min(...times).toFixed(0)} ms of 3`);
      times.length = 0;
    }

    // 3. upload: browser vs aws cli, same file
    const file = join(dir, 'upload.bin');
    await writeFile(file, randomBytesFast(SIZE, 7));
    const home = join(dir, 'home');
    const env = { ...process.env, HOME: home, AWS_ACCESS_KEY_ID: USER.accessKey, AWS_SECRET_ACCESS_KEY: USER.secretKey, AWS_DEFAULT_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };
    await store.createBucket('uploads');
    let n = 0;
    const cli = await measure(`aws s3 cp ${SIZE / MiB} MiB (baseline)`, SIZE, () => sh(AWS, ['--endpoint-url', gw.url, 's3', 'cp', file, `s3://uploads/cli-${n++}.bin`, '--only-show-errors'], env), 2);
    await page.goto(`${gw.url}/ui/#/b/uploads/`);
    await page.getByRole('heading', { name: 'uploads' }).waitFor();
    const ui = await measure(`browser page ${SIZE / MiB} MiB (8 MiB parts, 4 in flight)`, SIZE, async () => {
      await page.evaluate(`document.getElementById('upload-list').replaceChildren()`);
      await page.setInputFiles('#file-input', file);
      await page.locator('#upload-list li', { hasText: 'done:' }).waitFor();
    }, 2);
    report([cli, ui], cli);
  } finally {
    await browser.close();
    await gw.close();
    await close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
