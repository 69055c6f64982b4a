/**
 * WebDAV at /d/ driven by real clients: litmus (all five suites), the curl commands of issue 5,
 * rclone's webdav remote (copy + check), security probes, and RFC 4918 locks, If headers and
 * dead properties over plain HTTP. Servers run on 127.0.0.1:0 over the
 * stores from test/helpers/file-gateways.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALICE, BOB, makeTree, run, startFileGateways, type FileGateways } from '../test/helpers/file-gateways.js';
import { rcloneConfig } from '../rclone-config/rclone-config.js';
import { parseXml, textOf, type XmlElement } from '../gateway/webdav/xml.js';

let gw: FileGateways;
let work: string;
const auth = `${ALICE.accessKey}:${ALICE.secretKey}`;

before(async () => {
  gw = await startFileGateways({ sftp: false, ftp: false });
  work = await mkdtemp(join(tmpdir(), 'peerstor-dav-compat-'));
});

after(async () => {
  await gw.close();
  await rm(work, { recursive: true, force: true });
});

/**
 * litmus tests expected to fail, each with its reason; empty since the WebDAV protocol code is our
 * own (gateway/webdav/). The test fails if any OTHER test fails, and also if one of these starts
 * passing (so the list is kept honest).
 */
const KNOWN_LITMUS_FAILURES: Record<string, string> = {};

interface LitmusSuite {
  name: string;
  passed: number;
  failed: number;
  failures: string[];
}

function parseLitmus(out: string): LitmusSuite[] {
  const suites: LitmusSuite[] = [];
  let current: LitmusSuite | undefined;
  let lastTest = '';
  for (const raw of out.split('\n')) {
    // litmus redraws progress with carriage returns; the last segment is what a terminal shows.
    const line = raw.split('\r').pop() ?? '';
    const start = /^-> running `(\w+)':/.exec(line);
    if (start) {
      current = { name: start[1], passed: 0, failed: 0, failures: [] };
      suites.push(current);
      continue;
    }
    const named = /^\s*\d+\.\s+(\w+)[.\s]/.exec(line);
    if (named) lastTest = named[1];
    if (/[.\w]\s(FAIL|OOPS)\b/.test(line) && current && lastTest) {
      const id = `${current.name}/${lastTest}`;
      if (!current.failures.includes(id)) current.failures.push(id);
    }
    const summary = /^<- summary for `(\w+)': of (\d+) tests run: (\d+) passed, (\d+) failed/.exec(line);
    if (summary && current) {
      current.passed = Number(summary[3]);
      current.failed = Number(summary[4]);
    }
  }
  return suites;
}

test('litmus: basic, copymove, props, locks and http suites', { timeout: 300_000 }, async () => {
  const mk = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-u', auth, '-X', 'MKCOL', `${gw.webdavUrl}litmus-bucket`]);
  assert.equal(mk.stdout, '201');
  const all: LitmusSuite[] = [];
  // Each suite separately: litmus stops after a suite with failures otherwise.
  for (const suite of ['basic', 'copymove', 'props', 'locks', 'http']) {
    const r = await run('litmus', [`${gw.webdavUrl}litmus-bucket/`, ALICE.accessKey, ALICE.secretKey], {
      env: { TESTS: suite },
      cwd: work,
      timeoutMs: 240_000,
    });
    const parsed = parseLitmus(r.stdout);
    assert.equal(parsed.length, 1, `litmus ${suite} ran: ${r.stdout.slice(-2000)}${r.stderr}`);
    all.push(parsed[0]);
  }
  const report = all.map((s) => `${s.name}: ${s.passed} passed, ${s.failed} failed`).join('; ');
  console.log(`litmus ${report}`);
  const failures = all.flatMap((s) => s.failures);
  const unexpected = failures.filter((f) => !(f in KNOWN_LITMUS_FAILURES));
  assert.deepEqual(unexpected, [], `unexpected litmus failures (${report})`);
  const nowPassing = Object.keys(KNOWN_LITMUS_FAILURES).filter((f) => !failures.includes(f));
  assert.deepEqual(nowPassing, [], 'known failures that now pass: remove them from KNOWN_LITMUS_FAILURES');
  for (const s of ['basic', 'copymove', 'props', 'locks', 'http']) {
    const suite = all.find((x) => x.name === s);
    assert.ok(suite && suite.passed > 0, `${s} ran tests`);
    assert.equal(suite.failed, 0, `${s} must pass fully`);
  }
});

