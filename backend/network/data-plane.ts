/**
 * The data plane: HTTP/2 over TLS 1.3 (node:http2) serving one peer's FragmentStore.
 *
 * Endpoints (all require `authorization: PeerStor <dataPlaneToken(networkKey)>`):
 *   PUT    /f/<id>   body = fragment bytes; the peer checks SHA-256(body) = id (BadDigest) and the
 *                    underlying store enforces quota (QuotaExceeded → 507). 204 when stored.
 *   GET    /f/<id>   the bytes (the store re-checks the hash; Corrupt → 500 + code), unless the
 *                    request carries `x-peerstor-caller-verifies: 1` (the caller hashes them itself
 *                    and asks again without the header on a mismatch, so the store then checks
 *                    and quarantines; FragmentOpOptions.callerVerifies)
 *   HEAD   /f/<id>   200 present / 404 absent
 *   DELETE /f/<id>   204 (idempotent)
 *   GET    /list     NDJSON, one FragmentEntry per line (for GC and audits)
 *   GET    /stat     JSON FragmentStat (capacity, used, free, fragments)
 *   GET    /-/health, /-/ready, /-/metrics  the operator endpoints (backend/metrics/ops-handler.ts),
 *          when the peer was given them: NO token needed (they reveal counts, never fragments),
 *          e.g. `curl -k --http2 https://HOST:PORT/-/metrics`
 * Errors carry the StoreError code in the `x-peerstor-error` header (HEAD too) and a JSON body
 * `{code, message}`; RemoteFragmentStore turns them back into StoreErrors. The peer never learns
 * more than ids and bytes.
 *
 * Streams and sessions get large flow-control windows (ARCHITECTURE §5: the 64 KiB defaults halve
 * throughput on a 16-peer fan-out).
 */
