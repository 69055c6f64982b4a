/**
 * A webdav-server v2 FileSystem over the shared path view (RFC 4918 semantics come from
 * webdav-server; storage semantics from gateway/common/path-view.ts). One instance serves every
 * tenant: each call resolves the tenant's PathView from the request's authenticated user, so a
 * request can only ever reach its own buckets.
 *
 * Locks and dead properties live in memory, per tenant and path (webdav-server's Local managers);
 * they follow MOVE and COPY. They are lost on restart, which RFC 4918 allows for locks (§6.3: a
 * lock may disappear) and is documented for dead properties in docs/file-protocols.md.
 */
import { PassThrough, Writable, type Readable } from 'node:stream';
import { v2 } from 'webdav-server';
import { PathView } from '../common/path-view.js';
import type { ObjectStore } from '../../backend/core/object-store.js';
import { StoreError } from '../../backend/core/errors.js';
import { webdavError } from './errors.js';

type Path = v2.Path;
type Ctx = v2.RequestContext;

export interface TenantUserRef extends v2.IUser {
  /** the PathView of this user's tenant (read-only for anonymous 'ro') */
  view: PathView;
}

/**
 * webdav-server asks some questions with its own internal context (e.g. the type of the root to
 * build the Allow header), which carries no tenant. That context gets a view of no store at all:
 * the root is an empty folder and anything else is refused.
 */
const NOBODY = new PathView(
  new Proxy({} as ObjectStore, {
    get: () => () => Promise.reject(new StoreError('AccessDenied', 'no tenant on this request')),
  }),
  { readOnly: true },
);

function viewOf(ctx: Ctx): PathView {
  return (ctx.user as TenantUserRef | undefined)?.view ?? NOBODY;
}

function tenantOf(ctx: Ctx): string {
  return (ctx.user as TenantUserRef | undefined)?.uid ?? '';
}

const WEBDAV_SERVER_ERRORS = new Set<unknown>(Object.values(v2.Errors));

function run<T>(cb: (e?: Error, v?: T) => void, fn: () => Promise<T>): void {
  fn().then(
    (v) => cb(undefined, v),
    (err: unknown) => cb(WEBDAV_SERVER_ERRORS.has(err) ? (err as Error) : webdavError(err)),
  );
}

class StoreSerializer implements v2.FileSystemSerializer {
  uid(): string {
    return 'peerstor-store-fs-1';
  }
  serialize(_fs: v2.FileSystem, callback: v2.ReturnCallback<unknown>): void {
    callback(undefined, {});
  }
  unserialize(_data: unknown, callback: v2.ReturnCallback<v2.FileSystem>): void {
    callback(new Error('not serializable'));
  }
}

export class StoreFileSystem extends v2.FileSystem {
  readonly #locks = new Map<string, v2.LocalLockManager>();
  readonly #props = new Map<string, v2.LocalPropertyManager>();

  constructor() {
    super(new StoreSerializer());
  }

