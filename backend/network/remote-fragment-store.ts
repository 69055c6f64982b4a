/**
 * RemoteFragmentStore: the FragmentStore of one peer, reached over its data plane (data-plane.ts).
 *
 * Contract on top of FragmentStore's:
 * - Before the first request on every new HTTP/2 session, the TLS certificate is checked against
 *   the peer id this store was created for (peer-certificate.ts); a mismatch fails the call with
 *   Unavailable and sends nothing — so a peer that moved, or an impostor at its old address, is
 *   never given or asked for a fragment.
 * - The peer is hostile by assumption: get() re-hashes what it receives (Corrupt on mismatch),
 *   unless the caller says it hashes the bytes itself (FragmentOpOptions.callerVerifies: the
 *   chunk codec does, on a worker thread). Then the peer is told so too and skips its own check;
 *   the caller's re-read after a mismatch comes without the flag, so this store and the peer's
 *   both check (the peer quarantines a bad copy).
 * - Transport failures (refused, reset, TLS) → Unavailable; `timeoutMs` per request → Timeout.
 *   Retry and hedging are decorators' and the reader's job, not this class's.
 * - close() ends the session; later calls reconnect.
 */
import http2, { type ClientHttp2Session, type OutgoingHttpHeaders, type IncomingHttpHeaders } from 'node:http2';
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import type { FragmentEntry, FragmentId, FragmentOpOptions, FragmentStat, FragmentStore } from '../core/fragment-store.js';
import { StoreError, type ErrorCode } from '../core/errors.js';
import { BodyCollector, CALLER_VERIFIES_HEADER, MAX_FRAME, STATUS_OF, STREAM_WINDOW, SESSION_WINDOW } from './data-plane.js';
import { dataPlaneToken } from './identity.js';
import { verifyPeerCertificate } from './peer-certificate.js';

export interface RemoteFragmentStoreInit {
  /** data-plane `host:port` ([v6]:port for IPv6) */
  address: string;
  /** the peer id the caller chose; the TLS certificate must carry its key */
  peerId: string;
  networkKey: Uint8Array;
  /** per request; default 30 s */
  timeoutMs?: number;
}

const KNOWN_CODES = new Set(Object.keys(STATUS_OF));
/** a declared reply length up to this is allocated at once (a fragment is a few MiB at most) */
const MAX_REPLY_PREALLOC = 64 * 2 ** 20;

function splitAddress(address: string): { host: string; port: number } {
  const m = /^\[(.+)\]:(\d+)$/.exec(address) ?? /^([^:]+):(\d+)$/.exec(address);
  if (!m) throw new StoreError('InvalidArgument', `data-plane address must be HOST:PORT, got "${address}"`);
  return { host: m[1], port: Number(m[2]) };
}

