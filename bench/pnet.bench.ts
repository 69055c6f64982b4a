/**
 * The private-network stream cipher (backend/network/private-network.ts: pure-JS XSalsa20 from
 * @noble/ciphers behind a streaming wrapper) against the `xsalsa20` package @libp2p/pnet used
 * (WebAssembly, one shared memory per process), per message size: 64 KiB (bulk), 1 KiB and 200 B
 * (DHT messages are a few hundred bytes). Messages are unaligned views, as socket buffers are.
 * Also one-shot noble xsalsa20 over whole messages (what the wrapper costs on top).
 *   node --import tsx bench/pnet.bench.ts            (BENCH_PNET_MIB=32 by default)
 */
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { xsalsa20 } from '@noble/ciphers/salsa.js';
import { XSalsa20Stream } from '../backend/network/private-network.js';
import { measure, randomBytesFast, report } from './lib.js';

interface PackageCipher {
  update(input: Uint8Array): Uint8Array;
  finalize(): void;
}
const packageXsalsa20 = createRequire(import.meta.url)('xsalsa20') as (nonce: Uint8Array, key: Uint8Array) => PackageCipher;

const MiB = 2 ** 20;
const total = Number(process.env.BENCH_PNET_MIB ?? 32) * MiB;
const key = randomBytes(32);
const nonce = randomBytes(24);
// one byte in, so no message starts 4-byte aligned
const source = randomBytesFast(total + 1).subarray(1);

for (const size of [64 * 1024, 1024, 200]) {
  // small messages: less data, the per-message cost dominates anyway
  const bytes = size >= 64 * 1024 ? total : Math.min(total, 8 * MiB);
  const messages: Uint8Array[] = [];
  for (let at = 0; at + size <= bytes; at += size) messages.push(source.subarray(at, at + size));
  const n = messages.length * size;
  const label = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
  let sink = 0;

  const baseline = await measure(`xsalsa20 package (WASM), ${label} msgs`, n, () => {
    const c = packageXsalsa20(nonce, key);
    for (const m of messages) sink ^= c.update(m)[0];
    // returns its WASM slot, so repeated runs do not leak
    c.finalize();
  });
  const ours = await measure(`XSalsa20Stream (noble), ${label} msgs`, n, () => {
    const c = new XSalsa20Stream(key, nonce);
    for (const m of messages) sink ^= c.update(m)[0];
  });
  const oneShot = await measure(`noble xsalsa20 one-shot, ${label} msgs`, n, () => {
    for (const m of messages) sink ^= xsalsa20(key, nonce, m)[0];
  });
  report([baseline, ours, oneShot], baseline);
  if (sink === 256) console.log('');
}
