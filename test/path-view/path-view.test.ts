import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryTenantStores } from '../../backend/store/memory-object-store.js';
import { PathView, parsePath, resolveNavigation, isFsError, type FsErrorCode } from '../../gateway/common/path-view.js';
import { WriteSpool } from '../../gateway/common/spool.js';
import { LoginThrottle } from '../../gateway/common/login-throttle.js';

async function view(): Promise<PathView> {
  const store = await new MemoryTenantStores().open({ accessKey: 'alice-key', secretKey: 'alice-secret-1' });
  return new PathView(store);
}

async function* bytes(s: string): AsyncIterable<Uint8Array> {
  yield Buffer.from(s);
}

async function text(v: PathView, path: string): Promise<string> {
  const r = await v.read(path);
  const parts: Buffer[] = [];
  for await (const c of r.body) parts.push(c as Buffer);
  return Buffer.concat(parts).toString();
}

async function code(p: Promise<unknown> | (() => unknown)): Promise<FsErrorCode | 'ok'> {
  try {
    await (typeof p === 'function' ? p() : p);
    return 'ok';
  } catch (err) {
    if (isFsError(err)) return err.code;
    throw err;
  }
}

test('parsePath maps / to buckets and keys, and refuses traversal, encodings, NUL and long names', async () => {
  assert.deepEqual(parsePath('/'), { kind: 'root', path: '/' });
  assert.deepEqual(parsePath('//b//./x/y.txt'), { kind: 'key', path: '/b/x/y.txt', bucket: 'b', key: 'x/y.txt', name: 'y.txt' });
  assert.deepEqual(parsePath('y.txt', '/b/x'), { kind: 'key', path: '/b/x/y.txt', bucket: 'b', key: 'x/y.txt', name: 'y.txt' });
  assert.equal(await code(() => parsePath('/b/../etc/passwd')), 'EACCES');
  assert.equal(await code(() => parsePath('../x', '/b')), 'EACCES');
  assert.equal(await code(() => parsePath('/b/%2e%2e/x')), 'EACCES');
  assert.equal(await code(() => parsePath('/b/a%2Fb')), 'EACCES');
  assert.equal(await code(() => parsePath('/b/..\\..\\x')), 'EACCES');
  assert.equal(await code(() => parsePath('/b/a\0b')), 'EACCES');
  assert.equal(await code(() => parsePath('/b/a\r\nDELE x')), 'EACCES');
  assert.equal(await code(() => parsePath(`/b/${'a'.repeat(256)}`)), 'ENAMETOOLONG');
  assert.equal(await code(() => parsePath(`/b/${'a'.repeat(200)}/`.repeat(6))), 'ENAMETOOLONG');
  assert.equal(parsePath(`/b/${'é'.repeat(127)}`).kind, 'key');
  assert.equal(await code(() => parsePath(`/b/${'é'.repeat(128)}`)), 'ENAMETOOLONG');
});

test('resolveNavigation allows cd .. inside the view and never above the root', async () => {
  assert.equal(resolveNavigation('..', '/b/x'), '/b');
  assert.equal(resolveNavigation('../../', '/b/x'), '/');
  assert.equal(await code(() => resolveNavigation('../../..', '/b/x')), 'EACCES');
  assert.equal(await code(() => resolveNavigation('/..')), 'EACCES');
});

test('buckets are top-level folders; files live inside them; empty folders are markers', async () => {
  const v = await view();
  assert.equal(await code(v.write('/top.txt', bytes('x'))), 'EPERM');
  await v.mkdir('/photos');
  assert.equal(await code(v.mkdir('/photos')), 'EEXIST');
  assert.equal(await code(v.mkdir('/Bad_Name')), 'EINVAL');
  assert.equal(await code(v.mkdir('/photos/a/b')), 'ENOENT');
  await v.mkdir('/photos/a');
  await v.mkdir('/photos/a/b');
  assert.deepEqual(
    (await v.list('/photos/a')).map((e) => [e.name, e.type]),
    [['b', 'dir']],
  );
  await v.write('/photos/a/b/c.txt', bytes('hello'));
  assert.equal(await text(v, '/photos/a/b/c.txt'), 'hello');
  assert.equal((await v.stat('/photos/a/b/c.txt')).size, 5);
  assert.equal(await code(v.write('/photos/nope/c.txt', bytes('x'))), 'ENOENT');
  assert.equal(await code(v.write('/photos/a/b/c.txt/d', bytes('x'))), 'ENOTDIR');
  assert.equal(await code(v.write('/photos/a', bytes('x'))), 'EISDIR');
  assert.equal(await code(v.read('/photos/a')), 'EISDIR');
  assert.equal(await code(v.rmdir('/photos/a/b')), 'ENOTEMPTY');
  assert.equal(await code(v.rmdir('/photos')), 'ENOTEMPTY');
  await v.unlink('/photos/a/b/c.txt');
  // The folder a client made stays visible after its last file is gone.
  assert.equal((await v.stat('/photos/a/b')).type, 'dir');
  await v.rmdir('/photos/a/b');
  assert.equal(await code(v.stat('/photos/a/b')), 'ENOENT');
  assert.deepEqual((await v.list('/')).map((e) => e.name), ['photos']);
});

