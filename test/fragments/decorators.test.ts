import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { StoreError, type ErrorCode } from '../../backend/core/errors.js';
import type { FragmentStore } from '../../backend/core/fragment-store.js';
import { composeFragmentStore } from '../../backend/fragments/compose.js';
import { DiskFragmentStore } from '../../backend/fragments/disk-fragment-store.js';
import { MemoryFragmentStore } from '../../backend/fragments/memory-fragment-store.js';
import { NaughtyFragmentStore } from '../../backend/fragments/naughty-fragment-store.js';
import { withLimit } from '../../backend/fragments/with-limit.js';
import { withMetrics, type FragmentOpEvent } from '../../backend/fragments/with-metrics.js';
import { backoffMs, isTransient, withRetry } from '../../backend/fragments/with-retry.js';
import { withTimeout } from '../../backend/fragments/with-timeout.js';
import { withVerify } from '../../backend/fragments/with-verify.js';
import { collect, fragment, fragmentStoreSuite, rejectsWith } from '../conformance/fragment-store-suite.js';

const noSleep = async (): Promise<void> => undefined;
const unavailable = (): StoreError => new StoreError('Unavailable', 'peer went away');

// ---- the full stack must still honour the whole contract ------------------------------------------

fragmentStoreSuite('composed (metrics, retry, limit, timeout, verify) over memory', async () => {
  const inner = new MemoryFragmentStore();
  const store = composeFragmentStore(inner, {
    verify: true,
    timeoutMs: 60_000,
    concurrency: 4,
    retry: { sleep: noSleep },
    onOp: () => undefined,
  });
  return { store, cleanup: () => store.close() };
});

fragmentStoreSuite('composed over disk', async () => {
  const root = await mkdtemp(join(tmpdir(), 'peerstor-frag-'));
  const inner = await DiskFragmentStore.open({ volumes: [{ path: root, mode: 'rw' }] });
  const store = composeFragmentStore(inner, { verify: true, timeoutMs: 60_000, concurrency: 8, retry: true, onOp: () => undefined });
  return { store, cleanup: async () => (await store.close(), rm(root, { recursive: true, force: true })) };
});

// Every 3rd call per (op, id) to the inner store fails transiently, before or after doing its
// work (a lost acknowledgement): retry must hide all of it, so the contract holds as if the faults
// were not there. Counting per (op, id) keeps concurrent tests from stacking failures on one call.
fragmentStoreSuite('retry over a store that drops every 3rd call', async () => {
  const memory = new MemoryFragmentStore();
  const calls = new Map<string, number>();
  const drop = (op: string, id: string): boolean => {
    const n = (calls.get(op + id) ?? 0) + 1;
    calls.set(op + id, n);
    return n % 3 === 2;
  };
  const flaky: FragmentStore = {
    put: (id, data, o) => (drop('put', id) ? memory.put(id, data, o).then(() => Promise.reject(unavailable())) : memory.put(id, data, o)),
    get: (id, o) => (drop('get', id) ? Promise.reject(Object.assign(new Error('reset'), { code: 'ECONNRESET' })) : memory.get(id, o)),
    has: (id, o) => (drop('has', id) ? Promise.reject(new StoreError('Timeout', 'slow')) : memory.has(id, o)),
    delete: (id, o) => (drop('delete', id) ? memory.delete(id, o).then(() => Promise.reject(unavailable())) : memory.delete(id, o)),
    list: (o) => memory.list(o),
    stat: (o) => memory.stat(o),
    close: () => memory.close(),
  };
  const store = withRetry(flaky, { attempts: 4, sleep: noSleep });
  return { store, cleanup: () => store.close() };
});

// ---- withRetry --------------------------------------------------------------------------------------

