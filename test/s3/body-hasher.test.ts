import { createHash, randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { BATCH_BYTES, createBodyHasher, type BodyHashAlgorithm } from '../../gateway/common/body-hasher.js';

const ALL: BodyHashAlgorithm[] = ['sha256', 'sha1', 'md5', 'crc32'];

function expected(data: Buffer): Record<BodyHashAlgorithm, Buffer> {
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(data) >>> 0);
  return {
    sha256: createHash('sha256').update(data).digest(),
    sha1: createHash('sha1').update(data).digest(),
    md5: createHash('md5').update(data).digest(),
    crc32: crc,
  };
}

/** feeds `data` in pieces of the given sizes (cycled), awaiting back-pressure as body.ts does */
async function hashInPieces(data: Buffer, sizes: number[], algorithms = ALL): Promise<Record<BodyHashAlgorithm, Buffer>> {
  const h = createBodyHasher(algorithms);
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length], data.length - off);
    const piece = data.subarray(off, off + n);
    const wait = h.update(piece);
    if (wait) await wait;
    off += n;
  }
  return h.digest();
}

test('digests match node:crypto and zlib for bodies below, at and across batch edges', async () => {
  for (const size of [0, 1, 1000, BATCH_BYTES - 1, BATCH_BYTES, BATCH_BYTES + 1, 5 * BATCH_BYTES + 12345]) {
    const data = randomBytes(size);
    const got = await hashInPieces(data, [65536, 7, 300_000, 1]);
    const want = expected(data);
    for (const a of ALL) assert.deepEqual(got[a], want[a], `${a} of ${size} bytes`);
  }
});

test('a piece bigger than a batch, and a caller that changes its piece afterwards, hash the original bytes', async () => {
  const data = randomBytes(3 * BATCH_BYTES + 5);
  const copy = Buffer.from(data);
  const h = createBodyHasher(['sha256']);
  const wait = h.update(copy);
  copy.fill(0);
  if (wait) await wait;
  assert.deepEqual((await h.digest()).sha256, expected(data).sha256);
});

test('many bodies hashed at once keep their own state', async () => {
  const bodies = Array.from({ length: 12 }, (_, i) => randomBytes(BATCH_BYTES * (i % 4) + i * 977));
  const got = await Promise.all(bodies.map((b, i) => hashInPieces(b, [16384 + i * 4096], ['sha256', 'crc32'])));
  got.forEach((g, i) => {
    assert.deepEqual(g.sha256, expected(bodies[i]).sha256);
    assert.deepEqual(g.crc32, expected(bodies[i]).crc32);
  });
});

test('an aborted body leaves the thread usable and the next body right', async () => {
  const h = createBodyHasher(['md5']);
  for (let i = 0; i < 6; i++) {
    const w = h.update(randomBytes(BATCH_BYTES));
    if (w) await w;
  }
  h.abort();
  h.abort();
  const data = randomBytes(2 * BATCH_BYTES + 3);
  assert.deepEqual((await hashInPieces(data, [65536], ['md5'])).md5, expected(data).md5);
});

test('repeated algorithms are computed once and reported once', async () => {
  const data = randomBytes(BATCH_BYTES + 10);
  const h = createBodyHasher(['sha256', 'sha256']);
  const w = h.update(data);
  if (w) await w;
  const d = await h.digest();
  assert.deepEqual(Object.keys(d), ['sha256']);
  assert.deepEqual(d.sha256, expected(data).sha256);
});
