import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireStateLock, StateLockedError } from '../../cli/state-lock.js';

test('one holder per state directory; stale pid files are taken over; release frees it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peerstor-lock-'));
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  const spawned = new Promise((resolve) => child.once('spawn', resolve));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const lock = await acquireStateLock(dir);
    assert.equal((await readFile(join(dir, 'peerstor.pid'), 'utf8')).trim(), String(process.pid));
    await assert.rejects(acquireStateLock(dir), StateLockedError, 'held by this process');
    await lock.release();
    await lock.release();
    await (await acquireStateLock(dir)).release();

    await spawned;
    await writeFile(join(dir, 'peerstor.pid'), `${child.pid}\n`);
    await assert.rejects(acquireStateLock(dir), (e: unknown) => e instanceof StateLockedError && e.pid === child.pid, 'held by a live process');
    child.kill();
    await exited;
    const taken = await acquireStateLock(dir);
    assert.equal((await readFile(join(dir, 'peerstor.pid'), 'utf8')).trim(), String(process.pid), 'a dead holder’s file is taken over');
    await taken.release();
    await writeFile(join(dir, 'peerstor.pid'), `${process.pid}\n`);
    await (await acquireStateLock(dir)).release();
  } finally {
    child.kill();
    await rm(dir, { recursive: true, force: true });
  }
});
