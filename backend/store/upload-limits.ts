/**
 * Upload limits for every front end at once, as a decorator over TenantStores (so S3, WebDAV, SFTP
 * and FTP obey the same `--max-upload-chunk` and `--max-concurrent-uploads`):
 * - maxUploadSize: the most bytes one putObject or one uploadPart may carry. A larger announced
 *   size is refused before any byte is read; a body that grows past it is cut off with
 *   EntityTooLarge, which the store treats like any failed put (nothing is committed).
 * - maxConcurrentUploads: putObject / uploadPart calls running at once across all tenants; more
 *   wait their turn in arrival order (their bodies are not read meanwhile, so clients see
 *   back-pressure, not errors).
 */
import { StoreError } from '../core/errors.js';
import type { Body, ObjectStore, TenantStores, TenantUser } from '../core/object-store.js';
import { formatSize } from '../core/sizes.js';
import { Semaphore } from '../fragments/with-limit.js';

export interface UploadLimitsInit {
  maxUploadSize?: number;
  maxConcurrentUploads?: number;
}

function tooLarge(max: number): StoreError {
  return new StoreError('EntityTooLarge', `an upload may carry at most ${formatSize(max)} (--max-upload-chunk)`);
}

async function* capped(body: Body, max: number): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const piece of body) {
    seen += piece.length;
    if (seen > max) throw tooLarge(max);
    yield piece;
  }
}

export function withUploadLimits(stores: TenantStores, init: UploadLimitsInit): TenantStores {
  const { maxUploadSize } = init;
  if (maxUploadSize === undefined && init.maxConcurrentUploads === undefined) return stores;
  const slots = init.maxConcurrentUploads === undefined ? undefined : new Semaphore(init.maxConcurrentUploads);
  const wrapped = new WeakMap<ObjectStore, ObjectStore>();

  const limitBody = (body: Body, expectedSize: number | undefined): Body => {
    if (maxUploadSize === undefined) return body;
    if (expectedSize !== undefined && expectedSize > maxUploadSize) throw tooLarge(maxUploadSize);
    return capped(body, maxUploadSize);
  };
  const inSlot = async <T>(fn: () => Promise<T>): Promise<T> => {
    if (!slots) return fn();
    await slots.acquire();
    try {
      return await fn();
    } finally {
      slots.release();
    }
  };

  const wrap = (store: ObjectStore): ObjectStore => {
    let w = wrapped.get(store);
    if (w) return w;
    const putObject: ObjectStore['putObject'] = (bucket, key, body, options) =>
      inSlot(() => store.putObject(bucket, key, limitBody(body, options?.expectedSize), options));
    const uploadPart: ObjectStore['uploadPart'] = (bucket, key, uploadId, partNumber, body, options) =>
      inSlot(() => store.uploadPart(bucket, key, uploadId, partNumber, limitBody(body, options?.expectedSize), options));
    // A proxy rather than a copy: every other method runs on the real store (its private fields).
    w = new Proxy(store, {
      get(target, prop) {
        if (prop === 'putObject') return putObject;
        if (prop === 'uploadPart') return uploadPart;
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    wrapped.set(store, w);
    return w;
  };

  return {
    async open(user: TenantUser) {
      return wrap(await stores.open(user));
    },
    capacity: () => stores.capacity(),
  };
}