function checkId(id: string): string {
  if (!/^[0-9a-f]{64}$/.test(id)) throw new StoreError('InvalidArgument', 'fragment id must be 64 lower-case hex digits');
  return id;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export class RemoteFragmentStore implements FragmentStore {
  readonly address: string;
  readonly peerId: string;
  readonly #host: string;
  readonly #port: number;
  readonly #auth: string;
  readonly #timeoutMs: number;
  #session: Promise<ClientHttp2Session> | undefined;

  constructor(init: RemoteFragmentStoreInit) {
    this.address = init.address;
    this.peerId = init.peerId;
    ({ host: this.#host, port: this.#port } = splitAddress(init.address));
    this.#auth = `PeerStor ${dataPlaneToken(init.networkKey)}`;
    this.#timeoutMs = init.timeoutMs ?? 30_000;
  }

  #connect(): Promise<ClientHttp2Session> {
    const existing = this.#session;
    if (existing) return existing;
    const p = new Promise<ClientHttp2Session>((resolve, reject) => {
      const socket = tls.connect({
        host: this.#host,
        port: this.#port,
        servername: this.#host.includes(':') || /^[\d.]+$/.test(this.#host) ? undefined : this.#host,
        ALPNProtocols: ['h2'],
        minVersion: 'TLSv1.3',
        // there is no CA: the certificate is accepted only if it carries the chosen peer's key
        rejectUnauthorized: false,
      });
      const fail = (err: unknown): void => {
        socket.destroy();
        reject(err instanceof StoreError ? err : new StoreError('Unavailable', `peer ${this.peerId} at ${this.address} unreachable`, { cause: err }));
      };
      const timer = setTimeout(() => fail(new StoreError('Timeout', `connecting to peer ${this.peerId} at ${this.address} timed out`)), this.#timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        fail(err);
      });
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        try {
          verifyPeerCertificate(socket.getPeerX509Certificate(), this.peerId);
        } catch (err) {
          return fail(err);
        }
        socket.removeAllListeners('error');
        const session = http2.connect(`https://${this.address}`, {
          createConnection: () => socket,
          settings: { initialWindowSize: STREAM_WINDOW, maxFrameSize: MAX_FRAME },
          maxSessionMemory: 256,
        });
        session.on('error', () => undefined);
        session.once('close', () => {
          if (this.#session === p) this.#session = undefined;
        });
        session.once('goaway', () => {
          if (this.#session === p) this.#session = undefined;
        });
        session.setLocalWindowSize(SESSION_WINDOW);
        // an idle session must not keep a process (or a test) alive
        session.unref();
        resolve(session);
      });
    });
    this.#session = p;
    p.catch(() => {
      if (this.#session === p) this.#session = undefined;
    });
    return p;
  }

  async #request(method: string, path: string, body?: Uint8Array, signal?: AbortSignal, callerVerifies?: boolean, allocate?: (length: number) => Buffer): Promise<Reply> {
    signal?.throwIfAborted();
    const session = await this.#connect();
    signal?.throwIfAborted();
    return new Promise<Reply>((resolve, reject) => {
      const headers: OutgoingHttpHeaders = { ':method': method, ':path': path, authorization: this.#auth };
      if (body) headers['content-length'] = body.length;
      if (callerVerifies) headers[CALLER_VERIFIES_HEADER] = '1';
      let req: http2.ClientHttp2Stream;
      try {
        req = session.request(headers, { endStream: !body });
      } catch (err) {
        this.#session = undefined;
        return reject(new StoreError('Unavailable', `peer ${this.peerId} session failed`, { cause: err }));
      }
      const onAbort = (): void => {
        req.close(http2.constants.NGHTTP2_CANCEL);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.once('close', () => signal?.removeEventListener('abort', onAbort));
      req.setTimeout(this.#timeoutMs, () => {
        req.close(http2.constants.NGHTTP2_CANCEL);
        reject(new StoreError('Timeout', `${method} ${path} on peer ${this.peerId} timed out after ${this.#timeoutMs} ms`));
      });
      let status = 0;
      let respHeaders: IncomingHttpHeaders = {};
      // The reply body in one Buffer: with a content-length (the peer sends one with every
      // fragment) each received piece is copied once into memory of that size as it arrives,
      // the caller's (FragmentOpOptions.allocate: the chunk read path recycles it) for a 200.
      // Node emits 'response' on the next tick, while body pieces that came in the same read as
      // the headers are emitted at once to a 'data' listener: so the listener is attached only
      // with the collector ready (until then the pieces wait in the stream), or the first
      // ~16 KiB would go to a collector that is then dropped.
      let reply = new BodyCollector(undefined);
      req.on('response', (h) => {
        status = Number(h[':status']);
        respHeaders = h;
        const declared = Number(h['content-length']);
        if (Number.isSafeInteger(declared) && declared > 0 && declared <= MAX_REPLY_PREALLOC) {
          reply = new BodyCollector(allocate && status === 200 ? allocate(declared) : Buffer.allocUnsafe(declared));
        }
        req.on('data', (c: Buffer) => reply.add(c));
      });
      req.on('end', () => resolve({ status, headers: respHeaders, body: reply.finish().body }));
      req.on('error', (err) => reject(new StoreError('Unavailable', `${method} ${path} on peer ${this.peerId} failed`, { cause: err })));
      if (body) req.end(body);
    });
  }

  #raise(reply: Reply, what: string): never {
    const header = String(reply.headers['x-peerstor-error'] ?? '');
    const code: ErrorCode = KNOWN_CODES.has(header) ? (header as ErrorCode) : 'Unavailable';
    let message = `${what} on peer ${this.peerId}: HTTP ${reply.status}`;
    try {
      const parsed = JSON.parse(reply.body.toString('utf8')) as { message?: string };
      if (parsed.message) message = `${what} on peer ${this.peerId}: ${parsed.message}`;
    } catch {
      // HEAD replies and proxies' pages have no JSON body; the status line is enough
    }
    throw new StoreError(code, message);
  }

  async put(id: FragmentId, data: Uint8Array, options?: FragmentOpOptions): Promise<void> {
    const reply = await this.#request('PUT', `/f/${checkId(id)}`, data, options?.signal);
    if (reply.status !== 204 && reply.status !== 200) this.#raise(reply, `put ${id}`);
  }

  async get(id: FragmentId, options?: FragmentOpOptions): Promise<Buffer> {
    const callerVerifies = options?.callerVerifies === true;
    const reply = await this.#request('GET', `/f/${checkId(id)}`, undefined, options?.signal, callerVerifies, options?.allocate);
    if (reply.status !== 200) this.#raise(reply, `get ${id}`);
    // a caller that verifies itself saves the gateway's main thread a SHA-256 per MiB read
    if (!callerVerifies && createHash('sha256').update(reply.body).digest('hex') !== id) {
      throw new StoreError('Corrupt', `peer ${this.peerId} returned bytes that do not hash to ${id}`);
    }
    return reply.body;
  }

  async has(id: FragmentId, options?: FragmentOpOptions): Promise<boolean> {
    const reply = await this.#request('HEAD', `/f/${checkId(id)}`, undefined, options?.signal);
    if (reply.status === 200) return true;
    if (reply.status === 404 && reply.headers['x-peerstor-error'] === 'FragmentNotFound') return false;
    this.#raise(reply, `head ${id}`);
  }

  async delete(id: FragmentId, options?: FragmentOpOptions): Promise<void> {
    const reply = await this.#request('DELETE', `/f/${checkId(id)}`, undefined, options?.signal);
    if (reply.status !== 204 && reply.status !== 200) this.#raise(reply, `delete ${id}`);
  }

  async *list(options?: FragmentOpOptions): AsyncIterable<FragmentEntry> {
    // a peer holds at most some hundred thousand ids; one buffered reply keeps this simple
    const reply = await this.#request('GET', '/list', undefined, options?.signal);
    if (reply.status !== 200) this.#raise(reply, 'list');
    for (const line of reply.body.toString('utf8').split('\n')) {
      if (line) yield JSON.parse(line) as FragmentEntry;
    }
  }

  async stat(options?: FragmentOpOptions): Promise<FragmentStat> {
    const reply = await this.#request('GET', '/stat', undefined, options?.signal);
    if (reply.status !== 200) this.#raise(reply, 'stat');
    return JSON.parse(reply.body.toString('utf8')) as FragmentStat;
  }

  async close(): Promise<void> {
    const p = this.#session;
    this.#session = undefined;
    if (!p) return;
    const session = await p.catch(() => undefined);
    if (!session || session.closed) return;
    await new Promise<void>((resolve) => {
      session.close(() => resolve());
      setTimeout(() => {
        session.destroy();
        resolve();
      }, 1000).unref();
    });
  }
}
