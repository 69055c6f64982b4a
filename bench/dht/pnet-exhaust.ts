/**
 * Reproduces the pnet crash without the DHT bench: ONE ControlPlane node (what a gateway or peer
 * runs) and raw TCP clients WITHOUT the network key. Each client sends pnet's 24-byte nonce and
 * a few bytes, then closes. @libp2p/pnet builds two xsalsa20 ciphers per connection before any
 * key check and never frees them (xsalsa20's WASM slots are only returned by finalize(), which
 * pnet never calls); past ~10,240 ciphers per process the shared WASM memory grows, every older
 * cipher's view of it is detached, and their next updates grow it again until the 1000-page cap:
 * RangeError in a socket listener, uncaught, the process dies. See bench/dht/README.md.
 *   node --import tsx bench/dht/pnet-exhaust.ts [connections=9000] [peers=16]
 * Exits 0 when the node survived, 1 when it crashed (with the stack). Loopback only.
 */
import '../../backend/network/polyfills.js';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { silentLogger } from '../../backend/core/logger.js';
import { identityFromKey } from '../../backend/network/identity.js';
import { ControlPlane } from '../../backend/network/control-plane.js';
import type { HostInit } from './protocol.js';

// the same CommonJS module instance pnet uses: a fresh cipher's slot shows how many were ever taken
const XSalsa20 = createRequire(import.meta.url)('xsalsa20') as (nonce: Uint8Array, key: Uint8Array) => { _xor: { _pointer?: number; _memory?: Uint8Array } };
function slots(): string {
  const x = XSalsa20(new Uint8Array(24), new Uint8Array(32))._xor;
  return x._pointer === undefined ? 'n/a' : `${(x._pointer - 144) / 64} cipher slots taken, WASM memory ${x._memory!.length / 65536} pages`;
}
const total = Number(process.argv[2] ?? 9000);
const networkKey = randomBytes(32);
const peers = Number(process.argv[3] ?? 16);
let sent = 0;

const start = async (bootstrap: string[]): Promise<ControlPlane> =>
  ControlPlane.start({
    identity: await identityFromKey(await generateKeyPair('Ed25519')),
    networkKey,
    dhtPort: 0,
    bootstrap,
    heartbeatMs: 500,
    logger: silentLogger(),
    announce: async () => ({ role: 'peer', dataAddress: '127.0.0.1:1', host: 'bench', capacity: 1, free: 1 }),
  });

const victim = await start([]);
// legitimate members in another process (a gateway's peers): their heartbeats keep traffic flowing
// over connections whose ciphers predate the memory growth
// (at most 25 per process, so they stay far from the limit themselves)
const friends = Array.from({ length: Math.ceil(peers / 25) }, (_, i) => {
  const init: HostInit = { count: Math.min(25, peers - 25 * i), networkKey: networkKey.toString('hex'), bootstrap: [victim.multiaddrs()[0]], heartbeatMs: 500 };
  return spawn(process.execPath, ['--import', 'tsx', new URL('./node-host.ts', import.meta.url).pathname, JSON.stringify(init)], { stdio: ['pipe', 'pipe', 'inherit'] });
});
await Promise.all(friends.map((f) => new Promise<string>((resolve) => createInterface({ input: f.stdout! }).once('line', resolve))));
await new Promise((r) => setTimeout(r, 3000));
const killFriends = (): void => {
  for (const f of friends) f.kill('SIGTERM');
};
process.on('uncaughtException', (err) => {
  killFriends();
  console.log(`CRASHED after ${sent} keyless connections: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
console.log(`victim connected to ${victim.node.getConnections().length} peers, ${slots()}; opening ${total} keyless connections`);
const port = Number(/\/tcp\/(\d+)/.exec(victim.multiaddrs()[0])![1]);

function poke(): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(randomBytes(24 + 16));
      setTimeout(() => s.destroy(), 50);
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve());
  });
}

for (let i = 0; i < total; i += 200) {
  await Promise.all(Array.from({ length: Math.min(200, total - i) }, poke));
  sent = Math.min(total, i + 200);
  if (sent % 1000 === 0) console.log(`${sent} sent: ${slots()}`);
}
// give the legitimate connection's heartbeats time to run into the grown memory
await new Promise((r) => setTimeout(r, 2000));
console.log(`survived ${sent} keyless connections: ${slots()}`);
killFriends();
await victim.stop();
process.exit(0);
