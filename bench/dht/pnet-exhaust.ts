/**
 * The reproduction of the old pnet crash, now a regression check: ONE ControlPlane node (what a
 * gateway or peer runs) and raw TCP clients WITHOUT the network key. Each client sends the
 * protector's 24-byte nonce and a few bytes, then closes. With @libp2p/pnet each attempt leaked two
 * xsalsa20 WASM cipher slots; past ~10,240 the shared WASM memory grew, older ciphers' views
 * detached, and their next updates grew it to the 1000-page cap: RangeError in a socket listener,
 * uncaught, the process died (at 9,800 connections here). The control plane now uses
 * backend/network/private-network.ts (pure-JS XSalsa20, per-connection state): the node must
 * survive, take no xsalsa20 slot, keep its heap flat, and still admit a keyed peer afterwards.
 * See bench/dht/README.md.
 *   node --import tsx bench/dht/pnet-exhaust.ts [connections=9000] [peers=16]
 * Exits 0 when the node survived and still works, 1 otherwise (with the reason). Loopback only.
 */
import '../../backend/network/polyfills.js';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { silentLogger } from '../../backend/core/logger.js';
import { identityFromKey } from '../../backend/network/identity.js';
import { ControlPlane } from '../../backend/network/control-plane.js';
import { xsalsa20Slots } from './xsalsa20-slots.js';
import type { HostInit } from './protocol.js';

// heap figures after a full GC, so they show what is kept rather than what is not collected yet
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function slots(): string {
  gc();
  const x = xsalsa20Slots();
  const m = process.memoryUsage();
  return `${x.slots} xsalsa20 slots taken (WASM ${x.wasmPages} pages), heap ${(m.heapUsed / 2 ** 20).toFixed(1)} MiB, RSS ${(m.rss / 2 ** 20).toFixed(0)} MiB`;
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
// give the legitimate connections' heartbeats time to run (they crashed pnet after the growth)
await new Promise((r) => setTimeout(r, 2000));
console.log(`survived ${sent} keyless connections: ${slots()}, ${victim.node.getConnections().length} connections open`);
// and a keyed peer can still join it
const late = await start([victim.multiaddrs()[0]]);
const deadline = Date.now() + 30_000;
while (!victim.member(late.peerId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
const joined = victim.member(late.peerId) !== undefined;
console.log(joined ? 'a new keyed peer joined afterwards' : 'FAILED: a new keyed peer could not join within 30 s');
killFriends();
await late.stop();
await victim.stop();
process.exit(joined && xsalsa20Slots().slots === 0 ? 0 : 1);
