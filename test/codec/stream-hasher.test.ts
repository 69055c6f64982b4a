import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { StreamHasher } from '../../backend/store/stream-hasher.js';
import { CpuPool } from '../../backend/store/cpu-pool.js';
import { isStoreError } from '../../backend/core/errors.js';

const pool = new CpuPool(2);
after(() => pool.close());

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

async function hashInPieces(data: Buffer, piece: number, init: ConstructorParameters<typeof StreamHasher>[0] = {}): Promise<string> {
  const h = new StreamHasher({ pool, ...init });
  for (let off = 0; off < data.length; off += piece) h.update(data.subarray(off, off + piece));
  return (await h.digest()).toString('hex');
}

test('MD5 equals createHash for empty, inline-sized, batch-sized and multi-batch inputs', async () => {
  const big = randomBytes(5 * 2 ** 20 + 12345);
  for (const size of [0, 1, 1000, 64 * 1024, 64 * 1024 + 1, 2 ** 20, 2 ** 20 + 1, big.length]) {
    const data = big.subarray(0, size);
    for (const piece of [1 << 16, 100_003, 2 ** 21]) {
      assert.equal(await hashInPieces(data, piece), md5(data), `size ${size} piece ${piece}`);
    }
  }
});

test('tiny batches exercise many flushes and buffer reuse; other algorithms work', async () => {
  const data = randomBytes(300_000);
  assert.equal(await hashInPieces(data, 777, { batchBytes: 4096, inlineBelowBytes: 0 }), md5(data));
  assert.equal(await hashInPieces(data, 5000, { algorithm: 'sha256', batchBytes: 8192 }), createHash('sha256').update(data).digest('hex'));
  assert.throws(() => new StreamHasher({ pool, algorithm: 'no-such-hash' }));
});

test('the caller may reuse its buffer right after update', async () => {
  const h = new StreamHasher({ pool, batchBytes: 1024, inlineBelowBytes: 0 });
  const buf = Buffer.alloc(1500);
  const expected = createHash('md5');
  for (let i = 0; i < 50; i++) {
    buf.fill(i);
    expected.update(buf);
    h.update(buf);
  }
  assert.equal((await h.digest()).toString('hex'), expected.digest('hex'));
});

test('back-pressure: update returns false above the high-water mark and drained() resolves', async () => {
  const h = new StreamHasher({ pool, batchBytes: 2 ** 16, highWaterBytes: 2 ** 18 });
  const data = randomBytes(2 ** 20);
  let sawFalse = false;
  for (let off = 0; off < data.length; off += 2 ** 16) {
    if (!h.update(data.subarray(off, off + 2 ** 16))) {
      sawFalse = true;
      assert.ok(h.backlog >= 2 ** 18);
      await h.drained();
      assert.ok(h.backlog < 2 ** 18);
    }
  }
  assert.ok(sawFalse, 'a 1 MiB burst over a 256 KiB mark must report back-pressure');
  assert.equal((await h.digest()).toString('hex'), md5(data));
});

test('update or digest after digest, and after abort, are refused', async () => {
  const h = new StreamHasher({ pool });
  h.update(Buffer.from('abc'));
  await h.digest();
  assert.throws(() => h.update(Buffer.from('x')), (e) => isStoreError(e, 'Internal'));
  await assert.rejects(h.digest(), (e) => isStoreError(e, 'Internal'));
  const a = new StreamHasher({ pool, batchBytes: 1024, inlineBelowBytes: 0 });
  a.update(randomBytes(5000));
  a.abort();
  a.abort();
  assert.throws(() => a.update(Buffer.from('x')), (e) => isStoreError(e, 'Internal'));
});

test('a closed pool fails the digest with Unavailable', async () => {
  const p = new CpuPool(1);
  const h = new StreamHasher({ pool: p, batchBytes: 1024, inlineBelowBytes: 0 });
  h.update(randomBytes(4096));
  await p.close();
  await assert.rejects(h.digest(), (e) => isStoreError(e, 'Unavailable'));
});
