/**
 * `peerstor verify`: reads every object of every given user (--user, --credentials, else the key
 * pair a gateway generated into <state>/credentials) through the store exactly as a GET does:
 * fragments fetched and hash-checked, RS-decoded where one is missing or bad, decrypted (GCM tag),
 * the keyed plaintext hash of every chunk checked. On top, the bytes read must match the recorded
 * size, and their MD5 the ETag of a non-multipart object (for a multipart object: each part's MD5).
 * A tenant's objects are only readable with its secret, so tenants whose key is not given are not
 * read (their count is not known offline either). The chunk cache is off: every chunk is read
 * from the volumes. A bad fragment that parity covered is quarantined by the read, as a GET does.
 * Every chunk decodes with the K,N it was written with (its index row), so no --erasure is needed.
 *
 * Progress in bytes, over the sizes a first listing pass adds up. Exit 1 when any object is damaged.
 */
import { createHash, type Hash } from 'node:crypto';
import type { ObjectInfo, ObjectStore } from '../../backend/core/object-store.js';
import type { Progress } from '../../backend/core/progress.js';
import type { CliConfig } from '../config.js';
import { buildComponents, loadUsers, openOfflineStore } from '../compose.js';
import type { CliIo } from '../io.js';
import { UsageError } from '../usage-error.js';
import { commandProgress, printSummary, NO_TERMINAL, throwIfInterrupted, type Terminal } from './progress.js';

export interface DamagedObject {
  user: string;
  bucket: string;
  key: string;
  /** what failed: the read (with the store's error code), the size, or an MD5 */
  reason: string;
}

export interface VerifySummary {
  users: number;
  objects: number;
  bytes: number;
  /** objects whose bytes were also checked against an MD5 (plain ETag or every part's) */
  md5Checked: number;
  damaged: DamagedObject[];
}

/** Every object of a tenant, bucket by bucket, in key order, a page of 1000 at a time. */
async function* objectsOf(store: ObjectStore): AsyncGenerator<{ bucket: string; key: string; size: number }> {
  for (const b of await store.listBuckets()) {
    let token: string | undefined;
    do {
      const page = await store.listObjects(b.name, { continuationToken: token, maxKeys: 1000 });
      for (const o of page.objects) yield { bucket: b.name, key: o.key, size: o.size };
      token = page.isTruncated ? page.nextContinuationToken : undefined;
    } while (token !== undefined);
  }
}

const PLAIN_MD5 = /^[0-9a-f]{32}$/;

/** MD5s to compare the body with: the whole object, or each part; none for other ETags. */
function expectedDigests(info: ObjectInfo): { size: number; md5: string; what: string }[] {
  if (info.parts && info.parts.length > 0) {
    if (!info.parts.every((p) => PLAIN_MD5.test(p.etag))) return [];
    return info.parts.map((p) => ({ size: p.size, md5: p.etag, what: `part ${p.partNumber}` }));
  }
  return PLAIN_MD5.test(info.etag) ? [{ size: info.size, md5: info.etag, what: 'ETag' }] : [];
}

/** Reads one object; returns why it is damaged, or undefined when it is intact. */
async function checkObject(store: ObjectStore, bucket: string, key: string, progress: Progress): Promise<{ damage?: string; md5: boolean }> {
  let read = 0;
  let md5 = false;
  try {
    const { info, body } = await store.getObject(bucket, key);
    const digests = expectedDigests(info);
    md5 = digests.length > 0;
    let segment = 0;
    let inSegment = 0;
    let hash: Hash | undefined = digests.length > 0 ? createHash('md5') : undefined;
    let mismatch: string | undefined;
    const closeSegment = (): void => {
      const d = digests[segment];
      if (hash && d && hash.digest('hex') !== d.md5) mismatch ??= `${d.what}: MD5 of the bytes read differs from ${d.md5}`;
      segment++;
      inSegment = 0;
      hash = segment < digests.length ? createHash('md5') : undefined;
    };
    for await (const data of body as AsyncIterable<Buffer>) {
      read += data.length;
      progress.add(data.length);
      let chunk = data;
      while (hash && chunk.length > 0) {
        const take = Math.min(chunk.length, digests[segment].size - inSegment);
        hash.update(chunk.subarray(0, take));
        inSegment += take;
        chunk = chunk.subarray(take);
        if (inSegment === digests[segment].size) closeSegment();
      }
    }
    // zero-length parts (or a zero-length object) end here
    while (hash) closeSegment();
    if (read !== info.size) return { damage: `read ${read} bytes, the index records ${info.size}`, md5 };
    return { damage: mismatch, md5 };
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return { damage: `read failed after ${read} bytes: ${typeof code === 'string' ? `${code}: ` : ''}${(err as Error).message}`, md5 };
  }
}

export async function runVerify(config: CliConfig, io: CliIo, terminal: Terminal = NO_TERMINAL): Promise<number> {
  const { registry } = await loadUsers(config, { readStored: true });
  const users = registry.all();
  if (users.length === 0) {
    throw new UsageError('--user: verify reads objects as their owner: give --user AK:SK or --credentials FILE (none found in <state>/credentials either)');
  }
  const c = await buildComponents(config, io, { openVolumes: true, lockState: true });
  try {
    const { store: peerStore } = await openOfflineStore(c, 'verify', { cacheSize: 0 });
    try {
      const tenants: { user: string; store: ObjectStore }[] = [];
      for (const u of users) {
        if (!peerStore.index.tenant(u.accessKey)) {
          c.logger.warn({ accessKey: u.accessKey }, 'verify: this store has no tenant with that access key; nothing to read');
          continue;
        }
        tenants.push({ user: u.accessKey, store: await peerStore.open(u) });
      }
      let total = 0;
      for (const t of tenants) for await (const o of objectsOf(t.store)) total += o.size;
      const progress = commandProgress(config, io, c.logger, terminal, { label: 'verify', unit: 'bytes', total });
      const summary: VerifySummary = { users: tenants.length, objects: 0, bytes: 0, md5Checked: 0, damaged: [] };
      try {
        for (const t of tenants) {
          for await (const o of objectsOf(t.store)) {
            throwIfInterrupted(io, 'verify');
            const before = progress.value;
            const r = await checkObject(t.store, o.bucket, o.key, progress);
            summary.objects++;
            summary.bytes += progress.value - before;
            if (r.md5) summary.md5Checked++;
            if (r.damage) {
              summary.damaged.push({ user: t.user, bucket: o.bucket, key: o.key, reason: r.damage });
              c.logger.warn({ user: t.user, bucket: o.bucket, key: o.key, reason: r.damage }, 'verify: damaged object');
            }
          }
        }
      } catch (err) {
        progress.done({ failed: true });
        throw err;
      }
      progress.done({ message: `${summary.objects} objects, ${summary.damaged.length} damaged` });
      printSummary(config, io, summary, [
        `users: ${summary.users}`,
        `objects: ${summary.objects}`,
        `bytes: ${summary.bytes}`,
        `md5 checked: ${summary.md5Checked}`,
        `damaged: ${summary.damaged.length}`,
        ...summary.damaged.map((d) => `damaged object: ${d.user} ${d.bucket}/${d.key}: ${d.reason}`),
      ]);
      return summary.damaged.length > 0 ? 1 : 0;
    } finally {
      await peerStore.close();
    }
  } finally {
    await c.close();
  }
}
