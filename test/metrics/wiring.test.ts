/**
 * The metrics are wired: the real embedded composition (cli/compose.ts startEmbedded, one process,
 * single-peer store on a temp volume) serves WebDAV, SFTP and FTP; one upload and one download
 * through each, then /-/metrics must show every protocol's requests and bytes, every pipeline stage
 * the code has, the chunk cache, dedup, fragment operations per peer, chunk health and peers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import ssh2 from 'ssh2';
import { buildComponents, startEmbedded } from '../../cli/compose.js';
import type { CliIo } from '../../cli/io.js';
import { loadConfig } from '../../cli/main.js';
import type { CliConfig } from '../../cli/config.js';
import { sample } from './prom-text.js';

const run = promisify(execFile);
const AK = 'wiring-key';
const SK = 'wiring-secret-1234';
const auth = `Basic ${Buffer.from(`${AK}:${SK}`).toString('base64')}`;

/** Sum of every series of `name` whose labels include all of `labels` (`k="v"` strings). */
function sum(text: string, name: string, ...labels: string[]): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const sp = line.lastIndexOf(' ');
    const head = line.slice(0, sp);
    if (labels.every((l) => head.includes(l))) total += Number(line.slice(sp + 1));
  }
  return total;
}

interface Served {
  s3: string;
  webdav: string;
  sftp: string;
  ftp: string;
}