describe('withRetry', () => {
  test('retries transient failures with growing, capped backoff, then succeeds', async () => {
    const memory = new MemoryFragmentStore();
    const f = fragment(100);
    await memory.put(f.id, f.data);
    const naughty = new NaughtyFragmentStore(memory).failOp('get', { error: unavailable(), times: 5 });
    const delays: number[] = [];
    const store = withRetry(naughty, {
      attempts: 6,
      baseMs: 10,
      maxMs: 50,
      random: () => 1,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    assert.deepEqual(await store.get(f.id), f.data);
    assert.deepEqual(delays, [10, 20, 40, 50, 50]);
    assert.equal(naughty.calls.length, 6);
  });

  test('gives up after `attempts` and throws the last error', async () => {
    const naughty = new NaughtyFragmentStore(new MemoryFragmentStore(), { byOp: { stat: unavailable() } });
    const store = withRetry(naughty, { attempts: 3, sleep: noSleep });
    await rejectsWith(store.stat(), 'Unavailable');
    assert.equal(naughty.calls.length, 3);
  });

  for (const code of ['BadDigest', 'Corrupt', 'QuotaExceeded', 'ReadOnly', 'FragmentNotFound', 'InvalidArgument', 'Internal'] as ErrorCode[]) {
    test(`never retries ${code}`, async () => {
      const naughty = new NaughtyFragmentStore(new MemoryFragmentStore(), { byOp: { get: new StoreError(code, 'final') } });
      const store = withRetry(naughty, { attempts: 5, sleep: noSleep });
      await rejectsWith(store.get(fragment(1).id), code);
      assert.equal(naughty.calls.length, 1);
    });
  }

  test('classifies raw network errors, including wrapped ones, as transient; aborts are not', () => {
    assert.equal(isTransient(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isTransient(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 'ERR_HTTP2_STREAM_ERROR' }) })), true);
    assert.equal(isTransient(new StoreError('Timeout', 't')), true);
    assert.equal(isTransient(new StoreError('Corrupt', 'c', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) })), false);
    assert.equal(isTransient(Object.assign(new Error('x'), { code: 'ENOENT' })), false);
    assert.equal(isTransient(new DOMException('stop', 'AbortError')), false);
    assert.equal(isTransient(new Error('plain')), false);
  });

  test('backoff has jitter between half and all of the capped exponential', () => {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const ceiling = Math.min(1000, 10 * 2 ** (attempt - 1));
      assert.equal(backoffMs(attempt, 10, 1000, () => 0), ceiling / 2);
      assert.equal(backoffMs(attempt, 10, 1000, () => 1), ceiling);
    }
  });

  test('stops retrying once the caller aborts', async () => {
    const naughty = new NaughtyFragmentStore(new MemoryFragmentStore(), { byOp: { has: unavailable() } });
    const ctrl = new AbortController();
    const store = withRetry(naughty, {
      attempts: 10,
      sleep: async () => {
        ctrl.abort();
      },
    });
    await rejectsWith(store.has(fragment(1).id, { signal: ctrl.signal }), 'Unavailable');
    assert.equal(naughty.calls.length, 2);
  });

  test('a listing is retried before its first entry, never after', async () => {
    const memory = new MemoryFragmentStore();
    for (let i = 0; i < 3; i++) {
      const f = fragment(10);
      await memory.put(f.id, f.data);
    }
    const naughty = new NaughtyFragmentStore(memory).failCall(1, unavailable());
    const store = withRetry(naughty, { sleep: noSleep });
    assert.equal((await collect(store.list())).length, 3);
    // calls: 1 failed step 0, then 4 next() calls (3 entries + done)
    assert.equal(naughty.calls.length, 5);

    const late = new NaughtyFragmentStore(memory).failCall(2, unavailable());
    await rejectsWith(collect(withRetry(late, { sleep: noSleep }).list()), 'Unavailable');
    assert.equal(late.calls.length, 2);
  });
});

// ---- withLimit --------------------------------------------------------------------------------------

