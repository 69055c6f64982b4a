/**
 * Parsers for the flag values that are more than a size, an integer or a duration. Each throws a
 * RangeError whose message says what is wrong (the CLI prefixes it with the flag's name).
 */
import { isIP } from 'node:net';

export interface HostPort {
  host: string;
  port: number;
}

function parsePort(text: string, allowZero: boolean): number {
  if (!/^\d{1,5}$/.test(text)) throw new RangeError(`"${text}" is not a port number`);
  const port = Number(text);
  if (port > 65535 || (!allowZero && port === 0)) throw new RangeError(`port ${port} is out of range (${allowZero ? 0 : 1}-65535)`);
  return port;
}

/** `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (= 127.0.0.1). Port 0 picks a free port. */
export function parseHostPort(text: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text.trim());
  if (!m) throw new RangeError(`"${text}" is not HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)`);
  const host = m[1] ?? (m[2] || '127.0.0.1');
  if (m[1] !== undefined && isIP(m[1]) !== 6) throw new RangeError(`"${m[1]}" is not an IPv6 address`);
  if (!/^[A-Za-z0-9.:-]+$/.test(host)) throw new RangeError(`"${host}" is not a host name or address`);
  return { host, port: parsePort(m[3], true) };
}

export function parsePortNumber(text: string): number {
  return parsePort(text.trim(), true);
}

/** `A-B`, an inclusive port range with 1 ≤ A ≤ B ≤ 65535. */
export function parsePortRange(text: string): { from: number; to: number } {
  const m = /^(\d+)-(\d+)$/.exec(text.trim());
  if (!m) throw new RangeError(`"${text}" is not a port range A-B (e.g. 30000-30100)`);
  const from = parsePort(m[1], false);
  const to = parsePort(m[2], false);
  if (from > to) throw new RangeError(`port range ${from}-${to} is empty`);
  return { from, to };
}

/** Reed-Solomon geometry: `K,N` (N fragments in total) or `K+M` (M parity fragments). */
export function parseErasure(text: string, maxData: number, maxParity: number): { k: number; n: number } {
  const m = /^(\d+)\s*([,+])\s*(\d+)$/.exec(text.trim());
  if (!m) throw new RangeError(`"${text}" is not K,N or K+M (e.g. 10,16 or 10+6)`);
  const k = Number(m[1]);
  const n = m[2] === ',' ? Number(m[3]) : k + Number(m[3]);
  if (k < 1 || k > maxData) throw new RangeError(`K must be from 1 to ${maxData}`);
  if (n <= k) throw new RangeError('N must be larger than K (at least one parity fragment)');
  if (n - k > maxParity) throw new RangeError(`at most ${maxParity} parity fragments (N - K)`);
  return { k, n };
}

/** A CPU list as taskset(1) takes it: `0,1`, `0-3`, `0-3,6`. */
export function parseCpuList(text: string): number[] {
  const cpus = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) throw new RangeError(`"${text}" is not a CPU list (e.g. 0,1 or 0-3)`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b > 4095) throw new RangeError(`bad CPU range "${part.trim()}"`);
    for (let c = a; c <= b; c++) cpus.add(c);
  }
  return [...cpus].sort((x, y) => x - y);
}

/** `AK:SK`: access key and secret key, split at the first colon. */
export function parseUserPair(text: string): { accessKey: string; secretKey: string } {
  const i = text.indexOf(':');
  if (i <= 0 || i === text.length - 1) throw new RangeError('expected ACCESS_KEY:SECRET_KEY');
  return { accessKey: text.slice(0, i), secretKey: text.slice(i + 1) };
}

/** An absolute http(s) URL. */
export function parseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError(`"${text}" is not a URL (e.g. http://127.0.0.1:8080)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RangeError('only http:// and https:// URLs');
  return url;
}

/** A value from a fixed set. */
export function oneOf<T extends string>(choices: readonly T[]): (text: string) => T {
  return (text) => {
    if (!(choices as readonly string[]).includes(text)) throw new RangeError(`must be one of ${choices.join(', ')}, not "${text}"`);
    return text as T;
  };
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30s`, `500ms`, `2m`, `1h`, `1.5s`; a bare number is seconds. Returns milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!m) throw new RangeError(`"${text}" is not a duration (e.g. 30s, 500ms, 2m)`);
  const ms = Math.round(Number(m[1]) * DURATION_UNITS[(m[2] ?? 's').toLowerCase()]);
  if (!Number.isSafeInteger(ms)) throw new RangeError(`duration too large: "${text}"`);
  return ms;
}
