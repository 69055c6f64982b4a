/**
 * The offline maintenance commands on a real store: objects are put through the store API on a
 * temp volume (small chunks, RS 2+2 so a few files decide between degraded and lost), fragment
 * files are corrupted or deleted by hand, then scrub / repair / verify / gc run through main()
 * (in-process, logs captured) and as a real process (test/cli/run-main.ts, stderr not a TTY).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { silentLogger } from '../../backend/core/logger.js';
import { DiskFragmentStore } from '../../backend/fragments/disk-fragment-store.js';
import { LocalPlacement } from '../../backend/store/local-placement.js';
import { PeerStore } from '../../backend/store/peer-store.js';
import { main } from '../../cli/main.js';
import { runScrub } from '../../cli/commands/scrub.js';
import { resolveConfig } from '../../cli/config.js';
import type { CliIo } from '../../cli/io.js';

const USER = { accessKey: 'AKOFFLINE', secretKey: 'offline-secret-1' };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  logs: Record<string, unknown>[];
}

function io(out: { stdout: string; stderr: string; logs: Record<string, unknown>[] }): Partial<CliIo> {
  return {
    stdout: (t) => void (out.stdout += t),
    stderr: (t) => void (out.stderr += t),
    env: {},
    home: '/nonexistent-home',
    // never aborted: the offline commands stop early on an aborted signal (SIGINT)
    signal: new AbortController().signal,
    logger: pino({ level: 'info' }, { write: (line: string) => void out.logs.push(JSON.parse(line)) }),
  };
}

async function run(argv: string[], signal?: AbortSignal): Promise<Run> {
  const out = { stdout: '', stderr: '', logs: [] as Record<string, unknown>[] };
  const code = await main(argv, { ...io(out), ...(signal ? { signal } : {}) });
  return { code, ...out };
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** The CLI as a real process (stderr is a pipe, not a terminal). */
function runChild(argv: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(repoRoot(), 'test', 'cli', 'run-main.ts'), ...argv],
      { cwd: repoRoot(), env: { ...process.env, HOME: '/nonexistent-home', XDG_CONFIG_HOME: '' } },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr, logs: [] }),
    );
  });
}

interface Built {
  dir: string;
  vol: string;
  /** fragment ids by chunk row id, as the index records them */
  chunks: Map<number, string[]>;
  objects: Map<string, Buffer>;
}

/** A single-peer store on one temp volume holding `objects` (bucket "bkt"); multipart when the value is an array of parts. */
async function buildStore(objects: Record<string, Buffer | Buffer[]>): Promise<Built> {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-offline-'));
  const vol = join(dir, 'v');
  const logger = silentLogger();
  const fragments = await DiskFragmentStore.open({ volumes: [{ path: vol, mode: 'rw' }], logger });
  const store = await PeerStore.open(
    { stateDir: join(vol, '.peerstor'), erasure: { k: 2, n: 4 }, avgChunkSize: 64 * 1024, kdfIterations: 1000, gcIntervalMs: 0, minPartSize: 64 * 1024 },
    { logger, placement: new LocalPlacement({ store: fragments, logger }) },
  );
  const all = new Map<string, Buffer>();
  try {
    const t = await store.open(USER);
    await t.createBucket('bkt');
    for (const [key, value] of Object.entries(objects)) {
      if (Array.isArray(value)) {
        const up = await t.createMultipartUpload('bkt', key);
        const parts = [];
        for (let i = 0; i < value.length; i++) parts.push(await t.uploadPart('bkt', key, up.uploadId, i + 1, Readable.from([value[i]])));
        await t.completeMultipartUpload('bkt', key, up.uploadId, parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag })));
        all.set(key, Buffer.concat(value));
      } else {
        await t.putObject('bkt', key, Readable.from([value]));
        all.set(key, value);
      }
    }
    const chunks = new Map<number, string[]>();
    for (const r of store.index.storedFragments({ chunk: 0, idx: -1 }, 100_000)) chunks.set(r.chunk, [...(chunks.get(r.chunk) ?? []), r.fragmentId]);
    return { dir, vol, chunks, objects: all };
  } finally {
    await store.close();
    await fragments.close();
  }
}

const fragmentPath = (vol: string, id: string): string => join(vol, 'fragments', id.slice(0, 2), id.slice(2, 4), id);
const progressLogs = (r: Pick<Run, 'logs'>, label: RegExp): Record<string, unknown>[] => r.logs.filter((l) => typeof l.label === 'string' && label.test(l.label));