import http2, { type Http2SecureServer, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { BufferPool } from '../core/buffer-pool.js';
import type { FragmentStore } from '../core/fragment-store.js';
import { StoreError, isStoreError, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { OpsResponder } from '../metrics/ops-handler.js';
import type { PeerIdentity } from './identity.js';
import { dataPlaneToken } from './identity.js';
import { createPeerCertificate } from './peer-certificate.js';

/** per-stream and per-session windows; a 0.4 MiB fragment fits in one window */
export const STREAM_WINDOW = 16 * 2 ** 20;
export const SESSION_WINDOW = 64 * 2 ** 20;
/** 16 KiB frames (the default) cost one nghttp2 callback per 16 KiB; 1 MiB frames cut that 64× */
export const MAX_FRAME = 2 ** 20;
/** refuse PUT bodies larger than this (fragments are ≤ a few MiB); protects peer memory */
export const MAX_FRAGMENT_BYTES = 64 * 2 ** 20;

const ID_RE = /^[0-9a-f]{64}$/;

export const STATUS_OF: Record<ErrorCode, number> = {
  NoSuchBucket: 404,
  BucketAlreadyOwnedByYou: 409,
  BucketNotEmpty: 409,
  InvalidBucketName: 400,
  NoSuchKey: 404,
  KeyTooLong: 400,
  InvalidObjectName: 400,
  InvalidRange: 416,
  PreconditionFailed: 412,
  NotModified: 304,
  BadDigest: 400,
  EntityTooLarge: 413,
  IncompleteBody: 400,
  NoSuchUpload: 404,
  InvalidPart: 400,
  InvalidPartOrder: 400,
  EntityTooSmall: 400,
  TooManyParts: 400,
  InvalidArgument: 400,
  AccessDenied: 403,
  NotImplemented: 501,
  FragmentNotFound: 404,
  Corrupt: 500,
  QuotaExceeded: 507,
  ReadOnly: 403,
  Unavailable: 503,
  Timeout: 504,
  Internal: 500,
};

export interface DataPlaneInit {
  /** host to bind, e.g. 127.0.0.1 */
  host: string;
  /** 0 = ephemeral */
  port: number;
  identity: PeerIdentity;
  networkKey: Uint8Array;
  logger: Logger;
}

export interface DataPlaneComponents {
  store: FragmentStore;
  /** optional: one observation per request (protocol peer, operation PUT/GET/HEAD/DELETE/LIST/STAT) */
  metrics?: Metrics;
  /** optional: serves its prefix (`/-/`) without the token */
  ops?: OpsResponder;
}

/** What one request moved, for its metrics observation. */
interface Moved {
  bytesIn: number;
  bytesOut: number;
}

function operationOf(method: string, path: string): string {
  if (path.startsWith('/f/')) return ['PUT', 'GET', 'HEAD', 'DELETE'].includes(method) ? method : 'OTHER';
  if (path === '/stat') return 'STAT';
  if (path === '/list') return 'LIST';
  return 'OTHER';
}

export interface DataPlaneServer {
  /** `host:port` actually bound */
  readonly address: string;
  readonly port: number;
  /** stops accepting, closes sessions; does NOT close the store (its owner does) */
  close(): Promise<void>;
}

function sendError(stream: ServerHttp2Stream, err: unknown, head = false): void {
  const code: ErrorCode = isStoreError(err) ? err.code : 'Internal';
  const message = err instanceof Error ? err.message : String(err);
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  const body = head ? '' : JSON.stringify({ code, message });
  stream.respond({ ':status': STATUS_OF[code], 'x-peerstor-error': code, 'content-type': 'application/json' }, { endStream: head });
  if (!head) stream.end(body);
}

/**
 * Memory for PUT bodies and GET replies, reused (BufferPool). A fresh 0.1–2 MiB Buffer per
 * fragment cost the peer a malloc, page faults on first touch (~9 % of a peer's CPU on a PUT) and
 * V8 external-memory pressure; after a successful store.put nothing reads the bytes any more
 * (FragmentStore.put contract), so the memory goes back to the pool. Bodies under 16 KiB are left
 * to Node's own pool; 32 MiB idle is 16 fragments of 2 MiB.
 */
function bodyPool(): BufferPool {
  return new BufferPool({ granule: 16 * 1024, maxIdleBytes: 32 * 2 ** 20, idleTimeoutMs: 30_000 });
}

/**
 * A message body as one Buffer, built from the pieces HTTP/2 delivers (≤ 16 KiB: one TLS record).
 * With the declared length known, each piece is copied once into `into` (a buffer of that length)
 * as it arrives: no array of pieces to concatenate afterwards. A body that turns out longer falls
 * back to collecting pieces; `release` hears of `into` once it is no longer used (a pool's memory).
 * Used for PUT bodies on the peer and for replies in RemoteFragmentStore.
 */
export class BodyCollector {
  size = 0;
  #into: Buffer | undefined;
  readonly #pieces: Buffer[] = [];
  readonly #release: (b: Buffer) => void;

  constructor(into: Buffer | undefined, release: (b: Buffer) => void = () => undefined) {
    this.#into = into;
    this.#release = release;
  }

  add(chunk: Buffer): void {
    if (this.#into && this.size + chunk.length <= this.#into.length) {
      chunk.copy(this.#into, this.size);
    } else {
      if (this.#into) {
        this.#pieces.push(Buffer.from(this.#into.subarray(0, this.size)));
        this.abandon();
      }
      this.#pieces.push(chunk);
    }
    this.size += chunk.length;
  }

  /** The body: `into` itself when exactly filled (`exact`), else memory of its own. */
  finish(): { body: Buffer; exact: boolean } {
    const into = this.#into;
    if (into && this.size === into.length) return { body: into, exact: true };
    // shorter than declared, or longer (pieces)
    const body = into ? Buffer.from(into.subarray(0, this.size)) : this.#pieces.length === 1 ? this.#pieces[0] : Buffer.concat(this.#pieces, this.size);
    this.abandon();
    return { body, exact: false };
  }

  /** Gives `into` up (to `release`); later pieces are collected. */
  abandon(): void {
    if (this.#into) this.#release(this.#into);
    this.#into = undefined;
  }
}

/**
 * A request body as one Buffer, collected from a plain 'data' listener (the async iterator cost a
 * promise and a microtask per 16 KiB). With a declared content-length (RemoteFragmentStore always
 * sends one) it lands in memory of that size from `pool`; `pooled` says whether the result is the
 * pool's memory (to give back when done). A body longer than declared then fails the hash check.
 */
function readBody(stream: ServerHttp2Stream, declared: number | undefined, limit: number, pool: BufferPool): Promise<{ body: Buffer; pooled: boolean }> {
  return new Promise((resolve, reject) => {
    if (declared !== undefined && declared > limit) {
      stream.resume();
      reject(new StoreError('EntityTooLarge', `fragment larger than ${limit} bytes`));
      return;
    }
    const body = new BodyCollector(declared !== undefined ? pool.take(declared) : undefined, (b) => pool.give(b.buffer));
    let settled = false;
    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      if (err !== undefined) {
        body.abandon();
        return reject(err);
      }
      const r = body.finish();
      resolve({ body: r.body, pooled: r.exact });
    };
    const onData = (chunk: Buffer): void => {
      if (body.size + chunk.length > limit) {
        stream.resume();
        return finish(new StoreError('EntityTooLarge', `fragment larger than ${limit} bytes`));
      }
      body.add(chunk);
    };
    stream.on('data', onData);
    stream.once('end', () => finish());
    stream.once('error', (err) => finish(err));
    // a sender that resets the stream mid-body: no 'end' comes
    stream.once('close', () => finish(new StoreError('IncompleteBody', 'the sender closed the stream before the end of the body')));
  });
}

/** Request header by which the sender says it hashes a GET's bytes itself (FragmentOpOptions.callerVerifies). */
export const CALLER_VERIFIES_HEADER = 'x-peerstor-caller-verifies';

export async function startDataPlane(init: DataPlaneInit, components: DataPlaneComponents): Promise<DataPlaneServer> {
  const { store } = components;
  const log = init.logger.child({ component: 'data-plane' });
  const token = Buffer.from(`PeerStor ${dataPlaneToken(init.networkKey)}`);
  const bodies = bodyPool();
  const cert = createPeerCertificate(init.identity.peerId, init.identity.tlsKey, init.identity.tlsPublicKey);
  const server: Http2SecureServer = http2.createSecureServer({
    key: init.identity.tlsKey.export({ format: 'pem', type: 'pkcs8' }),
    cert,
    minVersion: 'TLSv1.3',
    settings: { initialWindowSize: STREAM_WINDOW, maxConcurrentStreams: 1000, maxFrameSize: MAX_FRAME },
    maxSessionMemory: 256,
  });

  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.on('error', () => session.destroy());
    session.once('connect', () => session.setLocalWindowSize(SESSION_WINDOW));
    if (!session.connecting) session.setLocalWindowSize(SESSION_WINDOW);
  });

  const authorized = (headers: IncomingHttpHeaders): boolean => {
    const got = Buffer.from(String(headers.authorization ?? ''));
    return got.length === token.length && timingSafeEqual(got, token);
  };

  /** Answers one request; resolves to the error code it sent without throwing, if any. */
  const handle = async (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, moved: Moved): Promise<ErrorCode | undefined> => {
    const method = String(headers[':method']);
    const path = String(headers[':path']);
    const head = method === 'HEAD';
    if (!authorized(headers)) {
      stream.resume();
      sendError(stream, new StoreError('AccessDenied', 'missing or wrong data-plane token (different network key?)'), head);
      return 'AccessDenied';
    }
    if (path.startsWith('/f/')) {
      const id = path.slice(3);
      if (!ID_RE.test(id)) {
        sendError(stream, new StoreError('InvalidArgument', 'fragment id must be 64 lower-case hex digits'), head);
        return 'InvalidArgument';
      }
      switch (method) {
        case 'PUT': {
          const declared = headers['content-length'] === undefined ? undefined : Number(headers['content-length']);
          const { body, pooled } = await readBody(stream, declared !== undefined && Number.isSafeInteger(declared) && declared >= 0 ? declared : undefined, MAX_FRAGMENT_BYTES, bodies);
          moved.bytesIn = body.length;
          // checked here, whatever the store does: a hostile or buggy sender must never get bytes
          // under a wrong name into any implementation. Having hashed these very bytes in this
          // process, the peer tells its store so (idVerified): a second SHA-256 of every fragment
          // in DiskFragmentStore cost the peers ~0.6 CPU ms per MiB received.
          if (createHash('sha256').update(body).digest('hex') !== id) {
            if (pooled) bodies.give(body.buffer);
            throw new StoreError('BadDigest', `bytes do not hash to ${id}`);
          }
          // given back only once put resolved: a store that failed may still be writing them
          await store.put(id, body, { idVerified: true });
          if (pooled) bodies.give(body.buffer);
          stream.respond({ ':status': 204 }, { endStream: true });
          return;
        }
        case 'GET': {
          // The gateway hashes what it receives anyway; when it says it does (on a worker thread),
          // the store may skip its own check. Without the header (an older gateway, or the
          // gateway's re-read after a mismatch) the store checks and quarantines a bad copy.
          // The bytes are read into pooled memory (FragmentOpOptions.allocate), given back once
          // the stream has handed them all down ('finish': every write callback ran, so TLS has
          // copied them into its records). A fresh Buffer per fragment cost the peer a major GC
          // every ~64 MiB served (V8 counts the buffers as external memory) and page faults: ~25 %
          // of its CPU per fragment GET. A stream that ends otherwise leaves its memory to GC.
          let taken: Buffer | undefined;
          const allocate = (length: number): Buffer => (taken = bodies.take(length));
          const data = await store.get(id, headers[CALLER_VERIFIES_HEADER] === '1' ? { callerVerifies: true, allocate } : { allocate });
          moved.bytesOut = data.length;
          if (taken !== undefined && data.buffer === taken.buffer) stream.once('finish', () => bodies.give(data.buffer));
          stream.respond({ ':status': 200, 'content-type': 'application/octet-stream', 'content-length': data.length });
          stream.end(data);
          return;
        }
        case 'HEAD': {
          const present = await store.has(id);
          stream.respond({ ':status': present ? 200 : 404, ...(present ? {} : { 'x-peerstor-error': 'FragmentNotFound' }) }, { endStream: true });
          return;
        }
        case 'DELETE':
          await store.delete(id);
          stream.respond({ ':status': 204 }, { endStream: true });
          return;
      }
    } else if (path === '/stat' && method === 'GET') {
      const s = await store.stat();
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(JSON.stringify(s));
      return;
    } else if (path === '/list' && method === 'GET') {
      stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson' });
      let batch = '';
      for await (const e of store.list()) {
        batch += `${JSON.stringify(e)}\n`;
        if (batch.length > 64 * 1024) {
          if (!stream.write(batch)) await new Promise((r) => stream.once('drain', r));
          batch = '';
        }
      }
      stream.end(batch);
      return;
    }
    stream.resume();
    sendError(stream, new StoreError('NotImplemented', `${method} ${path} is not a data-plane endpoint`), head);
    return 'NotImplemented';
  };

  const { metrics, ops } = components;
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const method = String(headers[':method']);
    const path = String(headers[':path']).split('?', 1)[0];
    if (ops && path.startsWith(ops.prefix)) {
      stream.resume();
      void ops.respond(method, path).then((r) => {
        if (stream.destroyed || stream.closed) return;
        const h: Record<string, string | number> = { ':status': r.status };
        for (const [k, v] of Object.entries(r.headers)) h[k.toLowerCase()] = v;
        stream.respond(h);
        stream.end(r.body);
      });
      return;
    }
    const t0 = metrics ? process.hrtime.bigint() : 0n;
    const moved: Moved = { bytesIn: 0, bytesOut: 0 };
    const observe = (code: string): void => {
      metrics?.observeRequest({ protocol: 'peer', operation: operationOf(method, path), code, seconds: Number(process.hrtime.bigint() - t0) / 1e9, ...moved });
    };
    handle(stream, headers, moved).then(
      (code) => observe(code ?? 'OK'),
      (err: unknown) => {
        if (!isStoreError(err)) log.warn({ err }, 'data-plane request failed');
        observe(isStoreError(err) ? err.code : 'Internal');
        sendError(stream, err, method === 'HEAD');
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(init.port, init.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const address = `${init.host.includes(':') ? `[${init.host}]` : init.host}:${port}`;
  log.info({ address, peerId: init.identity.peerId }, 'data plane listening (HTTP/2, TLS 1.3)');
  return {
    address,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // close() waits for sessions to end: end them now so a stop never hangs on idle clients
        for (const s of sessions) s.destroy();
      }),
  };
}
