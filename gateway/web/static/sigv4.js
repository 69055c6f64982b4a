// AWS Signature Version 4 for S3, on WebCrypto (browsers, and Node >= 20 for the tests).
// Spec: AWS S3 API reference, "Authenticating Requests (AWS Signature Version 4)": header
// signing and query-string (presigned URL) signing. The secret is only ever an HMAC key here.

const enc = new TextEncoder();
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** SHA-256 of a string or bytes, lowercase hex. */
export async function sha256Hex(data) {
  return hex(await crypto.subtle.digest('SHA-256', typeof data === 'string' ? enc.encode(data) : data));
}

/** SHA-256 of a string or bytes, base64 (for x-amz-checksum-sha256). */
export async function sha256Base64(data) {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', typeof data === 'string' ? enc.encode(data) : data));
  let s = '';
  for (const b of d) s += String.fromCharCode(b);
  return btoa(s);
}

async function hmac(key, data) {
  const k = await crypto.subtle.importKey('raw', typeof key === 'string' ? enc.encode(key) : key, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return crypto.subtle.sign('HMAC', k, enc.encode(data));
}

/** URI-encode per SigV4: everything but A-Z a-z 0-9 - _ . ~ (and '/' when keepSlash). */
export function uriEncode(s, keepSlash = false) {
  let out = '';
  for (const ch of s) {
    if (/[A-Za-z0-9\-_.~]/.test(ch) || (keepSlash && ch === '/')) out += ch;
    else for (const b of enc.encode(ch)) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** `20130524T000000Z` */
export function amzDate(date) {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

const keyCache = new Map();

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request"), cached per day. */
async function signingKey(secret, day, region, service) {
  const id = `${day}/${region}/${service}/${secret}`;
  let key = keyCache.get(id);
  if (!key) {
    key = await hmac(await hmac(await hmac(await hmac(`AWS4${secret}`, day), region), service), 'aws4_request');
    if (keyCache.size > 8) keyCache.clear();
    keyCache.set(id, key);
  }
  return key;
}

function canonicalQuery(params) {
  return params
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/**
 * Signs a request. `path` is the already URI-encoded path (e.g. `/bucket/my%20key`), `query` a list
 * of [name, value] pairs (raw, not encoded), `headers` the headers to sign (host included).
 * Returns the headers to send: the given ones plus x-amz-date, x-amz-content-sha256, authorization
 * (host stays: browsers set it themselves and forbid scripts to).
 */
export async function signHeaders({ method, path, query = [], headers, payloadHash = UNSIGNED_PAYLOAD, accessKey, secretKey, region = 'us-east-1', service = 's3', date = new Date() }) {
  const t = amzDate(date);
  const day = t.slice(0, 8);
  const all = {};
  for (const [k, v] of Object.entries(headers)) all[k.toLowerCase()] = String(v).trim().replace(/\s+/g, ' ');
  all['x-amz-date'] = t;
  all['x-amz-content-sha256'] = payloadHash;
  const names = Object.keys(all).sort();
  const canonical = [method, path, canonicalQuery(query), names.map((n) => `${n}:${all[n]}\n`).join(''), names.join(';'), payloadHash].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const toSign = `AWS4-HMAC-SHA256\n${t}\n${scope}\n${await sha256Hex(canonical)}`;
  const signature = hex(await hmac(await signingKey(secretKey, day, region, service), toSign));
  return {
    ...all,
    authorization: `AWS4-HMAC-SHA256 Credential=${accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  };
}

/**
 * A presigned URL (query-string auth) valid for `expires` seconds (1..604800). Only `host` is
 * signed, so anyone holding the URL can use it until it expires: that is what a share link is.
 */
export async function presignUrl({ method = 'GET', origin, host, path, query = [], accessKey, secretKey, region = 'us-east-1', service = 's3', expires, date = new Date() }) {
  const t = amzDate(date);
  const day = t.slice(0, 8);
  const scope = `${day}/${region}/${service}/aws4_request`;
  const params = [
    ...query,
    ['X-Amz-Algorithm', 'AWS4-HMAC-SHA256'],
    ['X-Amz-Credential', `${accessKey}/${scope}`],
    ['X-Amz-Date', t],
    ['X-Amz-Expires', String(expires)],
    ['X-Amz-SignedHeaders', 'host'],
  ];
  const canonical = [method, path, canonicalQuery(params), `host:${host}\n`, 'host', UNSIGNED_PAYLOAD].join('\n');
  const toSign = `AWS4-HMAC-SHA256\n${t}\n${scope}\n${await sha256Hex(canonical)}`;
  const signature = hex(await hmac(await signingKey(secretKey, day, region, service), toSign));
  return `${origin}${path}?${canonicalQuery([...params, ['X-Amz-Signature', signature]])}`;
}