test('scrub finds a corrupted fragment, repair rebuilds it and a deleted one, verify and gc pass, all with progress', async () => {
  const b = await buildStore({
    big: randomBytes(768 * 1024),
    small: Buffer.from('inline, no fragments'),
    parts: [randomBytes(96 * 1024), randomBytes(80 * 1024)],
  });
  try {
    const volArgs = ['-v', `${b.vol}::rw`, '--progress-interval', '1ms'];
    const chunkIds = [...b.chunks.keys()];
    assert.ok(chunkIds.length >= 4, `several chunks stored (got ${chunkIds.length})`);
    const corrupted = b.chunks.get(chunkIds[0])![0];
    const deleted = b.chunks.get(chunkIds[1])![1];
    const original = await readFile(fragmentPath(b.vol, corrupted));
    const bad = Buffer.from(original);
    bad[bad.length >> 1] ^= 0xff;
    await writeFile(fragmentPath(b.vol, corrupted), bad);
    await unlink(fragmentPath(b.vol, deleted));
    const total = [...b.chunks.values()].reduce((n, f) => n + f.length, 0);

    // scrub, as a real process: finds and quarantines the corrupted file, logs progress on stderr
    const scrub = await runChild(['scrub', '--json', ...volArgs]);
    assert.equal(scrub.code, 1, scrub.stderr);
    const s = JSON.parse(scrub.stdout) as { fragments: number; bytes: number; corrupt: number; quarantined: number; corruptIds: string[] };
    assert.equal(s.fragments, total - 1, 'every file but the deleted one re-hashed');
    assert.deepEqual(s.corruptIds, [corrupted]);
    assert.equal(s.corrupt, 1);
    assert.equal(s.quarantined, 1);
    assert.ok(s.bytes > 0);
    assert.equal(existsSync(fragmentPath(b.vol, corrupted)), false, 'moved out of fragments/');
    const scrubLines = scrub.stderr.split('\n').filter((l) => l.includes('"label":"scrub"'));
    assert.ok(scrubLines.length >= 1, `progress log lines on a non-TTY stderr: ${scrub.stderr}`);
    assert.match(scrubLines.at(-1)!, /"msg":"scrub: [^"]+ \/ [^"]+ \(100\.0 %\), [^"]+\/s in \d+:\d\d — \d+ fragments, 1 corrupt"/);

    // verify before the repair (K,N taken from the store's chunks): RS 2+2 still reads everything
    const before = await run(['verify', '--json', '--user', `${USER.accessKey}:${USER.secretKey}`, ...volArgs]);
    assert.equal(before.code, 0, before.stdout + before.stderr);
    assert.deepEqual(JSON.parse(before.stdout).damaged, []);

    // repair, as a real process: the audit finds both, the worker rebuilds both
    const repair = await runChild(['repair', '--json', ...volArgs]);
    assert.equal(repair.code, 0, `${repair.stdout}\n${repair.stderr.slice(-3000)}`);
    const r = JSON.parse(repair.stdout) as Record<string, number>;
    assert.equal(r.fragmentsMissing, 2);
    assert.equal(r.chunksDegraded, 2);
    assert.equal(r.chunksRepaired, 2);
    assert.equal(r.fragmentsWritten, 2);
    assert.equal(r.chunksLost, 0);
    assert.equal(r.fragmentsChecked, total);
    assert.deepEqual(await readFile(fragmentPath(b.vol, corrupted)), original, 'the corrupted fragment is back, byte for byte');
    assert.ok(existsSync(fragmentPath(b.vol, deleted)), 'the deleted fragment is back');
    assert.ok(repair.stderr.includes('"label":"repair: fragments checked"'), repair.stderr);
    assert.match(repair.stderr, /"label":"repair: chunks".*"msg":"repair: chunks: 2 \/ 2 \(100\.0 %\)/);

    // a second pass has nothing left to do; scrub is clean
    const again = await run(['repair', '--json', '-v', `${b.vol}::rw`]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).chunksDegraded, 0);
    const clean = await run(['scrub', '-v', `${b.vol}::rw`]);
    assert.equal(clean.code, 0, clean.stderr);
    assert.match(clean.stdout, /^fragments: \d+\nbytes: \d+\ncorrupt: 0\nquarantined: 0\n$/);
    assert.equal(Number(/^fragments: (\d+)/.exec(clean.stdout)![1]), total);

    // verify reads all three objects, checks the MD5 of the plain one and each part of the multipart one
    const verify = await run(['verify', '--json', '--user', `${USER.accessKey}:${USER.secretKey}`, ...volArgs]);
    assert.equal(verify.code, 0, verify.stderr);
    const v = JSON.parse(verify.stdout) as { users: number; objects: number; bytes: number; md5Checked: number; damaged: unknown[] };
    assert.deepEqual(v, { users: 1, objects: 3, bytes: [...b.objects.values()].reduce((n, o) => n + o.length, 0), md5Checked: 3, damaged: [] });
    const verifyDone = progressLogs(verify, /^verify$/).at(-1);
    assert.equal(verifyDone?.done, v.bytes, 'the last progress line counts every byte read');
    assert.equal(verifyDone?.total, v.bytes);

    // gc: nothing is garbage inside the grace period; the sweep reports its progress
    const gc = await run(['gc', '--json', ...volArgs]);
    assert.equal(gc.code, 0, gc.stderr);
    assert.deepEqual(JSON.parse(gc.stdout), { chunks: 0, fragments: 0, orphans: 0 });
    const gcDone = progressLogs(gc, /^gc: fragment files swept$/).at(-1);
    assert.equal(gcDone?.done, total);
    assert.equal(gcDone?.total, total);
  } finally {
    await rm(b.dir, { recursive: true, force: true });
  }
});