  #slot(ctx: Ctx, path: Path): string {
    return `${tenantOf(ctx)}\0${path.toString()}`;
  }

  /** Moves or copies the lock-free state (dead properties) of a path and everything under it. */
  #carryProps(ctx: Ctx, from: Path, to: Path, move: boolean): void {
    const a = this.#slot(ctx, from);
    const b = this.#slot(ctx, to);
    for (const [slot, pm] of [...this.#props]) {
      if (slot !== a && !slot.startsWith(`${a}/`)) continue;
      const target = b + slot.slice(a.length);
      if (move) {
        this.#props.delete(slot);
        this.#props.set(target, pm);
      } else {
        const copy = new v2.LocalPropertyManager();
        copy.properties = JSON.parse(JSON.stringify(pm.properties)) as typeof pm.properties;
        this.#props.set(target, copy);
      }
    }
  }

  #dropState(ctx: Ctx, path: Path): void {
    const a = this.#slot(ctx, path);
    for (const m of [this.#props, this.#locks] as Map<string, unknown>[]) {
      for (const slot of [...m.keys()]) if (slot === a || slot.startsWith(`${a}/`)) m.delete(slot);
    }
  }

  protected override _lockManager(path: Path, info: v2.LockManagerInfo, callback: v2.ReturnCallback<v2.ILockManager>): void {
    const slot = this.#slot(info.context, path);
    let m = this.#locks.get(slot);
    if (!m) this.#locks.set(slot, (m = new v2.LocalLockManager()));
    callback(undefined, m);
  }

  protected override _propertyManager(path: Path, info: v2.PropertyManagerInfo, callback: v2.ReturnCallback<v2.IPropertyManager>): void {
    const slot = this.#slot(info.context, path);
    let m = this.#props.get(slot);
    if (!m) this.#props.set(slot, (m = new v2.LocalPropertyManager()));
    callback(undefined, m);
  }

  protected override _type(path: Path, info: v2.TypeInfo, callback: v2.ReturnCallback<v2.ResourceType>): void {
    run(callback, async () => ((await viewOf(info.context).stat(path.toString())).type === 'dir' ? v2.ResourceType.Directory : v2.ResourceType.File));
  }

  protected override _fastExistCheck(ctx: Ctx, path: Path, callback: (exists: boolean) => void): void {
    viewOf(ctx)
      .exists(path.toString())
      .then(callback, () => callback(false));
  }

  protected override _size(path: Path, info: v2.SizeInfo, callback: v2.ReturnCallback<number>): void {
    run(callback, async () => {
      const st = await viewOf(info.context).stat(path.toString());
      return st.type === 'file' ? st.size : (undefined as unknown as number);
    });
  }

  protected override _lastModifiedDate(path: Path, info: v2.LastModifiedDateInfo, callback: v2.ReturnCallback<number>): void {
    run(callback, async () => (await viewOf(info.context).stat(path.toString())).mtime.getTime());
  }

  protected override _creationDate(path: Path, info: v2.CreationDateInfo, callback: v2.ReturnCallback<number>): void {
    this._lastModifiedDate(path, info, callback);
  }

  protected override _etag(path: Path, info: v2.ETagInfo, callback: v2.ReturnCallback<string>): void {
    run(callback, async () => {
      const st = await viewOf(info.context).stat(path.toString());
      return `"${st.etag ?? `d-${st.mtime.getTime().toString(16)}`}"`;
    });
  }

  protected override _readDir(path: Path, info: v2.ReadDirInfo, callback: v2.ReturnCallback<string[] | Path[]>): void {
    run<string[]>(callback, async () => (await viewOf(info.context).list(path.toString())).map((e) => e.name));
  }

  protected override _create(path: Path, info: v2.CreateInfo, callback: v2.SimpleCallback): void {
    run(callback, async () => {
      const view = viewOf(info.context);
      if (info.type.isDirectory) {
        await view.mkdir(path.toString());
        return;
      }
      // A PUT creates the object with its body right after this call (openWriteStream), so only
      // check here; anything else (LOCK on an unmapped URL) creates an empty file now.
      if ((info.context as v2.HTTPRequestContext).request?.method === 'PUT') await view.checkWritable(path.toString());
      else await view.write(path.toString(), emptyBody(), { expectedSize: 0 });
    });
  }

  protected override _openWriteStream(path: Path, info: v2.OpenWriteStreamInfo, callback: v2.ReturnCallback<Writable>): void {
    const view = viewOf(info.context);
    const pass = new PassThrough({ highWaterMark: 1 << 20 });
    const expectedSize = info.estimatedSize >= 0 && info.context.headers.contentLength >= 0 ? info.estimatedSize : undefined;
    let done: Promise<unknown> | undefined;
    const start = (): Promise<unknown> => (done ??= view.write(path.toString(), pass, expectedSize !== undefined ? { expectedSize } : {}));
    // The Writable finishes only once the object is stored, so the reply (sent on 'finish') never
    // comes before the put is visible and durable.
    const sink = new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _enc, cb) {
        start().catch(() => undefined);
        if (pass.write(chunk)) cb();
        else pass.once('drain', () => cb());
      },
      final(cb) {
        const p = start();
        pass.end();
        p.then(
          () => cb(),
          (err: unknown) => cb(WEBDAV_SERVER_ERRORS.has(err) ? (err as Error) : webdavError(err)),
        );
      },
      destroy(err, cb) {
        pass.destroy(err ?? undefined);
        cb(err);
      },
    });
    // Start the put at once so a missing bucket or a refused name fails before the body is read.
    start().catch((err: unknown) => sink.destroy(webdavError(err)));
    callback(undefined, sink);
  }

  protected override _openReadStream(path: Path, info: v2.OpenReadStreamInfo, callback: v2.ReturnCallback<Readable>): void {
    run(callback, async () => (await viewOf(info.context).read(path.toString())).body);
  }

  protected override _delete(path: Path, info: v2.DeleteInfo, callback: v2.SimpleCallback): void {
    run(callback, async () => {
      await viewOf(info.context).removeTree(path.toString());
      this.#dropState(info.context, path);
    });
  }

  protected override _move(from: Path, to: Path, info: v2.MoveInfo, callback: v2.ReturnCallback<boolean>): void {
    run(callback, async () => {
      const view = viewOf(info.context);
      const existed = await view.exists(to.toString());
      if (existed) {
        if (!info.overwrite) throw v2.Errors.ResourceAlreadyExists;
        await view.removeTree(to.toString());
        this.#dropState(info.context, to);
      }
      await view.rename(from.toString(), to.toString(), { overwrite: info.overwrite });
      this.#carryProps(info.context, from, to, true);
      return existed;
    });
  }

  protected override _copy(from: Path, to: Path, info: v2.CopyInfo, callback: v2.ReturnCallback<boolean>): void {
    run(callback, async () => {
      const view = viewOf(info.context);
      const existed = await view.exists(to.toString());
      if (existed) {
        if (!info.overwrite) throw v2.Errors.ResourceAlreadyExists;
        await view.removeTree(to.toString());
        this.#dropState(info.context, to);
      }
      const st = await view.stat(from.toString());
      if (st.type === 'dir' && info.depth === 0) await view.mkdir(to.toString());
      else await view.copy(from.toString(), to.toString(), { overwrite: true });
      this.#carryProps(info.context, from, to, false);
      return existed;
    });
  }
}

async function* emptyBody(): AsyncIterable<Uint8Array> {}
