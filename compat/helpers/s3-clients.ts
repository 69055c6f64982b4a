/**
 * Shared helpers for the S3 compat tests: an AWS SDK v3 client for a test gateway, raw signed
 * HTTP requests (for the malformed requests no real client would send), running real client
 * binaries with an isolated HOME, and hashing.
 */
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import type { User } from '../../gateway/common/users.js';
import { EMPTY_SHA256, formatAmzDate, sha256Hex, signRequest, type ChunkSigningContext } from '../../gateway/s3/sigv4.js';

export function sdkClient(url: string, user: User, extra: Record<string, unknown> = {}): S3Client {
  return new S3Client({
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: user.accessKey, secretAccessKey: user.secretKey },
    maxAttempts: 1,
    ...extra,
  });
}

export interface RawRequest {
  method: string;
  /** path exactly as sent, e.g. /bucket/key%20x */
  path: string;
  query?: [string, string][];
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** sign as this user (default: send unsigned) */
  user?: User;
  /** signing time (default now) */
  time?: number;
  /** x-amz-content-sha256 to sign; default the body's hash */
  payloadHash?: string;
  region?: string;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** body as UTF-8 text */
  body: string;
  bytes: Buffer;
}

function encodeQuery(query: [string, string][]): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return query.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&');
}

export interface SignedParts {
  headers: Record<string, string>;
  /** chunk-signing context of the request (seed signature etc.), when signed */
  signing?: ChunkSigningContext;
}

/** The headers of a raw request, SigV4-signed (all of them) when `user` is given. */
export function signHeaders(baseUrl: string, r: RawRequest, body: Buffer): SignedParts {
  const url = new URL(baseUrl);
  const headers: Record<string, string> = { host: url.host, ...r.headers };
  if (r.body !== undefined && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
  if (!r.user) return { headers };
  const amzDate = formatAmzDate(r.time ?? Date.now());
  const payloadHash = r.payloadHash ?? (body.length === 0 ? EMPTY_SHA256 : sha256Hex(body));
  headers['x-amz-date'] = amzDate;
  headers['x-amz-content-sha256'] = payloadHash;
  const rawHeaders = Object.entries(headers).flat();
  const signed = signRequest(
    { method: r.method, rawPath: r.path, query: r.query ?? [], rawHeaders, payloadHash },
    { accessKey: r.user.accessKey, secretKey: r.user.secretKey, region: r.region ?? 'us-east-1', amzDate },
  );
  headers.authorization = signed.authorization;
  return { headers, signing: { signingKey: signed.signingKey, amzDate, scope: signed.scope, seedSignature: signed.signature } };
}

/** Sends one HTTP/1.1 request, SigV4-signed when `user` is given. `body` may be built from the signature. */
export async function rawS3(baseUrl: string, r: RawRequest & { bodyFrom?: (signing: ChunkSigningContext) => Buffer }): Promise<RawResponse> {
  const url = new URL(baseUrl);
  let body: Buffer = r.body === undefined ? Buffer.alloc(0) : Buffer.from(r.body);
  const { headers, signing } = signHeaders(baseUrl, r, body);
  if (r.bodyFrom && signing) body = r.bodyFrom(signing);
  const qs = r.query && r.query.length > 0 ? `?${encodeQuery(r.query)}` : '';
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: r.method, path: r.path + qs, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: bytes.toString('utf8'), bytes });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The <Code> of an S3 XML error body. */
export function errorCode(body: string): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1];
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a client binary; rejects with its stderr on a non-zero exit. */
export function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { env: opts.env, cwd: opts.cwd, maxBuffer: 64 * 1024 * 1024, timeout: opts.timeoutMs ?? 120_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}\n${stdout}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/** True when `cmd` can be executed (compat tests skip, with a reason, when a client is missing). */
export async function hasCommand(cmd: string, args = ['--version']): Promise<boolean> {
  try {
    await run(cmd, args, { timeoutMs: 30_000 });
    return true;
  } catch {
    return false;
  }
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

/** A temporary directory, removed by the returned cleanup. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `peerstor-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** An environment for client binaries: isolated HOME/config dirs, no inherited AWS settings. */
export function isolatedEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('AWS_') && !k.startsWith('RCLONE_') && !k.startsWith('RESTIC_')) env[k] = v;
  }
  return { ...env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache'), ...extra };
}