test('a chunk with fewer than k fragments: verify names the object, repair reports it lost (exit 1)', async () => {
  const data = randomBytes(256 * 1024);
  const b = await buildStore({ only: data });
  try {
    const [chunk, ids] = [...b.chunks.entries()][0];
    for (const id of ids.slice(0, 3)) await unlink(fragmentPath(b.vol, id));
    const verify = await run(['verify', '--json', '--user', `${USER.accessKey}:${USER.secretKey}`, '-v', `${b.vol}::rw`]);
    assert.equal(verify.code, 1, verify.stderr);
    const v = JSON.parse(verify.stdout) as { objects: number; damaged: { user: string; bucket: string; key: string; reason: string }[] };
    assert.equal(v.objects, 1);
    assert.equal(v.damaged.length, 1);
    assert.deepEqual({ ...v.damaged[0], reason: '' }, { user: USER.accessKey, bucket: 'bkt', key: 'only', reason: '' });
    assert.match(v.damaged[0].reason, /^read failed after \d+ bytes: /);

    const repair = await run(['repair', '-v', `${b.vol}::rw`]);
    assert.equal(repair.code, 1, repair.stderr);
    assert.match(repair.stdout, /^chunksLost: 1$/m);
    assert.match(repair.stdout, /^fragmentsMissing: 3$/m);
    assert.ok(repair.logs.some((l) => Array.isArray(l.chunks) && (l.chunks as string[]).includes(String(chunk))), 'the lost chunk is logged');
  } finally {
    await rm(b.dir, { recursive: true, force: true });
  }
});

test('verify needs a user; scrub draws a bar on a terminal; SIGINT stops; repair and verify refuse a store on the peer network', async () => {
  const b = await buildStore({ x: randomBytes(100 * 1024) });
  try {
    const noUser = await run(['verify', '-v', `${b.vol}::rw`]);
    assert.equal(noUser.code, 2);
    assert.match(noUser.stderr, /^peerstor: --user: verify reads objects as their owner/);

    // a stand-in terminal: the bar is redrawn in place, then one final line
    let stderr = '';
    const out = { stdout: '', stderr: '', logs: [] as Record<string, unknown>[] };
    const config = resolveConfig('scrub', [], new Map<string, unknown>([['volume', [{ path: b.vol, mode: 'rw' }]]]), new Set(['volume']), b.dir);
    const code = await runScrub(config, { ...(io(out) as CliIo), stderr: (t) => void (stderr += t) }, { tty: true, columns: 100 });
    assert.equal(code, 0);
    assert.match(stderr, /\rscrub \[[#-]+\] +\d+ % /);
    assert.match(stderr, /\rscrub: [^\n]+ \(100\.0 %\)[^\n]*\n$/);
    assert.equal(progressLogs(out, /scrub/).length, 0, 'no progress log lines on a terminal');

    // SIGINT (an aborted signal) stops the long commands with exit 1 and says so
    for (const argv of [['scrub'], ['repair'], ['verify', '--user', `${USER.accessKey}:${USER.secretKey}`]]) {
      const r = await run([...argv, '-v', `${b.vol}::rw`], AbortSignal.abort());
      assert.equal(r.code, 1, `${argv[0]}: ${r.stderr}`);
      assert.equal(r.stderr, `peerstor: ${argv[0]}: interrupted (SIGINT / SIGTERM); what was done so far is kept\n`);
      assert.ok(r.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('(stopped early)')), `${argv[0]} says it stopped early`);
    }

    await mkdir(join(b.vol, '.peerstor-peer'));
    for (const cmd of ['repair', 'verify']) {
      const r = await run(cmd === 'verify' ? [cmd, '--user', `${USER.accessKey}:${USER.secretKey}`, '-v', `${b.vol}::rw`] : [cmd, '-v', `${b.vol}::rw`]);
      assert.equal(r.code, 1, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^peerstor: ${cmd}: .*peer network`));
    }
  } finally {
    await rm(b.dir, { recursive: true, force: true });
  }
});
