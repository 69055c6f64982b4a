// Checksum algorithms against their published check values ("123456789") and the S3 docs' shape
// (base64 of the big-endian digest), incremental updates, composites and CRC combination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { checksumOf, compositeChecksum, crcCombine, createChecksummer, CHECKSUM_ALGORITHMS } from '../../gateway/s3/checksums.js';

const CHECK = Buffer.from('123456789');

test('check values of the CRC catalogue', () => {
  assert.equal(checksumOf('CRC32', CHECK).toString('hex'), 'cbf43926');
  assert.equal(checksumOf('CRC32C', CHECK).toString('hex'), 'e3069283');
  assert.equal(checksumOf('CRC64NVME', CHECK).toString('hex'), 'ae8b14860a799888');
  assert.equal(checksumOf('SHA1', CHECK).toString('hex'), createHash('sha1').update(CHECK).digest('hex'));
  assert.equal(checksumOf('SHA256', CHECK).toString('hex'), createHash('sha256').update(CHECK).digest('hex'));
  // S3 sends "hello world" CRC32 as DUoRhQ==
  assert.equal(checksumOf('CRC32', Buffer.from('hello world')).toString('base64'), 'DUoRhQ==');
  assert.equal(checksumOf('CRC32C', Buffer.alloc(0)).toString('hex'), '00000000');
});

test('incremental updates at odd split points equal one-shot digests', () => {
  const data = Buffer.alloc(100_003);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
  for (const alg of CHECKSUM_ALGORITHMS) {
    const h = createChecksummer(alg);
    h.update(data.subarray(0, 1));
    h.update(data.subarray(1, 13));
    h.update(data.subarray(13, 65_549));
    h.update(data.subarray(65_549));
    assert.ok(h.digest().equals(checksumOf(alg, data)), alg);
  }
});

test('CRC combination equals the CRC of the concatenation', () => {
  const a = Buffer.from('first part of the object, any length');
  const b = Buffer.alloc(5 * 1024 + 3, 0x5a);
  for (const alg of ['CRC32', 'CRC32C', 'CRC64NVME'] as const) {
    assert.ok(crcCombine(alg, checksumOf(alg, a), checksumOf(alg, b), b.length).equals(checksumOf(alg, Buffer.concat([a, b]))), alg);
  }
});

test('composite checksum is the checksum of the raw part checksums, suffixed with the part count', () => {
  const p1 = checksumOf('SHA256', Buffer.from('one'));
  const p2 = checksumOf('SHA256', Buffer.from('two'));
  const expected = createHash('sha256').update(Buffer.concat([p1, p2])).digest('base64');
  assert.equal(compositeChecksum('SHA256', [p1.toString('base64'), p2.toString('base64')]), `${expected}-2`);
});
