/** Keeps started services running until the stop signal, then closes them in reverse order. */
import type { CliComponents, Service } from '../compose.js';
import type { CliIo } from '../io.js';

export async function serveUntilStopped(c: CliComponents, services: Service[], io: CliIo): Promise<number> {
  if (!io.signal.aborted) await new Promise<void>((resolve) => io.signal.addEventListener('abort', () => resolve(), { once: true }));
  c.logger.info('stopping');
  let failed = false;
  for (const s of [...services].reverse()) {
    try {
      await s.close();
    } catch (err) {
      failed = true;
      c.logger.error({ err, service: s.name }, 'failed to stop cleanly');
    }
  }
  await c.close();
  return failed ? 1 : 0;
}
