// A small S3 client for the page: same-origin requests signed with SigV4 (sigv4.js). Only the
// operations the page uses. Errors are S3Error with the S3 code (never matched by message).
import { signHeaders, presignUrl, sha256Hex, sha256Base64, uriEncode, UNSIGNED_PAYLOAD, EMPTY_SHA256 } from './sigv4.js';

export class S3Error extends Error {
  constructor(code, message, status) {
    super(message || code);
    this.name = 'S3Error';
    this.code = code;
    this.status = status;
  }
}

function xml(text) {
  return new DOMParser().parseFromString(text, 'application/xml');
}

function txt(node, name) {
  const el = node.getElementsByTagName(name)[0];
  return el ? el.textContent : undefined;
}

/** Direct children named `name` (S3 nests same-named elements, e.g. Owner inside Contents). */
function children(node, name) {
  return Array.from(node.children).filter((c) => c.localName === name);
}

function escapeXml(s) {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]);
}

export function objectPath(bucket, key) {
  return `/${bucket}${key === undefined ? '' : `/${uriEncode(key, true)}`}`;
}

async function errorOf(status, body) {
  if (body) {
    try {
      const doc = xml(body);
      const code = txt(doc, 'Code');
      if (code) return new S3Error(code, txt(doc, 'Message'), status);
    } catch {
      // not XML: fall through to the status
    }
  }
  const code = { 403: 'AccessDenied', 404: 'NotFound', 503: 'SlowDown' }[status] || `HTTP${status}`;
  return new S3Error(code, `The server answered ${status}.`, status);
}

export class S3Client {
  /** @param {{ accessKey: string, secretKey: string, region?: string, origin?: string }} cred */
  constructor(cred) {
    this.accessKey = cred.accessKey;
    this.secretKey = cred.secretKey;
    this.region = cred.region || 'us-east-1';
    this.origin = cred.origin || location.origin;
    this.host = new URL(this.origin).host;
  }