function sftpSession(hostPort: string): Promise<{ sftp: ssh2.SFTPWrapper; end(): void }> {
  const [host, port] = [hostPort.slice(0, hostPort.lastIndexOf(':')), Number(hostPort.slice(hostPort.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.once('error', reject);
    client.once('ready', () => {
      client.sftp((err, sftp) => (err ? reject(err) : resolve({ sftp, end: () => client.end() })));
    });
    client.connect({ host, port, username: AK, password: SK, readyTimeout: 20_000 });
  });
}

test('embedded gateway: WebDAV, SFTP and FTP traffic, the store pipeline and fragments show in /-/metrics', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-metrics-wiring-'));
  const served: Partial<Served> = {};
  // The composition logs where it serves (ports are ephemeral): read them from the log line.
  const logger = pino(
    { level: 'info' },
    {
      write(line: string) {
        const o = JSON.parse(line) as { msg?: string } & Partial<Served>;
        if (o.msg === 'serving') Object.assign(served, o);
      },
    },
  );
  const ac = new AbortController();
  const io: CliIo = { stdout: () => undefined, stderr: () => undefined, env: {}, cwd: dir, home: dir, signal: ac.signal, logger };
  const config = (await loadConfig(
    [
      '--listen', '127.0.0.1:0',
      '-v', join(dir, 'vol'),
      '--state', join(dir, 'state'),
      '--sftp-listen', '127.0.0.1:0',
      '--ftp-listen', '127.0.0.1:0',
      '--user', `${AK}:${SK}`,
      '--chunk-size', '64k',
    ],
    io,
  )) as CliConfig;
  const c = await buildComponents(config, io, { openVolumes: true, users: 'load', lockState: true });
  const services = await startEmbedded(c).catch(async (err: unknown) => {
    await c.close();
    throw err;
  });
  try {
    assert.ok(served.s3 && served.webdav && served.sftp && served.ftp, 'every front end started');
    const webdav = served.webdav!;
    const data = randomBytes(300 * 1024);

    // WebDAV: a bucket, one upload, one download
    assert.equal((await fetch(`${webdav}wiring`, { method: 'MKCOL', headers: { authorization: auth } })).status, 201);
    const put = await fetch(`${webdav}wiring/dav.bin`, { method: 'PUT', headers: { authorization: auth, 'content-length': String(data.length) }, body: data });
    assert.ok(put.status === 201 || put.status === 204, `PUT ${put.status}`);
    const got = await fetch(`${webdav}wiring/dav.bin`, { headers: { authorization: auth } });
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(data));

    // SFTP: the same bytes again (a duplicate for the store), then a download
    const s = await sftpSession(served.sftp!);
    try {
      await promisify(s.sftp.writeFile.bind(s.sftp))('/wiring/sftp.bin', data);
      const back = (await promisify(s.sftp.readFile.bind(s.sftp))('/wiring/sftp.bin')) as Buffer;
      assert.ok(back.equals(data));
    } finally {
      s.end();
    }

    // FTP: curl's STOR and RETR (passive mode), new bytes
    const ftpData = randomBytes(200 * 1024);
    await writeFile(join(dir, 'ftp.bin'), ftpData);
    const ftpUrl = `ftp://${served.ftp}/wiring/ftp.bin`;
    await run('curl', ['-sS', '--max-time', '30', '-u', `${AK}:${SK}`, '-T', join(dir, 'ftp.bin'), ftpUrl]);
    await run('curl', ['-sS', '--max-time', '30', '-u', `${AK}:${SK}`, '-o', join(dir, 'ftp.out'), ftpUrl]);
    assert.ok((await readFile(join(dir, 'ftp.out'))).equals(ftpData));

    const res = await fetch(`${served.s3}/-/metrics`);
    assert.equal(res.status, 200);
    const t = await res.text();

    // requests by protocol: counts, codes, bytes equal to what was sent
    assert.equal(sample(t, 'peerstor_requests_total{protocol="webdav",operation="PUT",code="OK"}'), 1);
    assert.equal(sample(t, 'peerstor_requests_total{protocol="webdav",operation="MKCOL",code="OK"}'), 1);
    assert.equal(sample(t, 'peerstor_requests_total{protocol="webdav",operation="GET",code="OK"}'), 1);
    assert.equal(sample(t, 'peerstor_received_bytes_total{protocol="webdav"}'), data.length);
    assert.equal(sample(t, 'peerstor_sent_bytes_total{protocol="webdav"}'), data.length);
    assert.equal(sample(t, 'peerstor_requests_total{protocol="sftp",operation="WRITE",code="OK"}'), 1, 'one observation per uploaded file, not per packet');
    assert.equal(sample(t, 'peerstor_requests_total{protocol="sftp",operation="READ",code="OK"}'), 1);
    assert.equal(sample(t, 'peerstor_received_bytes_total{protocol="sftp"}'), data.length);
    assert.equal(sample(t, 'peerstor_sent_bytes_total{protocol="sftp"}'), data.length);
    assert.equal(sample(t, 'peerstor_requests_total{protocol="ftp",operation="STOR",code="OK"}'), 1);
    assert.equal(sample(t, 'peerstor_requests_total{protocol="ftp",operation="RETR",code="OK"}'), 1);
    assert.ok((sample(t, 'peerstor_requests_total{protocol="ftp",operation="PASS",code="OK"}') ?? 0) >= 2, 'every command counts');
    assert.equal(sample(t, 'peerstor_received_bytes_total{protocol="ftp"}'), ftpData.length);
    assert.equal(sample(t, 'peerstor_sent_bytes_total{protocol="ftp"}'), ftpData.length);
    assert.ok((sample(t, 'peerstor_request_duration_seconds_count{protocol="sftp",operation="WRITE"}') ?? 0) === 1);

    // pipeline stages (encode = the codec's worker job; decode likewise; see docs/metrics.md)
    for (const stage of ['chunk', 'encode', 'place', 'index', 'fetch', 'decode']) {
      assert.ok((sample(t, `peerstor_pipeline_stage_duration_seconds_count{stage="${stage}"}`) ?? 0) > 0, `stage ${stage} recorded`);
    }
    assert.ok((sample(t, 'peerstor_pipeline_stage_bytes_total{stage="index"}') ?? 0) >= 2 * data.length + ftpData.length, 'every committed object');

    // dedup: three uploads, one of them a copy of another
    const logical = sample(t, 'peerstor_dedup_logical_bytes_total');
    const stored = sample(t, 'peerstor_dedup_stored_bytes_total');
    assert.equal(logical, 2 * data.length + ftpData.length);
    assert.equal(stored, data.length + ftpData.length, 'the SFTP copy stored no new chunk');
    assert.ok(Math.abs(sample(t, 'peerstor_dedup_ratio')! - logical! / stored!) < 1e-9);

    // chunk cache: the SFTP download read chunks the WebDAV download had cached
    assert.ok((sample(t, 'peerstor_cache_requests_total{cache="chunk",result="hit"}') ?? 0) > 0);
    assert.ok((sample(t, 'peerstor_cache_requests_total{cache="chunk",result="miss"}') ?? 0) > 0);
    assert.ok((sample(t, 'peerstor_cache_hit_ratio{cache="chunk"}') ?? 0) > 0);

    // fragments per peer: the single embedded peer is "local"; RS 10+6 puts 16 per new chunk
    const puts = sample(t, 'peerstor_fragment_operations_total{peer="local",op="put"}') ?? 0;
    assert.ok(puts > 0 && puts % 16 === 0, `fragment puts ${puts}`);
    assert.ok((sample(t, 'peerstor_fragment_operations_total{peer="local",op="get"}') ?? 0) >= 10);
    assert.ok((sample(t, 'peerstor_fragment_bytes_total{op="put"}') ?? 0) > data.length + ftpData.length);
    assert.equal(sum(t, 'peerstor_fragment_failures_total'), 0);

    // chunk health and peers, recounted at the scrape
    assert.equal(sample(t, 'peerstor_peers{state="self"}'), 1);
    assert.ok((sample(t, 'peerstor_chunks{state="healthy"}') ?? 0) > 0);
    assert.equal(sample(t, 'peerstor_chunks{state="lost"}'), 0);
    assert.equal(sample(t, 'peerstor_repair_queue_chunks'), 0);
  } finally {
    for (const svc of [...services].reverse()) await svc.close().catch(() => undefined);
    await c.close();
    await rm(dir, { recursive: true, force: true });
  }
});