/** An inner store whose has() calls wait until the test releases them, recording start order. */
function gatedStore(): { store: FragmentStore; started: string[]; running: () => number; releaseOne: () => void } {
  const memory = new MemoryFragmentStore();
  const started: string[] = [];
  const gates: Array<() => void> = [];
  let running = 0;
  const store: FragmentStore = {
    put: (id, d, o) => memory.put(id, d, o),
    get: (id, o) => memory.get(id, o),
    delete: (id, o) => memory.delete(id, o),
    list: (o) => memory.list(o),
    stat: (o) => memory.stat(o),
    close: () => memory.close(),
    has: async (id) => {
      started.push(id);
      running++;
      await new Promise<void>((resolve) => gates.push(resolve));
      running--;
      return false;
    },
  };
  return { store, started, running: () => running, releaseOne: () => gates.shift()?.() };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('withLimit', () => {
  test('runs at most N at once and starts waiters in FIFO order', async () => {
    const g = gatedStore();
    const store = withLimit(g.store, { concurrency: 3 });
    const ids = Array.from({ length: 8 }, () => fragment(1).id);
    const all = Promise.all(ids.map((id) => store.has(id)));
    await tick();
    assert.equal(g.running(), 3);
    assert.deepEqual(g.started, ids.slice(0, 3));
    let peak = g.running();
    for (let done = 0; done < 8; done++) {
      g.releaseOne();
      await tick();
      await tick();
      peak = Math.max(peak, g.running());
    }
    await all;
    assert.equal(peak, 3);
    assert.deepEqual(g.started, ids);
  });

  test('a queued operation whose caller aborts leaves the queue without running', async () => {
    const g = gatedStore();
    const store = withLimit(g.store, { concurrency: 1 });
    const [a, b, c] = [fragment(1).id, fragment(2).id, fragment(3).id];
    const first = store.has(a);
    const ctrl = new AbortController();
    const second = store.has(b, { signal: ctrl.signal });
    const third = store.has(c);
    await tick();
    ctrl.abort(new StoreError('Timeout', 'gave up'));
    await rejectsWith(second, 'Timeout');
    g.releaseOne();
    await first;
    await tick();
    g.releaseOne();
    await third;
    assert.deepEqual(g.started, [a, c]);
  });

  test('rejects a nonsensical concurrency', () => {
    assert.throws(() => withLimit(new MemoryFragmentStore(), { concurrency: 0 }), RangeError);
  });
});

// ---- withTimeout ------------------------------------------------------------------------------------

describe('withTimeout', () => {
  test('a hanging operation becomes Timeout and the inner op is aborted with it', async () => {
    const naughty = new NaughtyFragmentStore(new MemoryFragmentStore(), { hang: ['get'] });
    const store = withTimeout(naughty, { ms: 20 });
    const id = fragment(5).id;
    await rejectsWith(store.get(id), 'Timeout');
    const outcome = naughty.calls[0].outcome;
    assert.ok(outcome instanceof StoreError && outcome.code === 'Timeout', 'inner op was not aborted');
  });

  test('a timed-out listing step is Timeout', async () => {
    const naughty = new NaughtyFragmentStore(new MemoryFragmentStore(), { hang: ['list'] });
    await rejectsWith(collect(withTimeout(naughty, { ms: 20 }).list()), 'Timeout');
  });

  test('an inner listing stuck after its first entry times out instead of hanging', async () => {
    const memory = new MemoryFragmentStore();
    const f = fragment(5);
    await memory.put(f.id, f.data);
    const stuck: FragmentStore = {
      put: (id, d, o) => memory.put(id, d, o),
      get: (id, o) => memory.get(id, o),
      has: (id, o) => memory.has(id, o),
      delete: (id, o) => memory.delete(id, o),
      stat: (o) => memory.stat(o),
      close: () => memory.close(),
      // Ignores its signal, like a store that cannot cancel.
      list: async function* () {
        yield* memory.list();
        await new Promise<never>(() => undefined);
      },
    };
    const seen: string[] = [];
    await rejectsWith(
      (async () => {
        for await (const e of withTimeout(stuck, { ms: 20 }).list()) seen.push(e.id);
      })(),
      'Timeout',
    );
    assert.deepEqual(seen, [f.id]);
  });

  test('the caller’s abort wins at once with the caller’s reason', async () => {
    const naughty = new NaughtyFragmentStore(new MemoryFragmentStore(), { hang: ['has'] });
    const store = withTimeout(naughty, { ms: 60_000 });
    const ctrl = new AbortController();
    const p = store.has(fragment(1).id, { signal: ctrl.signal });
    const reason = new Error('user cancelled');
    ctrl.abort(reason);
    await assert.rejects(p, (err) => err === reason);
  });

  test('fast operations pass through untouched', async () => {
    const store = withTimeout(new MemoryFragmentStore(), { ms: 60_000 });
    const f = fragment(50);
    await store.put(f.id, f.data);
    assert.deepEqual(await store.get(f.id), f.data);
  });

  test('retry over timeout re-runs an attempt that timed out', async () => {
    const memory = new MemoryFragmentStore();
    const f = fragment(50);
    await memory.put(f.id, f.data);
    const naughty = new NaughtyFragmentStore(memory, { hang: ['get'] });
    const store = composeFragmentStore(naughty, {
      timeoutMs: 20,
      retry: {
        sleep: async () => {
          naughty.heal();
        },
      },
    });
    assert.deepEqual(await store.get(f.id), f.data);
    assert.equal(naughty.calls.length, 2);
  });
});

// ---- withVerify -------------------------------------------------------------------------------------

describe('withVerify', () => {
  test('bytes that do not match the id are Corrupt and reported', async () => {
    const memory = new MemoryFragmentStore();
    const f = fragment(999);
    await memory.put(f.id, f.data);
    const naughty = new NaughtyFragmentStore(memory, { corruptGets: true });
    const seen: string[] = [];
    const store = withVerify(naughty, { onCorrupt: (id) => seen.push(id) });
    await rejectsWith(store.get(f.id), 'Corrupt');
    assert.deepEqual(seen, [f.id]);
    naughty.setCorruptGets(false);
    assert.deepEqual(await store.get(f.id), f.data);
  });

  test('Corrupt from verify is final under retry', async () => {
    const memory = new MemoryFragmentStore();
    const f = fragment(10);
    await memory.put(f.id, f.data);
    const naughty = new NaughtyFragmentStore(memory, { corruptGets: true });
    const store = composeFragmentStore(naughty, { verify: true, retry: { sleep: noSleep } });
    await rejectsWith(store.get(f.id), 'Corrupt');
    assert.equal(naughty.calls.length, 1);
  });
});

// ---- withMetrics ------------------------------------------------------------------------------------

describe('withMetrics', () => {
  test('one event per operation with bytes, time and error code', async () => {
    const events: FragmentOpEvent[] = [];
    const store = withMetrics(new MemoryFragmentStore(), { onOp: (e) => events.push(e) });
    const f = fragment(1234);
    await store.put(f.id, f.data);
    await store.get(f.id);
    await rejectsWith(store.get(fragment(1).id), 'FragmentNotFound');
    await collect(store.list());
    await store.stat();
    assert.deepEqual(
      events.map((e) => [e.op, e.bytes, e.error, e.entries]),
      [
        ['put', 1234, undefined, undefined],
        ['get', 1234, undefined, undefined],
        ['get', 0, 'FragmentNotFound', undefined],
        ['list', 0, undefined, 1],
        ['stat', 0, undefined, undefined],
      ],
    );
    for (const e of events) assert.ok(e.ms >= 0);
    assert.equal(events[0].id, f.id);
  });

  test('errors that are not StoreErrors are reported as Internal; a throwing sink is ignored', async () => {
    const events: FragmentOpEvent[] = [];
    const naughty = new NaughtyFragmentStore(new MemoryFragmentStore(), { byOp: { stat: new TypeError('boom') } });
    const store = withMetrics(naughty, {
      onOp: (e) => {
        events.push(e);
        throw new Error('sink broken');
      },
    });
    await assert.rejects(store.stat(), TypeError);
    assert.equal(events[0].error, 'Internal');
    const f = fragment(3);
    await store.put(f.id, f.data);
    assert.equal(events.length, 2);
  });

  test('composed: the caller sees one event for an op that needed retries', async () => {
    const memory = new MemoryFragmentStore();
    const f = fragment(77);
    await memory.put(f.id, f.data);
    const naughty = new NaughtyFragmentStore(memory).failOp('get', { error: unavailable(), times: 2 });
    const events: FragmentOpEvent[] = [];
    const store = composeFragmentStore(naughty, { retry: { sleep: noSleep }, concurrency: 2, verify: true, onOp: (e) => events.push(e) });
    assert.deepEqual(await store.get(f.id), f.data);
    assert.equal(naughty.calls.length, 3);
    assert.deepEqual(events.map((e) => [e.op, e.bytes, e.error]), [['get', 77, undefined]]);
  });
});

// ---- NaughtyFragmentStore ---------------------------------------------------------------------------

describe('NaughtyFragmentStore', () => {
  test('fails by call number, counting every operation', async () => {
    const boom = new StoreError('Unavailable', 'call 3');
    const naughty = new NaughtyFragmentStore(new MemoryFragmentStore(), { byCall: { 3: boom } });
    const f = fragment(10);
    await naughty.put(f.id, f.data);
    await naughty.has(f.id);
    await assert.rejects(naughty.get(f.id), (e) => e === boom);
    assert.deepEqual(await naughty.get(f.id), f.data);
    assert.deepEqual(
      naughty.calls.map((c) => [c.call, c.op, c.outcome === 'ok']),
      [
        [1, 'put', true],
        [2, 'has', true],
        [3, 'get', false],
        [4, 'get', true],
      ],
    );
  });

  test('a failing call never reaches the inner store, unless `after` is set', async () => {
    const memory = new MemoryFragmentStore();
    const naughty = new NaughtyFragmentStore(memory);
    const a = fragment(10);
    const b = fragment(11);
    naughty.failOp('put', { error: unavailable(), times: 1 });
    await rejectsWith(naughty.put(a.id, a.data), 'Unavailable');
    assert.equal(await memory.has(a.id), false);
    naughty.failOp('put', { error: unavailable(), times: 1, after: true });
    await rejectsWith(naughty.put(b.id, b.data), 'Unavailable');
    assert.equal(await memory.has(b.id), true);
    await naughty.put(a.id, a.data);
    assert.equal(await memory.has(a.id), true);
  });

  test('default error covers everything not programmed; heal restores service', async () => {
    const naughty = new NaughtyFragmentStore(new MemoryFragmentStore(), { defaultError: unavailable() });
    await rejectsWith(naughty.stat(), 'Unavailable');
    await rejectsWith(collect(naughty.list()), 'Unavailable');
    naughty.heal();
    assert.equal((await naughty.stat()).fragments, 0);
  });

  test('corrupt gets flip bits only for the ids picked', async () => {
    const memory = new MemoryFragmentStore();
    const a = fragment(100);
    const b = fragment(100);
    await memory.put(a.id, a.data);
    await memory.put(b.id, b.data);
    const naughty = new NaughtyFragmentStore(memory, { corruptGets: (id) => id === a.id });
    const badA = await naughty.get(a.id);
    assert.equal(badA.length, 100);
    assert.notDeepEqual(badA, a.data);
    assert.deepEqual(await naughty.get(b.id), b.data);
    // The inner store's copy is untouched.
    assert.deepEqual(await memory.get(a.id), a.data);
  });
});
