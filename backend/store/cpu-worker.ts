/**
 * Body of every CpuPool worker thread: runs the handlers registered by the chunk codec and the
 * stream hasher. Jobs are handled in arrival order; a handler that awaits (RS on the libuv pool)
 * lets the next job start meanwhile.
 */
import { parentPort } from 'node:worker_threads';
import { errorResponse, type CpuHandler, type CpuRequest } from './cpu-pool.js';
import { codecHandlers } from './chunk-codec.js';
import { hashHandlers } from './stream-hasher.js';

const handlers: Record<string, CpuHandler> = {
  ...codecHandlers,
  ...hashHandlers,
  // Ends this thread as a crash would, so tests can check the pool fails the jobs and replaces the worker.
  'pool/exit': () => process.exit(70),
};
const port = parentPort;
if (!port) throw new Error('cpu-worker.ts must run as a worker thread (see cpu-pool.ts)');

port.on('message', (req: CpuRequest) => {
  const handler = handlers[req.op];
  if (!handler) {
    port.postMessage(errorResponse(req.id, new Error(`unknown CPU job "${req.op}"`)));
    return;
  }
  const reply = (out: Awaited<ReturnType<CpuHandler>>) => port.postMessage({ id: req.id, ok: true, result: out.result }, out.transfer ?? []);
  try {
    const out = handler(req.args as never);
    if (out instanceof Promise) out.then(reply, (err: unknown) => port.postMessage(errorResponse(req.id, err)));
    else reply(out);
  } catch (err) {
    port.postMessage(errorResponse(req.id, err));
  }
});
