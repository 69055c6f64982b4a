/**
 * Baseline peer for bench/network.bench.ts: the same disk store behind plain HTTP/1.1 (no TLS, no
 * HTTP/2), PUT /f/<id> only. Prints {"port"} when listening. Not part of the product.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DiskFragmentStore } from '../backend/fragments/disk-fragment-store.js';

const dir = process.argv[2];
const store = await DiskFragmentStore.open({ volumes: [{ path: dir, mode: 'rw' }] });
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    store.put(String(req.url).slice(3), Buffer.concat(chunks)).then(
      () => res.writeHead(204).end(),
      () => res.writeHead(500).end(),
    );
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`));
process.once('SIGTERM', () => {
  server.close();
  void store.close().then(() => process.exit(0));
});
