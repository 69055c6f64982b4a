/**
 * A store body stream that fails mid-file (peers lost, a corrupt chunk: ObjectStore.getObject's
 * contract says that surfaces as a stream error) must reach the client as an error and never
 * take the gateway process down. An 'error' emitted with no listener is an uncaught exception, so
 * every test here records uncaught exceptions itself and asserts there were none.
 *
 * Unit: SequentialReader (SFTP) with a body that fails while no READ waits, while one waits,
 * mid-request and after close. End to end: SFTP (ssh2 client, OpenSSH sftp), WebDAV (node http), FTP (curl)
 * and S3 (AWS SDK) over a store whose `broken.bin` fails after its first 64 KiB; a second
 * session on the same server still works.
 */
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Readable } from 'node:stream';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { StoreError } from '../../backend/core/errors.js';
import type { GetOptions, GetResult, ObjectStore, TenantStores, TenantUser } from '../../backend/core/object-store.js';
import { MemoryTenantStores } from '../../backend/store/memory-object-store.js';
import { FsError, type PathView } from '../../gateway/common/path-view.js';
import { SequentialReader } from '../../gateway/sftp/sequential-reader.js';
import { ALICE, run, startFileGateways, type FileGateways } from '../helpers/file-gateways.js';
import { startTestGateway, TEST_USERS } from '../helpers/gateway.js';

const uncaught: unknown[] = [];
const recordUncaught = (err: unknown): void => {
  uncaught.push(err);
};

before(() => {
  process.on('uncaughtException', recordUncaught);
});

after(() => {
  process.off('uncaughtException', recordUncaught);
});

// Each test answers for its own uncaught exceptions.
beforeEach(() => {
  uncaught.length = 0;
});

function assertNoUncaught(): void {
  assert.deepEqual(
    uncaught.map((e) => String((e as Error)?.message ?? e)),
    [],
    'a stream error escaped as an uncaught exception (the gateway process would have died)',
  );
}

/** Lets a destroy(err) scheduled now emit its 'error' (Node emits it on process.nextTick). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

/** A path view whose every read opens `open(start)`; counts the opens. */
function fakeView(open: (start: number) => Readable): { view: PathView; opens: number[] } {
  const opens: number[] = [];
  const view = {
    read: async (_path: string, options: { range?: { start?: number } } = {}) => {
      const start = options.range?.start ?? 0;
      opens.push(start);
      return { body: open(start) };
    },
  } as unknown as PathView;
  return { view, opens };
}

/** fakeView over `data` whose every body delivers 10 bytes from where it opens, then waits (the
 *  test destroys it when it wants the failure); `bodies` in opening order. */
function tenBytesThenWait(data: Buffer): { view: PathView; opens: number[]; bodies: Readable[] } {
  const bodies: Readable[] = [];
  const { view, opens } = fakeView((start) => {
    const b = new Readable({ read() {} });
    b.push(data.subarray(start, start + 10));
    bodies.push(b);
    return b;
  });
  return { view, opens, bodies };
}

const LOST = (): StoreError => new StoreError('Unavailable', 'fragment holders of a chunk unreachable');

// ---- SequentialReader ---------------------------------------------------------------------------

