/**
 * One observation per HTTP exchange for front ends that answer raw node:http requests (WebDAV, the
 * web page): called once when the request arrives, it records on the response's 'close' (which
 * fires for finished and aborted responses alike, so every request counts exactly once).
 *
 * Bytes come from the Content-Length headers, as the S3 front end counts them: no per-chunk work.
 * A request body sent chunked (no Content-Length) counts 0 bytes in; a response that did not finish
 * counts 0 bytes out and the code `Aborted`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics, Protocol } from './metrics.js';

export interface HttpExchangeInit {
  protocol: Protocol;
  /** the label value, e.g. the method; keep the set bounded */
  operation: string;
}

/** `OK` below 400, else the status number ("404", "423"…): the error the client was sent. */
export function httpCode(status: number): string {
  return status < 400 ? 'OK' : String(status);
}

/** Content-Length from writeHead's header argument (object or flat [name, value, …] array). */
function lengthIn(headers: unknown): number | undefined {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) if (String(headers[i]).toLowerCase() === 'content-length') return Number(headers[i + 1]);
    return undefined;
  }
  if (headers && typeof headers === 'object') {
    for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === 'content-length') return Number(v);
  }
  return undefined;
}

export function observeHttpExchange(metrics: Metrics, req: IncomingMessage, res: ServerResponse, init: HttpExchangeInit): void {
  const t0 = process.hrtime.bigint();
  // Headers passed to writeHead() alone are not readable through getHeader(): note the length here.
  let written: number | undefined;
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    const headers = typeof args[1] === 'string' ? args[2] : args[1];
    written = lengthIn(headers) ?? written;
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as typeof res.writeHead;
  res.once('close', () => {
    const bytesIn = Number(req.headers['content-length']);
    const bytesOut = written ?? Number(res.getHeader('content-length'));
    const finished = res.writableFinished;
    metrics.observeRequest({
      protocol: init.protocol,
      operation: init.operation,
      code: finished ? httpCode(res.statusCode) : 'Aborted',
      seconds: Number(process.hrtime.bigint() - t0) / 1e9,
      bytesIn: Number.isFinite(bytesIn) ? bytesIn : 0,
      bytesOut: finished && req.method !== 'HEAD' && Number.isFinite(bytesOut) ? bytesOut : 0,
    });
  });
}
