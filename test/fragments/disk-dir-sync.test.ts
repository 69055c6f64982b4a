import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DirSync } from '../../backend/fragments/disk-dir-sync.js';

/** An fsync stand-in the test completes by hand, recording what ran. */
function manualFsync(): { fsync: (dir: string) => Promise<void>; started: string[]; finish: (err?: Error) => void } {
  const started: string[] = [];
  const pending: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  return {
    started,
    fsync: (dir) =>
      new Promise<void>((resolve, reject) => {
        started.push(dir);
        pending.push({ resolve, reject });
      }),
    finish: (err) => {
      const p = pending.shift();
      assert.ok(p, 'an fsync is running');
      if (err) p.reject(err);
      else p.resolve();
    },
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a sync asked while one runs waits for the next fsync, which the callers meanwhile share', async () => {
  const m = manualFsync();
  const sync = new DirSync(m.fsync);
  const settled: string[] = [];
  const a = sync.sync('/d').then(() => settled.push('a'));
  await tick();
  assert.deepEqual(m.started, ['/d']);
  // b and c come while a's fsync runs: it may have started before their renames
  const b = sync.sync('/d').then(() => settled.push('b'));
  const c = sync.sync('/d').then(() => settled.push('c'));
  await tick();
  assert.equal(m.started.length, 1, 'no second fsync while one runs');
  m.finish();
  await a;
  await tick();
  assert.deepEqual(settled, ['a'], 'b and c are not covered by the fsync that was running');
  assert.equal(m.started.length, 2, 'the next fsync started once the first ended');
  m.finish();
  await Promise.all([b, c]);
  assert.deepEqual(settled.sort(), ['a', 'b', 'c']);
  assert.equal(sync.fsyncs, 2, 'three syncs, two fsyncs');
});

test('different directories do not wait for each other', async () => {
  const m = manualFsync();
  const sync = new DirSync(m.fsync);
  const a = sync.sync('/a');
  const b = sync.sync('/b');
  await tick();
  assert.deepEqual(m.started, ['/a', '/b']);
  m.finish();
  m.finish();
  await Promise.all([a, b]);
});

test('a failed fsync rejects only the callers it was for; the next one is tried afresh', async () => {
  const m = manualFsync();
  const sync = new DirSync(m.fsync);
  const a = sync.sync('/d');
  await tick();
  const b = sync.sync('/d');
  m.finish(Object.assign(new Error('EIO'), { code: 'EIO' }));
  await assert.rejects(a, /EIO/);
  await tick();
  m.finish();
  await b;
  // nothing left behind: a later sync starts its own fsync at once
  const c = sync.sync('/d');
  await tick();
  assert.equal(m.started.length, 3);
  m.finish();
  await c;
});

test('the default fsync works on a real directory', async () => {
  await new DirSync().sync('.');
});