test('SequentialReader: a body that fails while no READ is pending is kept, not thrown; the next READ fails with it', async () => {
  const data = pattern(100);
  const { view, opens, bodies } = tenBytesThenWait(data);
  const r = new SequentialReader(view, '/bkt/file.bin', data.length);
  assert.deepEqual(await r.read(0, 10), data.subarray(0, 10));
  // No read is pending now: this is where the unpatched reader had no 'error' listener.
  bodies[0].destroy(LOST());
  await settle();
  assertNoUncaught();
  assert.equal(r.failed, true);
  const err = await r.read(10, 10).then(
    () => assert.fail('the read after the failure must fail'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof FsError);
  assert.equal(err.code, 'EAGAIN');
  assert.match(err.message, /\/bkt\/file\.bin: reading failed after byte 10: fragment holders of a chunk unreachable/);
  // The failure stays with the handle (no reopen storm from a client's pipelined reads)…
  await assert.rejects(r.read(50, 10), (e: unknown) => e === err);
  assert.deepEqual(opens, [0]);
  // …and the handle still closes, twice even.
  r.close();
  r.close();
  // A new handle (the client reopening the file) reads again.
  const again = new SequentialReader(view, '/bkt/file.bin', data.length);
  assert.deepEqual(await again.read(20, 10), data.subarray(20, 30));
  again.close();
  await settle();
  assertNoUncaught();
});

test('SequentialReader: a failure while a READ waits rejects that READ', async () => {
  let body: Readable | undefined;
  const { view } = fakeView(() => {
    body = new Readable({ read() {} });
    return body;
  });
  const r = new SequentialReader(view, '/bkt/f', 100);
  const pending = r.read(0, 10);
  await settle();
  body!.destroy(new StoreError('Corrupt', 'chunk failed authentication'));
  await assert.rejects(pending, (e: unknown) => e instanceof FsError && e.code === 'EIO' && /chunk failed authentication/.test(e.message));
  r.close();
  assertNoUncaught();
});

test('SequentialReader: bytes taken before a failure come back as a short read; the failure follows', async () => {
  const data = pattern(100, 7);
  let body: Readable | undefined;
  const { view } = fakeView(() => {
    body = new Readable({ read() {} });
    body.push(data.subarray(0, 6));
    return body;
  });
  const r = new SequentialReader(view, '/bkt/f', data.length);
  const pending = r.read(0, 20);
  await settle();
  body!.destroy(LOST());
  assert.deepEqual(await pending, data.subarray(0, 6));
  await assert.rejects(r.read(6, 20), (e: unknown) => e instanceof FsError && e.code === 'EAGAIN');
  r.close();
  assertNoUncaught();
});

test('SequentialReader: a body that fails after close or after a reopen elsewhere concerns nobody', async () => {
  const data = pattern(100, 3);
  const { view, bodies } = tenBytesThenWait(data);
  const r = new SequentialReader(view, '/bkt/f', data.length);
  assert.deepEqual(await r.read(0, 10), data.subarray(0, 10));
  // A read at another offset replaces the body; the old one failing later is no failure of this handle.
  assert.deepEqual(await r.read(40, 10), data.subarray(40, 50));
  bodies[0].emit('error', LOST());
  assert.equal(r.failed, false);
  r.close();
  // A store stream may still report after destroy(); the lasting listener absorbs it.
  bodies[1].emit('error', LOST());
  await settle();
  assertNoUncaught();
});

// ---- end to end ---------------------------------------------------------------------------------

const FAIL_AT = 64 * 1024;
const BROKEN = pattern(1024 * 1024, 11);
const INTACT = pattern(300 * 1024, 5);
const STORE_MESSAGE = 'fragment holders lost mid-stream (test)';

/**
 * Memory stores whose `broken.bin` bodies deliver the bytes before FAIL_AT, then fail (one event
 * loop turn later, like a chunk fetch from a peer); `failures` counts those failures.
 */
class FailingStores implements TenantStores {
  readonly #inner = new MemoryTenantStores();
  failures = 0;
  #waiters: { n: number; resolve: () => void }[] = [];

  /** Resolves once `n` bodies have failed in all. */
  failed(n: number): Promise<void> {
    if (this.failures >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  async open(user: TenantUser): Promise<ObjectStore> {
    const store = await this.#inner.open(user);
    const getObject = async (bucket: string, key: string, options?: GetOptions): Promise<GetResult> => {
      const r = await store.getObject(bucket, key, options);
      if (!key.endsWith('broken.bin')) return r;
      const start = r.range?.start ?? 0;
      const onFail = (): void => {
        this.failures++;
        for (const w of this.#waiters.filter((x) => x.n <= this.failures)) w.resolve();
        this.#waiters = this.#waiters.filter((x) => x.n > this.failures);
      };
      return { ...r, body: Readable.from(failAfter(r.body, Math.max(0, FAIL_AT - start), onFail), { objectMode: false }) };
    };
    return new Proxy(store, {
      get(target, prop) {
        if (prop === 'getObject') return getObject;
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }

  capacity(): Promise<{ total: number; free: number }> {
    return this.#inner.capacity();
  }
}

async function* failAfter(body: Readable, limit: number, onFail: () => void): AsyncGenerator<Buffer> {
  let sent = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (sent >= limit) break;
      const part = chunk.subarray(0, limit - sent);
      sent += part.length;
      yield part;
    }
  } finally {
    body.destroy();
  }
  await settle();
  onFail();
  throw new StoreError('Unavailable', STORE_MESSAGE);
}

let gw: FileGateways;
let stores: FailingStores;
let work: string;
let keyFile: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'peerstor-stream-errors-'));
  keyFile = join(work, 'id_ed25519');
  const kg = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
  assert.equal(kg.code, 0, kg.stderr);
  const authorized = join(work, 'authorized_keys');
  await writeFile(authorized, `${ALICE.accessKey} ${(await readFile(`${keyFile}.pub`, 'utf8')).trim()}\n`);
  stores = new FailingStores();
  gw = await startFileGateways({ stores: () => stores, sftp: { authorizedKeysFile: authorized } });
  const store = await stores.open(ALICE);
  await store.createBucket('bkt');
  await store.putObject('bkt', 'broken.bin', Readable.from([BROKEN]));
  await store.putObject('bkt', 'intact.bin', Readable.from([INTACT]));
});

after(async () => {
  await gw?.close();
  await rm(work, { recursive: true, force: true });
});

interface Session {
  client: ssh2.Client;
  sftp: ssh2.SFTPWrapper;
}

function connect(): Promise<Session> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.on('ready', () => client.sftp((err, sftp) => (err ? reject(err) : resolve({ client, sftp }))));
    client.on('error', reject);
    client.connect({ host: '127.0.0.1', port: gw.sftp.port, username: ALICE.accessKey, password: ALICE.secretKey, readyTimeout: 20_000 });
  });
}

