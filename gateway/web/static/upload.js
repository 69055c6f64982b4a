// Uploads from the page: one PUT for small files, multipart for large ones (S3 API reference,
// "Uploading and copying objects using multipart upload"), resumable after a reload: the upload
// id is remembered in localStorage (it is useless without the credentials), ListParts says which
// parts already arrived, and only the missing ones are sent once the person picks the file again.
import { S3Error } from './s3.js';

export const MiB = 1024 * 1024;
export const MULTIPART_THRESHOLD = 16 * MiB;
export const PART_SIZE = 8 * MiB;
export const IN_FLIGHT = 4;
const MAX_PARTS = 10000;
const RETRIES = 3;

/** Part size for a file: 8 MiB, doubled until the file fits in S3's 10,000 parts. */
export function partSizeFor(size) {
  let p = PART_SIZE;
  while (Math.ceil(size / p) > MAX_PARTS) p *= 2;
  return p;
}

function recordId(client, bucket, key) {
  return `peerstor.upload:${client.accessKey}:${bucket}:${key}`;
}

export function loadRecord(client, bucket, key) {
  try {
    return JSON.parse(localStorage.getItem(recordId(client, bucket, key)) || 'null');
  } catch {
    return null;
  }
}

function saveRecord(client, bucket, key, rec) {
  localStorage.setItem(recordId(client, bucket, key), JSON.stringify(rec));
}

export function dropRecord(client, bucket, key) {
  localStorage.removeItem(recordId(client, bucket, key));
}

function retryable(err) {
  return err instanceof S3Error && (err.code === 'NetworkError' || err.code === 'SlowDown' || err.code === 'InternalError' || err.status >= 500);
}

/**
 * Uploads `file` to bucket/key. onProgress({ sent, total, resumedParts }) is called as bytes go
 * out. `resumeUploadId` resumes a given unfinished upload (from ListMultipartUploads); without
 * it a matching localStorage record is resumed. Rejects with AbortError when `signal` aborts
 * (a multipart upload is then aborted on the server too: a cancel is final).
 */
export async function uploadFile(client, bucket, key, file, { onProgress, signal, resumeUploadId } = {}) {
  const total = file.size;
  const contentType = file.type || 'application/octet-stream';
  if (total < MULTIPART_THRESHOLD && !resumeUploadId) {
    await client.putObject(bucket, key, file, { contentType, signal, onProgress: (sent) => onProgress?.({ sent, total, resumedParts: 0 }) });
    onProgress?.({ sent: total, total, resumedParts: 0 });
    return;
  }

  let uploadId = resumeUploadId;
  let partSize = partSizeFor(total);
  let done = [];
  const rec = loadRecord(client, bucket, key);
  if (!uploadId && rec && rec.size === total && rec.name === file.name && rec.lastModified === file.lastModified) uploadId = rec.uploadId;
  if (uploadId) {
    try {
      done = await client.listParts(bucket, key, uploadId);
      if (rec?.uploadId === uploadId) partSize = rec.partSize;
      else if (done.length > 0 && done.some((p) => p.partNumber === 1)) partSize = done.find((p) => p.partNumber === 1).size;
    } catch (err) {
      if (!(err instanceof S3Error && err.code === 'NoSuchUpload')) throw err;
      if (resumeUploadId) throw err;
      uploadId = undefined;
      done = [];
    }
  }
  if (!uploadId) uploadId = await client.createMultipartUpload(bucket, key, contentType);
  saveRecord(client, bucket, key, { uploadId, size: total, name: file.name, lastModified: file.lastModified, partSize });

  const count = Math.max(1, Math.ceil(total / partSize));
  const sizeOf = (n) => Math.min(partSize, total - (n - 1) * partSize);
  const etags = new Map();
  // A listed part counts only if it has the size this file's part would have.
  for (const p of done) if (p.partNumber <= count && p.size === sizeOf(p.partNumber)) etags.set(p.partNumber, p.etag);
  const resumedParts = etags.size;
  const inFlight = new Map();
  let base = 0;
  for (const n of etags.keys()) base += sizeOf(n);
  const report = () => {
    let sent = base;
    for (const v of inFlight.values()) sent += v;
    onProgress?.({ sent, total, resumedParts });
  };
  report();

  const todo = [];
  for (let n = 1; n <= count; n++) if (!etags.has(n)) todo.push(n);
  const worker = async () => {
    while (todo.length > 0) {
      if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
      const n = todo.shift();
      const start = (n - 1) * partSize;
      const body = file.slice(start, start + sizeOf(n));
      for (let attempt = 1; ; attempt++) {
        try {
          inFlight.set(n, 0);
          const etag = await client.uploadPart(bucket, key, uploadId, n, body, (sent) => {
            inFlight.set(n, sent);
            report();
          }, signal);
          etags.set(n, etag);
          inFlight.delete(n);
          base += sizeOf(n);
          report();
          break;
        } catch (err) {
          inFlight.delete(n);
          if (attempt >= RETRIES || !retryable(err)) throw err;
          await new Promise((r) => setTimeout(r, 500 * attempt));
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, todo.length) }, worker));
  } catch (err) {
    if (err?.name === 'AbortError') {
      await client.abortMultipartUpload(bucket, key, uploadId).catch(() => {});
      dropRecord(client, bucket, key);
    }
    throw err;
  }
  const parts = [...etags].sort((a, b) => a[0] - b[0]).map(([partNumber, etag]) => ({ partNumber, etag }));
  await client.completeMultipartUpload(bucket, key, uploadId, parts);
  dropRecord(client, bucket, key);
  onProgress?.({ sent: total, total, resumedParts });
}

const COPY_LIMIT = 5 * 1024 * MiB;
const COPY_PART = 1024 * MiB;

/** Server-side copy: CopyObject up to 5 GiB, UploadPartCopy in 1 GiB parts above (S3's limit). */
export async function copyObject(client, bucket, fromKey, toKey, size) {
  if (size <= COPY_LIMIT) {
    await client.copyObject(bucket, toKey, bucket, fromKey);
    return;
  }
  const head = await client.headObject(bucket, fromKey);
  const uploadId = await client.createMultipartUpload(bucket, toKey, head.contentType);
  try {
    const parts = [];
    for (let n = 1, first = 0; first < size; n++, first += COPY_PART) {
      const last = Math.min(size, first + COPY_PART) - 1;
      parts.push({ partNumber: n, etag: await client.uploadPartCopy(bucket, toKey, uploadId, n, bucket, fromKey, first, last) });
    }
    await client.completeMultipartUpload(bucket, toKey, uploadId, parts);
  } catch (err) {
    await client.abortMultipartUpload(bucket, toKey, uploadId).catch(() => {});
    throw err;
  }
}