test('the curl commands of issue 5 work with credentials', async () => {
  assert.equal((await run('curl', ['-s', '-u', auth, '-X', 'MKCOL', `${gw.webdavUrl}curl-bucket`, '-w', '%{http_code}'])).stdout, '201');
  const file = join(work, 'myfile.txt');
  await writeFile(file, 'my file content\n');
  const put = await run('curl', ['-s', '-u', auth, '-T', file, `${gw.webdavUrl}curl-bucket/`, '-w', '%{http_code}']);
  assert.match(put.stdout, /201$/);
  const get = await run('curl', ['-s', '-f', '-u', auth, `${gw.webdavUrl}curl-bucket/myfile.txt`]);
  assert.equal(get.stdout, 'my file content\n');
  const list = await run('curl', ['-s', '-f', '-u', auth, `${gw.webdavUrl}curl-bucket/`]);
  assert.match(list.stdout, /<html/);
  assert.match(list.stdout, /myfile\.txt/);
  const range = await run('curl', ['-s', '-u', auth, '-r', '3-6', `${gw.webdavUrl}curl-bucket/myfile.txt`, '-w', ' %{http_code}']);
  assert.equal(range.stdout, 'file 206');
  const noAuth = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${gw.webdavUrl}curl-bucket/myfile.txt`]);
  assert.equal(noAuth.stdout, '401', 'no anonymous access unless --anonymous is given');
});

test('PROPFIND Depth: infinity is refused politely (403 propfind-finite-depth)', async () => {
  const r = await run('curl', ['-s', '-u', auth, '-X', 'PROPFIND', '-H', 'Depth: infinity', `${gw.webdavUrl}`, '-w', '\n%{http_code}']);
  assert.match(r.stdout, /propfind-finite-depth/);
  assert.match(r.stdout, /403$/);
  const d1 = await run('curl', ['-s', '-u', auth, '-X', 'PROPFIND', '-H', 'Depth: 1', `${gw.webdavUrl}`, '-w', '\n%{http_code}']);
  assert.match(d1.stdout, /207$/);
});

test('rclone webdav remote: copy and check', { timeout: 180_000 }, async () => {
  const src = join(work, 'rclone-src');
  await makeTree(src);
  const conf = join(work, 'rclone.conf');
  await writeFile(conf, rcloneConfig({ endpoint: 'http://127.0.0.1:9', accessKey: ALICE.accessKey, secretKey: ALICE.secretKey, webdavUrl: gw.webdavUrl }));
  const remote = 'peerstor-webdav:rclone-bucket/tree';
  const mk = await run('rclone', ['--config', conf, 'mkdir', 'peerstor-webdav:rclone-bucket']);
  assert.equal(mk.code, 0, mk.stderr);
  const copy = await run('rclone', ['--config', conf, 'copy', src, remote]);
  assert.equal(copy.code, 0, copy.stderr);
  const check = await run('rclone', ['--config', conf, 'check', src, remote]);
  assert.equal(check.code, 0, check.stderr);
  const back = join(work, 'rclone-back');
  const down = await run('rclone', ['--config', conf, 'copy', remote, back]);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(await readFile(join(back, 'sub', 'deeper', 'big.bin')), await readFile(join(src, 'sub', 'deeper', 'big.bin')));
});

test('security: traversal, encoded paths, NUL, long names and other tenants are refused; failed logins slow down', async () => {
  await run('curl', ['-s', '-u', auth, '-X', 'MKCOL', `${gw.webdavUrl}sec-bucket`]);
  await run('curl', ['-s', '-u', auth, '-T', '-', `${gw.webdavUrl}sec-bucket/secret.txt`], { input: 'alice only' });
  const status = async (args: string[]): Promise<number> => Number((await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...args])).stdout);
  for (const path of ['sec-bucket/../../etc/passwd', 'sec-bucket/%2e%2e/%2e%2e/etc/passwd', 'sec-bucket/..%2f..%2fetc%2fpasswd', 'sec-bucket/a%00b', 'sec-bucket/%252e%252e/x']) {
    const code = await status(['--path-as-is', '-u', auth, `${gw.webdavUrl}${path}`]);
    assert.ok(code >= 400 && code < 500, `${path} → ${code}`);
  }
  assert.equal(await status(['-u', auth, '-T', '-', `${gw.webdavUrl}sec-bucket/${'n'.repeat(300)}`]), 414);
  const bob = `${BOB.accessKey}:${BOB.secretKey}`;
  assert.equal(await status(['-u', bob, `${gw.webdavUrl}sec-bucket/secret.txt`]), 404, 'another tenant cannot read it');
  const bobRoot = await run('curl', ['-s', '-u', bob, `${gw.webdavUrl}`]);
  assert.doesNotMatch(bobRoot.stdout, /sec-bucket/);
  for (let i = 0; i < 5; i++) assert.equal(await status(['-u', `${ALICE.accessKey}:wrong-secret-${i}`, `${gw.webdavUrl}`]), 401);
  assert.ok(gw.throttle.delayFor('ip:127.0.0.1') > 0, 'repeated failures from this client are delayed');
  assert.ok(gw.throttle.delayFor(`key:${ALICE.accessKey}`) > 0, 'repeated failures for this key are delayed');
  // Malformed requests do not take the server down.
  await status(['-u', auth, '-X', 'PROPPATCH', '-H', 'Content-Type: application/xml', '--data-binary', '<D:propertyupdate xmlns:D="DAV:"><D:set>', `${gw.webdavUrl}sec-bucket/secret.txt`]);
  await status(['-u', auth, '-X', 'PUT', '-H', 'If: (<urn:bogus>)', '--data-binary', 'x', `${gw.webdavUrl}sec-bucket/secret.txt`]);
  await status(['-u', auth, '-X', 'LOCK', '--data-binary', '<<<', `${gw.webdavUrl}sec-bucket/secret.txt`]);
  const still = await run('curl', ['-s', '-f', '-u', auth, `${gw.webdavUrl}sec-bucket/secret.txt`]);
  assert.equal(still.code, 0, 'server still answers');
});

test('--anonymous ro: reads without credentials, every change refused; without it, 401', async () => {
  const ro = await startFileGateways({ sftp: false, ftp: false, webdav: { anonymous: 'ro' } });
  try {
    assert.equal((await run('curl', ['-s', '-u', auth, '-X', 'MKCOL', `${ro.webdavUrl}public-bucket`, '-w', '%{http_code}'])).stdout, '201');
    await run('curl', ['-s', '-u', auth, '-T', '-', `${ro.webdavUrl}public-bucket/readme.txt`], { input: 'public' });
    assert.equal((await run('curl', ['-s', `${ro.webdavUrl}public-bucket/readme.txt`])).stdout, 'public');
    const put = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-T', '-', `${ro.webdavUrl}public-bucket/x.txt`], { input: 'x' });
    assert.equal(put.stdout, '403');
    const del = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-X', 'DELETE', `${ro.webdavUrl}public-bucket/readme.txt`]);
    assert.equal(del.stdout, '403');
    const wrong = await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '-u', `${ALICE.accessKey}:nope-nope`, `${ro.webdavUrl}public-bucket/readme.txt`]);
    assert.equal(wrong.stdout, '401', 'wrong credentials are not silently downgraded to anonymous');
  } finally {
    await ro.close();
  }
});

interface DavReply {
  status: number;
  headers: Headers;
  text: string;
}

async function dav(method: string, path: string, init: { headers?: Record<string, string>; body?: string; as?: string } = {}): Promise<DavReply> {
  const r = await fetch(`${gw.webdavUrl}${path}`, {
    method,
    headers: { Authorization: `Basic ${Buffer.from(init.as ?? auth).toString('base64')}`, ...init.headers },
    body: init.body,
  });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

const LOCKINFO = (scope: 'exclusive' | 'shared', owner = 'me'): string =>
  `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:${scope}/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>${owner}</D:href></D:owner></D:lockinfo>`;

function tokenOf(r: DavReply): string {
  const m = /^<(.+)>$/.exec(r.headers.get('lock-token') ?? '');
  assert.ok(m, `Lock-Token header in ${r.status} ${r.text}`);
  return m[1];
}

test('locks belong to their token: writes without it get 423, with it succeed; conflicts, refresh, discovery, UNLOCK', async () => {
  assert.equal((await dav('MKCOL', 'lock-bucket')).status, 201);
  assert.equal((await dav('PUT', 'lock-bucket/f.txt', { body: 'one' })).status, 201);
  const locked = await dav('LOCK', 'lock-bucket/f.txt', { headers: { Depth: '0', Timeout: 'Second-600' }, body: LOCKINFO('exclusive', 'alice-owner') });
  assert.equal(locked.status, 200);
  const token = tokenOf(locked);
  assert.match(locked.text, /<D:timeout>Second-(600|59\d)<\/D:timeout>/);

  // The same user without the token is refused (RFC 4918 §6.4: the lock belongs to the token).
  const noToken = await dav('PUT', 'lock-bucket/f.txt', { body: 'two' });
  assert.equal(noToken.status, 423);
  assert.match(noToken.text, /lock-token-submitted/);
  assert.equal((await dav('DELETE', 'lock-bucket/f.txt')).status, 423);
  assert.equal((await dav('MOVE', 'lock-bucket/f.txt', { headers: { Destination: `${gw.webdavUrl}lock-bucket/g.txt` } })).status, 423);
  assert.equal((await dav('LOCK', 'lock-bucket/f.txt', { headers: { Depth: '0' }, body: LOCKINFO('exclusive') })).status, 423);
  assert.equal((await dav('LOCK', 'lock-bucket/f.txt', { headers: { Depth: '0' }, body: LOCKINFO('shared') })).status, 423);
  assert.equal((await dav('GET', 'lock-bucket/f.txt')).text, 'one', 'reads need no token');

  const withToken = await dav('PUT', 'lock-bucket/f.txt', { headers: { If: `(<${token}>)` }, body: 'two' });
  assert.equal(withToken.status, 204);
  assert.equal((await dav('GET', 'lock-bucket/f.txt')).text, 'two');

  const found = await dav('PROPFIND', 'lock-bucket/f.txt', {
    headers: { Depth: '0' },
    body: '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>',
  });
  assert.equal(found.status, 207);
  assert.ok(found.text.includes(`<D:href>${token}</D:href>`), found.text);
  assert.match(found.text, /<D:owner><D:href>alice-owner<\/D:href><\/D:owner>/);

  // COPY onto the locked URL needs the token too, and the lock stays with the URL afterwards.
  await dav('PUT', 'lock-bucket/other.txt', { body: 'other' });
  const onto = { Destination: `${gw.webdavUrl}lock-bucket/f.txt` };
  assert.equal((await dav('COPY', 'lock-bucket/other.txt', { headers: onto })).status, 423);
  // An untagged list applies to the request URI (the unlocked source), so it is false there: 412.
  assert.equal((await dav('COPY', 'lock-bucket/other.txt', { headers: { ...onto, If: `(<${token}>)` } })).status, 412);
  const tagged = { ...onto, If: `<${onto.Destination}> (<${token}>)` };
  assert.equal((await dav('COPY', 'lock-bucket/other.txt', { headers: tagged })).status, 204);
  assert.equal((await dav('GET', 'lock-bucket/f.txt')).text, 'other');
  assert.equal((await dav('PUT', 'lock-bucket/f.txt', { body: 'x' })).status, 423, 'still locked after being overwritten');

  const refreshed = await dav('LOCK', 'lock-bucket/f.txt', { headers: { If: `(<${token}>)`, Timeout: 'Second-100' } });
  assert.equal(refreshed.status, 200);
  assert.match(refreshed.text, /Second-(100|99)</);
  assert.equal((await dav('LOCK', 'lock-bucket/f.txt', { headers: { If: '(<urn:uuid:not-a-lock>)' } })).status, 412);

  assert.equal((await dav('UNLOCK', 'lock-bucket/f.txt', { headers: { 'Lock-Token': '<urn:uuid:not-a-lock>' } })).status, 409);
  assert.equal((await dav('UNLOCK', 'lock-bucket/f.txt', { headers: { 'Lock-Token': `<${token}>` } })).status, 204);
  assert.equal((await dav('PUT', 'lock-bucket/f.txt', { body: 'three' })).status, 204, 'unlocked again');
});

test('shared locks coexist and either token unlocks writes; a depth-infinity collection lock covers new members', async () => {
  await dav('MKCOL', 'share-bucket');
  await dav('PUT', 'share-bucket/s.txt', { body: 's' });
  const a = tokenOf(await dav('LOCK', 'share-bucket/s.txt', { headers: { Depth: '0' }, body: LOCKINFO('shared', 'a') }));
  const b = tokenOf(await dav('LOCK', 'share-bucket/s.txt', { headers: { Depth: '0' }, body: LOCKINFO('shared', 'b') }));
  assert.notEqual(a, b);
  assert.equal((await dav('PUT', 'share-bucket/s.txt', { body: 'x' })).status, 423);
  assert.equal((await dav('PUT', 'share-bucket/s.txt', { headers: { If: `(<${b}>)` }, body: 'x' })).status, 204);
  assert.equal((await dav('LOCK', 'share-bucket/s.txt', { headers: { Depth: '0' }, body: LOCKINFO('exclusive') })).status, 423);

  assert.equal((await dav('MKCOL', 'share-bucket/coll')).status, 201);
  const c = await dav('LOCK', 'share-bucket/coll/', { headers: { Depth: 'infinity' }, body: LOCKINFO('exclusive') });
  assert.equal(c.status, 200);
  const ct = tokenOf(c);
  assert.match(c.text, /<D:depth>infinity<\/D:depth>/);
  assert.equal((await dav('PUT', 'share-bucket/coll/new.txt', { body: 'n' })).status, 423, 'a new member needs the collection lock');
  const tagged = `<${gw.webdavUrl}share-bucket/coll/> (<${ct}>)`;
  assert.equal((await dav('PUT', 'share-bucket/coll/new.txt', { headers: { If: tagged }, body: 'n' })).status, 201);
  assert.equal((await dav('LOCK', 'share-bucket/coll/new.txt', { headers: { Depth: '0' }, body: LOCKINFO('shared') })).status, 423);
  // Refresh through a member URL (RFC 4918 §9.10.2: the lock applies there).
  assert.equal((await dav('LOCK', 'share-bucket/coll/new.txt', { headers: { If: `(<${ct}>)` } })).status, 200);
  assert.equal((await dav('DELETE', 'share-bucket/coll')).status, 423);
  assert.equal((await dav('DELETE', 'share-bucket/coll', { headers: { If: `(<${ct}>)` } })).status, 204);
  assert.equal((await dav('PUT', 'share-bucket/coll2.txt', { body: 'free' })).status, 201, 'the lock went with the collection');
});

test('LOCK on an unmapped URL creates an empty resource (201); its parent must exist (409)', async () => {
  await dav('MKCOL', 'null-bucket');
  const r = await dav('LOCK', 'null-bucket/new.txt', { headers: { Depth: '0' }, body: LOCKINFO('exclusive') });
  assert.equal(r.status, 201);
  const token = tokenOf(r);
  const get = await dav('GET', 'null-bucket/new.txt');
  assert.equal(get.status, 200);
  assert.equal(get.text, '');
  assert.equal((await dav('PUT', 'null-bucket/new.txt', { headers: { If: `(<${token}>)` }, body: 'filled' })).status, 204);
  assert.equal((await dav('LOCK', 'null-bucket/missing/new.txt', { body: LOCKINFO('exclusive') })).status, 409);
  // Concurrent exclusive LOCKs on one unmapped URL: whatever the interleaving, exactly one gets it.
  const race = await Promise.all([1, 2, 3].map(() => dav('LOCK', 'null-bucket/raced.txt', { headers: { Depth: '0' }, body: LOCKINFO('exclusive') })));
  assert.equal(race.filter((r) => r.status < 300).length, 1, race.map((r) => r.status).join(','));
  assert.ok(race.every((r) => r.status < 300 || r.status === 423));
});

test('If header: false lists → 412, malformed → 400, entity tags and Not are evaluated', async () => {
  await dav('MKCOL', 'if-bucket');
  const put = await dav('PUT', 'if-bucket/e.txt', { body: 'e' });
  const etag = put.headers.get('etag');
  assert.ok(etag);
  assert.equal((await dav('PUT', 'if-bucket/e.txt', { headers: { If: '(<DAV:no-lock>)' }, body: 'x' })).status, 412);
  assert.equal((await dav('PUT', 'if-bucket/e.txt', { headers: { If: '(["not-the-etag"])' }, body: 'x' })).status, 412);
  assert.equal((await dav('PUT', 'if-bucket/e.txt', { headers: { If: '(Not <DAV:no-lock>)' }, body: 'x' })).status, 204);
  const now = (await dav('HEAD', 'if-bucket/e.txt')).headers.get('etag');
  assert.equal((await dav('PUT', 'if-bucket/e.txt', { headers: { If: `([${now}])` }, body: 'y' })).status, 204);
  assert.equal((await dav('PUT', 'if-bucket/e.txt', { headers: { If: '(<unterminated' }, body: 'x' })).status, 400);
  assert.equal((await dav('GET', 'if-bucket/e.txt')).text, 'y');
});

test('dead properties keep their exact namespaces, follow MOVE and COPY, and PROPPATCH is all or nothing', async () => {
  await dav('MKCOL', 'prop-bucket');
  await dav('PUT', 'prop-bucket/p.txt', { body: 'p' });
  const set = await dav('PROPPATCH', 'prop-bucket/p.txt', {
    body:
      '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>' +
      '<x:color xmlns:x="http://example.com/ns/">blue <y:deep xmlns:y="urn:other:">&lt;1&gt;</y:deep></x:color>' +
      '<plain xmlns="">none</plain></D:prop></D:set></D:propertyupdate>',
  });
  assert.equal(set.status, 207);
  assert.doesNotMatch(set.text, /HTTP\/1.1 [^2]/);
  const get = async (path: string): Promise<XmlElement> => {
    const r = await dav('PROPFIND', path, { headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>' });
    assert.equal(r.status, 207, r.text);
    return parseXml(Buffer.from(r.text));
  };
  const find = (el: XmlElement, ns: string, local: string): XmlElement | undefined => {
    if (el.ns === ns && el.local === local) return el;
    for (const c of el.children) if (typeof c === 'object') {
      const hit = find(c, ns, local);
      if (hit) return hit;
    }
    return undefined;
  };
  const doc = await get('prop-bucket/p.txt');
  const color = find(doc, 'http://example.com/ns/', 'color');
  assert.ok(color, 'property found under its exact namespace (trailing "/" kept)');
  assert.equal(textOf(color), 'blue <1>');
  assert.ok(find(color, 'urn:other:', 'deep'), 'value elements keep their namespace');
  assert.equal(textOf(find(doc, '', 'plain') ?? { ns: '', local: '', attrs: [], children: [] }), 'none');

  const refused = await dav('PROPPATCH', 'prop-bucket/p.txt', {
    body:
      '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:size xmlns:x="http://example.com/ns/">9</x:size>' +
      '<D:getcontentlength>5</D:getcontentlength></D:prop></D:set></D:propertyupdate>',
  });
  assert.equal(refused.status, 207);
  assert.match(refused.text, /424 Failed Dependency/);
  assert.match(refused.text, /403 Forbidden/);
  assert.equal(find(await get('prop-bucket/p.txt'), 'http://example.com/ns/', 'size'), undefined, 'nothing applied');

  assert.equal((await dav('COPY', 'prop-bucket/p.txt', { headers: { Destination: `${gw.webdavUrl}prop-bucket/c.txt` } })).status, 201);
  assert.equal((await dav('MOVE', 'prop-bucket/p.txt', { headers: { Destination: `${gw.webdavUrl}prop-bucket/m.txt` } })).status, 201);
  assert.ok(find(await get('prop-bucket/c.txt'), 'http://example.com/ns/', 'color'), 'copied');
  assert.ok(find(await get('prop-bucket/m.txt'), 'http://example.com/ns/', 'color'), 'moved');
  assert.equal((await dav('DELETE', 'prop-bucket/m.txt')).status, 204);
  await dav('PUT', 'prop-bucket/m.txt', { body: 'again' });
  assert.equal(find(await get('prop-bucket/m.txt'), 'http://example.com/ns/', 'color'), undefined, 'DELETE took them');
  assert.equal((await dav('PROPFIND', 'prop-bucket/p.txt', { headers: { Depth: '0' }, body: '<D:propfind xmlns:D="DAV:"><D:prop><bad:x xmlns:bad=""/></D:prop></D:propfind>' })).status, 400);
});

test('--anonymous rw: a lock token works only for the principal that took the lock', async () => {
  const rw = await startFileGateways({ sftp: false, ftp: false, webdav: { anonymous: 'rw' } });
  try {
    const req = async (method: string, path: string, headers: Record<string, string>, body?: string, withAuth = true): Promise<DavReply> => {
      const h = withAuth ? { Authorization: `Basic ${Buffer.from(auth).toString('base64')}`, ...headers } : headers;
      const r = await fetch(`${rw.webdavUrl}${path}`, { method, headers: h, body });
      return { status: r.status, headers: r.headers, text: await r.text() };
    };
    assert.equal((await req('MKCOL', 'anon-bucket', {})).status, 201);
    assert.equal((await req('PUT', 'anon-bucket/f.txt', {}, 'alice')).status, 201);
    const token = tokenOf(await req('LOCK', 'anon-bucket/f.txt', { Depth: '0' }, LOCKINFO('exclusive')));
    const seen = await req('PROPFIND', 'anon-bucket/f.txt', { Depth: '0' }, undefined, false);
    assert.ok(seen.text.includes(token), 'lock discovery shows the token to anonymous readers');
    assert.equal((await req('PUT', 'anon-bucket/f.txt', { If: `(<${token}>)` }, 'anon', false)).status, 423);
    assert.equal((await req('UNLOCK', 'anon-bucket/f.txt', { 'Lock-Token': `<${token}>` }, undefined, false)).status, 403);
    assert.equal((await req('PUT', 'anon-bucket/f.txt', { If: `(<${token}>)` }, 'alice again')).status, 204);
    assert.equal((await req('UNLOCK', 'anon-bucket/f.txt', { 'Lock-Token': `<${token}>` })).status, 204);
    assert.equal((await req('PUT', 'anon-bucket/f.txt', {}, 'anon', false)).status, 204, 'anonymous rw may write once unlocked');
  } finally {
    await rw.close();
  }
});