function sftpOpen(s: Session, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => s.sftp.open(path, 'r', (err, h) => (err ? reject(err) : resolve(h))));
}

/** One READ request: the bytes, or the status error (with the server's message). */
function sftpRead(s: Session, h: Buffer, pos: number, len: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const buf = Buffer.alloc(len);
    s.sftp.read(h, buf, 0, len, pos, (err, n) => (err ? reject(err) : resolve(buf.subarray(0, n))));
  });
}

function sftpClose(s: Session, h: Buffer): Promise<void> {
  return new Promise((resolve, reject) => s.sftp.close(h, (err) => (err ? reject(err) : resolve())));
}

test('SFTP: a store stream failing between two READs answers the next READ with FAILURE; the handle closes; the server keeps serving', { timeout: 60_000 }, async () => {
  const before = stores.failures;
  const a = await connect();
  try {
    const h = await sftpOpen(a, '/bkt/broken.bin');
    // Reads of 16 KiB: ssh2's client splits larger ones into several READs (limits@openssh.com).
    const first = await sftpRead(a, h, 0, 16 * 1024);
    assert.deepEqual(first, BROKEN.subarray(0, first.length));
    // The body reads ahead after that READ and fails with no READ pending.
    await stores.failed(before + 1);
    await settle();
    assertNoUncaught();
    let pos = first.length;
    let failure: unknown;
    while (pos < BROKEN.length) {
      try {
        const got = await sftpRead(a, h, pos, 16 * 1024);
        assert.deepEqual(got, BROKEN.subarray(pos, pos + got.length), `bytes at ${pos} are the file's`);
        pos += got.length;
      } catch (err) {
        failure = err;
        break;
      }
    }
    assert.ok(failure instanceof Error, 'a READ after the failure must fail');
    assert.ok(pos <= FAIL_AT, `no byte past the failure point was served (stopped at ${pos})`);
    assert.equal((failure as { code?: unknown }).code, ssh2.utils.sftp.STATUS_CODE.FAILURE);
    assert.match(failure.message, /EAGAIN: \/bkt\/broken\.bin: reading failed after byte \d+: fragment holders lost mid-stream \(test\)/);
    await sftpClose(a, h);
    // The same session still works.
    const h2 = await sftpOpen(a, '/bkt/intact.bin');
    assert.deepEqual(await sftpRead(a, h2, 0, 1000), INTACT.subarray(0, 1000));
    await sftpClose(a, h2);
  } finally {
    a.client.end();
  }
  // A second session on the same server reads a whole file.
  const b = await connect();
  try {
    const whole = await new Promise<Buffer>((resolve, reject) => b.sftp.readFile('/bkt/intact.bin', (err, d) => (err ? reject(err) : resolve(d))));
    assert.deepEqual(whole, INTACT);
  } finally {
    b.client.end();
  }
  assertNoUncaught();
});

test('OpenSSH sftp: a download whose store stream fails mid-file fails; a second session gets a whole file', { timeout: 60_000 }, async () => {
  const ssh = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-i', keyFile, '-P', String(gw.sftp.port)];
  const target = `${ALICE.accessKey}@127.0.0.1`;
  const bad = await run('sftp', [...ssh, '-b', '-', target], { input: `get /bkt/broken.bin ${join(work, 'sftp-broken.bin')}\n`, timeoutMs: 30_000 });
  assert.notEqual(bad.code, 0, `sftp must fail: ${bad.stdout} ${bad.stderr}`);
  assert.match(bad.stderr, /broken\.bin/);
  const good = await run('sftp', [...ssh, '-b', '-', target], { input: `get /bkt/intact.bin ${join(work, 'sftp-intact.bin')}\n`, timeoutMs: 30_000 });
  assert.equal(good.code, 0, good.stderr);
  assert.deepEqual(await readFile(join(work, 'sftp-intact.bin')), INTACT);
  assertNoUncaught();
});

