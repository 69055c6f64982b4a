/**
 * Runnable storage peer, until the CLI wires `peerstor node` to startPeerNode (same flags):
 *   node --import tsx backend/network/peer-main.ts -v DIR::rw [--quota 1g] --listen 127.0.0.1:0 \
 *        --dht-port 0 [--bootstrap ADDR]... [--network-key FILE] [--host-label NAME]
 *        [--heartbeat-ms 5000] [--scrub-interval-ms 21600000] [--log-level info]
 * When ready it prints ONE JSON line on stdout: {"ready":true,"peerId","dataAddress","multiaddrs",
 * "networkKeyPath"}. SIGTERM/SIGINT stop it cleanly.
 * With --control-stdin (tests and benches), JSON lines on stdin drive it and each gets one JSON line
 * back: {"op":"members"} → {"op","members":[ids]} (the members it thinks alive: answered recently or
 * still connected; a storage peer never refreshes them on a timer); {"op":"refresh"} → the same
 * after asking every peer it knows of (members, connections, peer store) once, now;
 * {"op":"closest","key":HEX} → {"op","peers","queried","ms"}; {"op":"scrub"} → {"op","checked","corrupt":[ids]}.
 */
import './polyfills.js';
import { parseArgs } from 'node:util';
import { createInterface } from 'node:readline';
import { createLogger } from '../core/logger.js';
import { parseSize } from '../core/sizes.js';
import { startPeerNode } from './peer-node.js';

const { values } = parseArgs({
  options: {
    volume: { type: 'string', short: 'v', multiple: true, default: [] },
    quota: { type: 'string' },
    listen: { type: 'string', default: '127.0.0.1:0' },
    'dht-port': { type: 'string', default: '0' },
    bootstrap: { type: 'string', multiple: true, default: [] },
    'network-key': { type: 'string' },
    'host-label': { type: 'string' },
    'heartbeat-ms': { type: 'string' },
    'scrub-interval-ms': { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    'log-file': { type: 'string' },
    'bootstrap-wait-ms': { type: 'string' },
    'control-stdin': { type: 'boolean', default: false },
  },
  strict: true,
});

const logger = createLogger({ level: values['log-level'], file: values['log-file'] });
const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));

try {
  const node = await startPeerNode({
    volumes: values.volume,
    quota: values.quota ? parseSize(values.quota) : undefined,
    listen: values.listen,
    dhtPort: Number(values['dht-port']),
    bootstrap: values.bootstrap,
    networkKeyFile: values['network-key'],
    hostLabel: values['host-label'],
    heartbeatMs: num(values['heartbeat-ms']),
    scrubIntervalMs: num(values['scrub-interval-ms']),
    bootstrapWaitMs: num(values['bootstrap-wait-ms']),
    logger,
  });
  process.stdout.write(
    `${JSON.stringify({ ready: true, peerId: node.peerId, dataAddress: node.dataAddress, multiaddrs: node.multiaddrs, networkKeyPath: node.networkKeyPath })}\n`,
  );
  const stop = (): void => {
    node.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (values['control-stdin']) {
    const out = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
    const lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      let req: { op?: string; key?: string };
      try {
        req = JSON.parse(line) as { op?: string; key?: string };
      } catch {
        return out({ error: 'not JSON' });
      }
      const run = async (): Promise<object> => {
        switch (req.op) {
          case 'members':
            return { op: req.op, members: node.controlPlane.liveMembers().map((m) => m.id) };
          case 'refresh':
            await node.controlPlane.heartbeat();
            return { op: req.op, members: node.controlPlane.liveMembers().map((m) => m.id) };
          case 'closest': {
            const t0 = performance.now();
            const r = await node.controlPlane.closest(Buffer.from(req.key ?? '', 'hex'));
            return { op: req.op, ...r, ms: performance.now() - t0 };
          }
          case 'scrub': {
            const r = await node.scrub();
            return { op: req.op, checked: r.checked, corrupt: r.corrupt };
          }
          default:
            return { op: req.op, error: 'unknown op' };
        }
      };
      run().then(out, (err: unknown) => out({ op: req.op, error: err instanceof Error ? err.message : String(err) }));
    });
  }
} catch (err) {
  logger.fatal({ err }, 'storage peer failed to start');
  process.stderr.write(`peer failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