test('rename moves files, folders and buckets by metadata, with POSIX-like destination rules', async () => {
  const v = await view();
  await v.mkdir('/bkt');
  await v.mkdir('/bkt/src');
  await v.write('/bkt/src/one.txt', bytes('1'));
  await v.mkdir('/bkt/src/deep');
  await v.write('/bkt/src/deep/two.txt', bytes('2'));
  await v.write('/bkt/other.txt', bytes('o'));
  assert.equal(await code(v.rename('/bkt/src/one.txt', '/bkt/other.txt')), 'EEXIST');
  await v.rename('/bkt/src/one.txt', '/bkt/other.txt', { overwrite: true });
  assert.equal(await text(v, '/bkt/other.txt'), '1');
  assert.equal(await code(v.rename('/bkt/src', '/bkt/src/deep/x')), 'EINVAL');
  await v.rename('/bkt/src', '/bkt/dst');
  assert.equal(await text(v, '/bkt/dst/deep/two.txt'), '2');
  assert.equal(await code(v.stat('/bkt/src')), 'ENOENT');
  await v.rename('/bkt', '/renamed-bucket');
  assert.equal(await text(v, '/renamed-bucket/dst/deep/two.txt'), '2');
  assert.deepEqual((await v.list('/')).map((e) => e.name), ['renamed-bucket']);
  await v.copy('/renamed-bucket/dst', '/renamed-bucket/copy');
  assert.equal(await text(v, '/renamed-bucket/copy/deep/two.txt'), '2');
  await v.removeTree('/renamed-bucket/copy');
  assert.equal(await code(v.stat('/renamed-bucket/copy')), 'ENOENT');
});

test('tenants are isolated: another tenant sees none of these buckets', async () => {
  const stores = new MemoryTenantStores();
  const a = new PathView(await stores.open({ accessKey: 'alice-key', secretKey: 'alice-secret-1' }));
  const b = new PathView(await stores.open({ accessKey: 'bob-key', secretKey: 'bob-secret-22' }));
  await a.mkdir('/private');
  await a.write('/private/x', bytes('secret'));
  assert.deepEqual(await b.list('/'), []);
  assert.equal(await code(b.read('/private/x')), 'ENOENT');
});

test('read-only views refuse every change with EROFS', async () => {
  const v = new PathView((await view()).store, { readOnly: true });
  assert.equal(await code(v.mkdir('/bkt')), 'EROFS');
  assert.equal(await code(v.write('/bkt/x', bytes('x'))), 'EROFS');
});

test('write spool: random-offset writes, append and partial overwrite commit on close', async () => {
  const v = await view();
  await v.mkdir('/bkt');
  const s = await WriteSpool.open(v, '/bkt/f', { truncate: true });
  await s.write(5, Buffer.from('world'));
  await s.write(0, Buffer.from('hello'));
  assert.equal(await code(v.stat('/bkt/f')), 'ENOENT', 'nothing visible before commit');
  await s.commit();
  assert.equal(await text(v, '/bkt/f'), 'helloworld');
  const a = await WriteSpool.open(v, '/bkt/f', { truncate: false });
  await a.append(Buffer.from('!'));
  await a.write(0, Buffer.from('J'));
  await a.commit();
  assert.equal(await text(v, '/bkt/f'), 'Jelloworld!');
  const aborted = await WriteSpool.open(v, '/bkt/f', { truncate: true });
  await aborted.write(0, Buffer.from('lost'));
  await aborted.abort();
  assert.equal(await text(v, '/bkt/f'), 'Jelloworld!');
  assert.equal(await code(WriteSpool.open(v, '/bkt/f', { truncate: true, exclusive: true })), 'EEXIST');
  const empty = await WriteSpool.open(v, '/bkt/empty', { truncate: true });
  await empty.commit();
  assert.equal((await v.stat('/bkt/empty')).size, 0);
});

test('login throttle delays a client after its free attempts and forgets it on success', async () => {
  const t = new LoginThrottle({ freeAttempts: 2, baseDelayMs: 100, maxDelayMs: 400 });
  for (let i = 0; i < 2; i++) assert.equal(await t.attempt('ip:a', 'key:k', () => undefined), undefined);
  assert.equal(t.delayFor('ip:a'), 100);
  await t.attempt('ip:a', 'key:k', () => undefined);
  assert.equal(t.delayFor('ip:a'), 200);
  assert.equal(t.delayFor('key:k'), 200, 'the account is counted too');
  for (let i = 0; i < 5; i++) t.fail('ip:a');
  assert.equal(t.delayFor('ip:a'), 400, 'capped');
  assert.equal(t.delayFor('ip:b'), 0, 'other clients are not delayed');
  assert.equal(await t.attempt('ip:b', 'key:k', () => 'ok'), 'ok');
  t.succeed('ip:a');
  assert.equal(t.delayFor('ip:a'), 0);
  t.close();
});