function httpGet(path: string): Promise<{ status: number; length: number; received: Buffer; error?: Error }> {
  return new Promise((resolve, reject) => {
    const auth = `Basic ${Buffer.from(`${ALICE.accessKey}:${ALICE.secretKey}`).toString('base64')}`;
    const req = http.get(`${gw.webdavUrl}${path}`, { headers: { Authorization: auth } }, (res) => {
      const parts: Buffer[] = [];
      const done = (error?: Error): void =>
        resolve({ status: res.statusCode ?? 0, length: Number(res.headers['content-length']), received: Buffer.concat(parts), error });
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => done());
      res.on('error', (err) => done(err));
      res.on('aborted', () => done(new Error('aborted')));
    });
    req.on('error', reject);
  });
}

test('WebDAV: a store stream failing mid-file cuts the response short; the server keeps serving', { timeout: 60_000 }, async () => {
  const r = await httpGet('bkt/broken.bin');
  assert.equal(r.status, 200);
  assert.equal(r.length, BROKEN.length);
  assert.ok(r.received.length < BROKEN.length, `the body must be cut short (got ${r.received.length} bytes)`);
  assert.deepEqual(r.received, BROKEN.subarray(0, r.received.length));
  const ok = await httpGet('bkt/intact.bin');
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.received, INTACT);
  assertNoUncaught();
});

test('FTP (curl): a store stream failing mid-file fails the transfer; the server keeps serving', { timeout: 60_000 }, async () => {
  const auth = `${ALICE.accessKey}:${ALICE.secretKey}`;
  const url = (p: string): string => `ftp://127.0.0.1:${gw.ftp.port}/${p}`;
  const out = join(work, 'ftp-broken.bin');
  const bad = await run('curl', ['-sS', '-k', '--ssl-reqd', '-u', auth, '-o', out, url('bkt/broken.bin')], { timeoutMs: 30_000 });
  assert.notEqual(bad.code, 0, `curl must fail: ${bad.stderr}`);
  const partial = await readFile(out).catch(() => Buffer.alloc(0));
  assert.ok(partial.length < BROKEN.length);
  assert.deepEqual(partial, BROKEN.subarray(0, partial.length));
  const good = await run('curl', ['-sS', '-k', '--ssl-reqd', '-u', auth, '-o', join(work, 'ftp-intact.bin'), url('bkt/intact.bin')], { timeoutMs: 30_000 });
  assert.equal(good.code, 0, good.stderr);
  assert.deepEqual(await readFile(join(work, 'ftp-intact.bin')), INTACT);
  assertNoUncaught();
});

test('S3 (AWS SDK): a store stream failing mid-object cuts the GET body short; the server keeps serving', { timeout: 60_000 }, async () => {
  const s3Stores = new FailingStores();
  const gw3 = await startTestGateway({ stores: () => s3Stores });
  const s3 = new S3Client({
    endpoint: gw3.url,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: TEST_USERS[0].accessKey, secretAccessKey: TEST_USERS[0].secretKey },
  });
  try {
    const store = await s3Stores.open(TEST_USERS[0]);
    await store.createBucket('bkt');
    await store.putObject('bkt', 'broken.bin', Readable.from([BROKEN]));
    await store.putObject('bkt', 'intact.bin', Readable.from([INTACT]));
    const bad = await s3.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'broken.bin' }));
    assert.equal(bad.ContentLength, BROKEN.length);
    const parts: Buffer[] = [];
    // The SDK may or may not turn the cut into an error; either way the bytes must stop short.
    await (async () => {
      for await (const c of bad.Body as AsyncIterable<Uint8Array>) parts.push(Buffer.from(c));
    })().catch(() => undefined);
    const got = Buffer.concat(parts);
    assert.ok(got.length < BROKEN.length, `the body must be cut short (got ${got.length} bytes)`);
    assert.deepEqual(got, BROKEN.subarray(0, got.length));
    const ok = await s3.send(new GetObjectCommand({ Bucket: 'bkt', Key: 'intact.bin' }));
    assert.deepEqual(Buffer.from(await ok.Body!.transformToByteArray()), INTACT);
  } finally {
    s3.destroy();
    await gw3.close();
  }
  assertNoUncaught();
});