  async #sign(method, path, query, headers, payloadHash) {
    return signHeaders({ method, path, query, headers: { host: this.host, ...headers }, payloadHash, accessKey: this.accessKey, secretKey: this.secretKey, region: this.region });
  }

  #url(path, query) {
    const q = query.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join('&');
    return `${this.origin}${path}${q ? `?${q}` : ''}`;
  }

  /** One signed request with fetch; resolves to the Response when 2xx, throws S3Error otherwise. */
  async request(method, path, { query = [], headers = {}, body, signal } = {}) {
    let payloadHash = EMPTY_SHA256;
    if (typeof body === 'string') payloadHash = await sha256Hex(body);
    else if (body !== undefined) payloadHash = UNSIGNED_PAYLOAD;
    const signed = await this.#sign(method, path, query, headers, payloadHash);
    delete signed.host;
    const res = await fetch(this.#url(path, query), { method, headers: signed, body, signal, cache: 'no-store' });
    if (!res.ok) throw await errorOf(res.status, method === 'HEAD' ? '' : await res.text());
    return res;
  }

  /**
   * A signed upload through XMLHttpRequest, the one browser API with upload progress.
   * onProgress(bytesSentOfThisBody). Resolves to the response headers' ETag.
   */
  async upload(method, path, { query = [], headers = {}, body, onProgress, signal }) {
    const signed = await this.#sign(method, path, query, headers, UNSIGNED_PAYLOAD);
    delete signed.host;
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open(method, this.#url(path, query));
      for (const [k, v] of Object.entries(signed)) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => onProgress?.(e.loaded);
      xhr.onload = async () => {
        if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.getResponseHeader('ETag'));
        else reject(await errorOf(xhr.status, xhr.responseText));
      };
      xhr.onerror = () => reject(new S3Error('NetworkError', 'The connection to the gateway failed.', 0));
      xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'));
      signal?.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send(body);
    });
  }

  async listBuckets() {
    const doc = xml(await (await this.request('GET', '/')).text());
    return Array.from(doc.getElementsByTagName('Bucket'), (b) => ({ name: txt(b, 'Name'), created: txt(b, 'CreationDate') }));
  }

  createBucket(bucket) {
    return this.request('PUT', objectPath(bucket));
  }

  deleteBucket(bucket) {
    return this.request('DELETE', objectPath(bucket));
  }

  /** One page of ListObjectsV2 with delimiter '/': folders (common prefixes) and objects. */
  async listObjects(bucket, { prefix = '', token, maxKeys = 100, delimiter = '/' } = {}) {
    const query = [['list-type', '2'], ['max-keys', String(maxKeys)], ['prefix', prefix], ['encoding-type', 'url']];
    if (delimiter) query.push(['delimiter', delimiter]);
    if (token) query.push(['continuation-token', token]);
    const doc = xml(await (await this.request('GET', objectPath(bucket), { query })).text());
    const root = doc.documentElement;
    const dec = (s) => decodeURIComponent((s ?? '').replace(/\+/g, ' '));
    return {
      folders: children(root, 'CommonPrefixes').map((p) => dec(txt(p, 'Prefix'))),
      objects: children(root, 'Contents').map((c) => ({ key: dec(txt(c, 'Key')), size: Number(txt(c, 'Size')), modified: txt(c, 'LastModified'), etag: txt(c, 'ETag') })),
      next: txt(root, 'IsTruncated') === 'true' ? txt(root, 'NextContinuationToken') : undefined,
    };
  }

  /** Every key under a prefix (no delimiter), page by page. */
  async *allKeys(bucket, prefix) {
    let token;
    do {
      const page = await this.listObjects(bucket, { prefix, token, maxKeys: 1000, delimiter: '' });
      for (const o of page.objects) yield o;
      token = page.next;
    } while (token);
  }

  putObject(bucket, key, body, { contentType, onProgress, signal } = {}) {
    const headers = contentType ? { 'content-type': contentType } : {};
    return this.upload('PUT', objectPath(bucket, key), { headers, body, onProgress, signal });
  }

  /** An empty object whose key ends in '/': how S3 tools show an empty folder. */
  createFolder(bucket, prefix) {
    return this.request('PUT', objectPath(bucket, prefix), { body: '' });
  }

  deleteObject(bucket, key) {
    return this.request('DELETE', objectPath(bucket, key));
  }

  /** DeleteObjects (≤ 1000 keys), with the checksum S3 requires on it. Returns the keys that failed. */
  async deleteObjects(bucket, keys) {
    const body = `<Delete><Quiet>true</Quiet>${keys.map((k) => `<Object><Key>${escapeXml(k)}</Key></Object>`).join('')}</Delete>`;
    const res = await this.request('POST', objectPath(bucket), { query: [['delete', '']], headers: { 'x-amz-checksum-sha256': await sha256Base64(body), 'content-type': 'application/xml' }, body });
    const doc = xml(await res.text());
    return Array.from(doc.getElementsByTagName('Error'), (e) => ({ key: txt(e, 'Key'), code: txt(e, 'Code') }));
  }

  async headObject(bucket, key) {
    const res = await this.request('HEAD', objectPath(bucket, key));
    return { size: Number(res.headers.get('content-length')), contentType: res.headers.get('content-type') || undefined, etag: res.headers.get('etag') };
  }

  copyObject(bucket, key, srcBucket, srcKey) {
    return this.request('PUT', objectPath(bucket, key), { headers: { 'x-amz-copy-source': `/${srcBucket}/${uriEncode(srcKey, true)}` } });
  }

  async createMultipartUpload(bucket, key, contentType) {
    const res = await this.request('POST', objectPath(bucket, key), { query: [['uploads', '']], headers: contentType ? { 'content-type': contentType } : {} });
    return txt(xml(await res.text()), 'UploadId');
  }

  uploadPart(bucket, key, uploadId, partNumber, body, onProgress, signal) {
    return this.upload('PUT', objectPath(bucket, key), { query: [['partNumber', String(partNumber)], ['uploadId', uploadId]], body, onProgress, signal });
  }

  async uploadPartCopy(bucket, key, uploadId, partNumber, srcBucket, srcKey, first, last) {
    const res = await this.request('PUT', objectPath(bucket, key), {
      query: [['partNumber', String(partNumber)], ['uploadId', uploadId]],
      headers: { 'x-amz-copy-source': `/${srcBucket}/${uriEncode(srcKey, true)}`, 'x-amz-copy-source-range': `bytes=${first}-${last}` },
    });
    return txt(xml(await res.text()), 'ETag');
  }

  async completeMultipartUpload(bucket, key, uploadId, parts) {
    const body = `<CompleteMultipartUpload>${parts.map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`).join('')}</CompleteMultipartUpload>`;
    const res = await this.request('POST', objectPath(bucket, key), { query: [['uploadId', uploadId]], headers: { 'content-type': 'application/xml' }, body });
    // CompleteMultipartUpload can answer 200 with an error document (S3 API reference).
    const doc = xml(await res.text());
    if (doc.documentElement.localName === 'Error') throw new S3Error(txt(doc, 'Code'), txt(doc, 'Message'), 200);
    return txt(doc, 'ETag');
  }

  abortMultipartUpload(bucket, key, uploadId) {
    return this.request('DELETE', objectPath(bucket, key), { query: [['uploadId', uploadId]] });
  }

  /** Unfinished multipart uploads under a prefix (first 1000). */
  async listMultipartUploads(bucket, prefix = '') {
    const doc = xml(await (await this.request('GET', objectPath(bucket), { query: [['uploads', ''], ['prefix', prefix]] })).text());
    return Array.from(doc.getElementsByTagName('Upload'), (u) => ({ key: txt(u, 'Key'), uploadId: txt(u, 'UploadId'), initiated: txt(u, 'Initiated') }));
  }

  /** Every uploaded part of an upload: [{ partNumber, etag, size }]. */
  async listParts(bucket, key, uploadId) {
    const parts = [];
    let marker;
    for (;;) {
      const query = [['uploadId', uploadId], ['max-parts', '1000']];
      if (marker) query.push(['part-number-marker', marker]);
      const doc = xml(await (await this.request('GET', objectPath(bucket, key), { query })).text());
      for (const p of doc.getElementsByTagName('Part')) parts.push({ partNumber: Number(txt(p, 'PartNumber')), etag: txt(p, 'ETag'), size: Number(txt(p, 'Size')) });
      if (txt(doc.documentElement, 'IsTruncated') !== 'true') return parts;
      marker = txt(doc.documentElement, 'NextPartNumberMarker');
    }
  }

  /** A presigned GET; `disposition` = 'attachment' makes the browser save instead of show it. */
  presignGet(bucket, key, expires, { disposition } = {}) {
    const query = [];
    if (disposition) {
      const name = key.slice(key.lastIndexOf('/') + 1);
      query.push(['response-content-disposition', `${disposition}; filename*=UTF-8''${uriEncode(name)}`]);
    }
    return presignUrl({ origin: this.origin, host: this.host, path: objectPath(bucket, key), query, accessKey: this.accessKey, secretKey: this.secretKey, region: this.region, expires });
  }
}
