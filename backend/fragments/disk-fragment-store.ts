/**
 * Fragments as files on one or more local volumes (the storage peer's own disk).
 *
 * Layout under each volume (nothing else under a volume is ever touched: the gateway keeps its
 * state in `<first volume>/.peerstor/`):
 *   fragments/<id[0..2]>/<id[2..4]>/<id>   content-addressed fragment files
 *   tmp/                                    writes in progress; emptied at open (crash leftovers)
 *   quarantine/<id>.<ms>                    files whose bytes no longer hash to their id
 *
 * A put is durable before it resolves: bytes go to tmp/ (one open with O_EXCL, one write), the file
 * is fdatasync'd, renamed into place and its directory fsync'd (one fsync shared by the puts renamed
 * into the same directory while the previous one ran: disk-dir-sync.ts). A directory is made by the
 * first put that needs it, while that put's bytes are written, and its parent fsync'd before the
 * put resolves. A bitmap per volume remembers which directories exist (filled by the open walk),
 * so no put repeats a mkdir, and a put into a directory that does not exist yet skips the existence
 * stat. (Making the 256 first-level directories at open instead saved ~0.2 system calls per
 * fragment of a volume's first few thousand, and cost every open of a fresh volume ~100 ms here.)
 * System calls per new fragment: 12 when it makes its leaf directory (no statx; mkdir, and open +
 * fsync + close of the parent), 9 once the directory exists (statx, open, write, fdatasync, close,
 * rename, open + fsync + close of the directory).
 * New fragments go to the rw volume with room that ranks first
 * for the id under rendezvous hashing, so the choice is deterministic and adding a volume moves
 * only the share of new ids it wins. Reads look in every volume (rendezvous order first).
 * One process per volume: open() empties tmp/, which would break a second writer, and the
 * directory bitmap would miss directories another writer makes.
 */
import { createHash } from 'node:crypto';
import { close as fsClose, fstat as fsFstat, open as fsOpen, read as fsRead } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, statfs, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StoreError } from '../core/errors.js';
import type { FragmentEntry, FragmentId, FragmentOpOptions, FragmentStat, FragmentStore } from '../core/fragment-store.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { DirSync, fsyncDir } from './disk-dir-sync.js';
import { asBuffer, assertFragmentId, fragmentIdOf, isFragmentId } from './fragment-id.js';
import { KeyedLock } from './keyed-lock.js';
import type { VolumeSpec } from './volume-spec.js';

export interface DiskFragmentStoreInit {
  volumes: VolumeSpec[];
  /** bytes of fragments per volume; a volume's own `quota` wins. Without one, `fs.statfs` decides. */
  quota?: number;
  logger?: Logger;
}

export interface ScrubProgress {
  checked: number;
  corrupt: number;
  bytes: number;
}

export interface ScrubResult {
  checked: number;
  /** ids found corrupt (and quarantined when their volume is writable) */
  corrupt: string[];
}

interface Volume {
  root: string;
  /** rendezvous-hashing key: the resolved path */
  key: string;
  writable: boolean;
  quota?: number;
  fragmentsDir: string;
  tmpDir: string;
  quarantineDir: string;
  used: number;
  count: number;
  /** bytes of puts in flight, counted against room so parallel puts cannot overshoot a quota */
  reserved: number;
  /** fragment directories known to exist and be durable, one bit each (see #ensureDir): the 256
   *  `fragments/<aa>` and the 65,536 `fragments/<aa>/<bb>`, indexed by their hex name */
  knownTop: Uint8Array;
  knownLeaf: Uint8Array;
  /** directories being created (mkdir + parent fsync), shared by the puts that need them */
  dirPending: Map<string, Promise<void>>;
  /** the last statfs and `used` at that time (see #statfs) */
  statfsCache?: { at: number; used: number; bavail: number; bsize: number; blocks: number };
  statfsPending?: Promise<{ bavail: number; bsize: number; blocks: number }>;
}

/** how long a volume's statfs serves puts */
const STATFS_TTL_MS = 1000;

const HEX2 = /^[0-9a-f]{2}$/;
let tmpCounter = 0;

function errno(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** Maps an fs failure to the StoreError the caller can act on. */
function fsError(err: unknown, what: string): StoreError | unknown {
  if (err instanceof StoreError) return err;
  if (err instanceof Error && err.name === 'AbortError') return err;
  switch (errno(err)) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new StoreError('QuotaExceeded', `${what}: volume full`, { cause: err });
    case 'EROFS':
      return new StoreError('ReadOnly', `${what}: file system is read-only`, { cause: err });
    case 'EMFILE':
    case 'ENFILE':
    case 'EAGAIN':
    case 'EBUSY':
      return new StoreError('Unavailable', `${what}: ${(err as Error).message}`, { cause: err });
    default:
      return new StoreError('Internal', `${what}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
}

function rendezvousScore(volumeKey: string, id: string): bigint {
  return createHash('sha256').update(volumeKey).update('\0').update(id).digest().readBigUInt64BE(0);
}

export class DiskFragmentStore implements FragmentStore {
  readonly #volumes: Volume[];
  readonly #logger: Logger;
  readonly #lock = new KeyedLock();
  readonly #dirSync = new DirSync();
  readonly #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  private constructor(volumes: Volume[], logger: Logger) {
    this.#volumes = volumes;
    this.#logger = logger;
  }

  static async open(init: DiskFragmentStoreInit): Promise<DiskFragmentStore> {
    if (init.volumes.length === 0) throw new RangeError('DiskFragmentStore needs at least one volume');
    const logger = init.logger ?? silentLogger();
    const seen = new Set<string>();
    const volumes: Volume[] = [];
    for (const spec of init.volumes) {
      const root = resolve(spec.path);
      if (seen.has(root)) throw new RangeError(`volume "${spec.path}" given twice`);
      seen.add(root);
      const quota = spec.quota ?? init.quota;
      if (quota !== undefined && !(quota > 0)) throw new RangeError(`quota for volume "${spec.path}" must be positive`);
      volumes.push({
        root,
        key: root,
        writable: spec.mode === 'rw',
        quota,
        fragmentsDir: join(root, 'fragments'),
        tmpDir: join(root, 'tmp'),
        quarantineDir: join(root, 'quarantine'),
        used: 0,
        count: 0,
        reserved: 0,
        knownTop: new Uint8Array(256 / 8),
        knownLeaf: new Uint8Array(65536 / 8),
        dirPending: new Map(),
      });
    }
    for (const v of volumes) {
      if (v.writable) {
        await mkdir(v.fragmentsDir, { recursive: true });
        await mkdir(v.quarantineDir, { recursive: true });
        // Leftovers from a crash mid-put: never renamed into place, so never acknowledged.
        await rm(v.tmpDir, { recursive: true, force: true });
        await mkdir(v.tmpDir, { recursive: true });
        // fragments/ and tmp/ may be new: their entries must be durable before any put relies on them
        await fsyncDir(v.root);
      } else {
        const s = await stat(v.root).catch((err: unknown) => {
          throw new RangeError(`read-only volume "${v.root}" is not readable: ${(err as Error).message}`);
        });
        if (!s.isDirectory()) throw new RangeError(`read-only volume "${v.root}" is not a directory`);
      }
      // the walk also records which fragment directories exist, so puts skip mkdir for them
      const onDir = v.writable ? (hex: string): void => markDir(v, hex) : undefined;
      for await (const e of walkVolume(v, onDir)) {
        v.used += e.size;
        v.count++;
      }
    }
    const store = new DiskFragmentStore(volumes, logger);
    logger.info(
      { volumes: volumes.map((v) => ({ path: v.root, mode: v.writable ? 'rw' : 'ro', quota: v.quota, fragments: v.count, used: v.used })) },
      'fragment store open',
    );
    return store;
  }

  // ---- FragmentStore ---------------------------------------------------------------------------

  put(id: FragmentId, data: Uint8Array, options?: FragmentOpOptions): Promise<void> {
    return this.#track(async () => {
      assertFragmentId(id);
      const bytes = asBuffer(data);
      // An in-process caller that just hashed the bytes (FragmentOpOptions.idVerified) is trusted:
      // a second SHA-256 here cost the gateway's main thread ~1.3 CPU ms per MiB of chunk data.
      if (!options?.idVerified && fragmentIdOf(bytes) !== id) throw new StoreError('BadDigest', `fragment bytes do not hash to ${id}`);
      if (!this.#volumes.some((v) => v.writable)) throw new StoreError('ReadOnly', 'every volume is read-only');
      await this.#lock.run(id, async () => {
        options?.signal?.throwIfAborted();
        if (await this.#locate(id)) return;
        // reserved by #chooseVolume in the same turn as its room check
        const vol = await this.#chooseVolume(id, bytes.length);
        try {
          await this.#write(vol, id, bytes, options?.signal);
          vol.used += bytes.length;
          vol.count++;
        } finally {
          vol.reserved -= bytes.length;
        }
      });
    });
  }

  get(id: FragmentId, options?: FragmentOpOptions): Promise<Buffer> {
    return this.#track(async () => {
      assertFragmentId(id);
      let corruptOn: string | undefined;
      for (const vol of this.#ordered(id)) {
        const file = this.#path(vol, id);
        let bytes: Buffer;
        try {
          bytes = await readWhole(file, options?.signal, options?.allocate);
        } catch (err) {
          if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') continue;
          if (options?.signal?.aborted) throw options.signal.reason;
          throw fsError(err, `reading fragment ${id}`);
        }
        // FragmentOpOptions.callerVerifies: the chunk codec hashes on a worker thread instead of here
        if (!options?.callerVerifies && fragmentIdOf(bytes) !== id) {
          await this.#quarantine(vol, id, bytes.length);
          // Another volume may still hold a good copy.
          corruptOn = vol.root;
          continue;
        }
        return bytes;
      }
      if (corruptOn !== undefined) throw new StoreError('Corrupt', `fragment ${id} on ${corruptOn} does not match its hash`);
      throw new StoreError('FragmentNotFound', `no fragment ${id}`);
    });
  }

  has(id: FragmentId, options?: FragmentOpOptions): Promise<boolean> {
    return this.#track(async () => {
      assertFragmentId(id);
      options?.signal?.throwIfAborted();
      return (await this.#locate(id)) !== undefined;
    });
  }

  delete(id: FragmentId, options?: FragmentOpOptions): Promise<void> {
    return this.#track(async () => {
      assertFragmentId(id);
      if (!this.#volumes.some((v) => v.writable)) throw new StoreError('ReadOnly', 'every volume is read-only');
      await this.#lock.run(id, async () => {
        options?.signal?.throwIfAborted();
        const found: Array<{ vol: Volume; size: number }> = [];
        for (const vol of this.#volumes) {
          const size = await this.#sizeOn(vol, id);
          if (size !== undefined) found.push({ vol, size });
        }
        const ro = found.find((f) => !f.vol.writable);
        if (ro) throw new StoreError('ReadOnly', `fragment ${id} is on read-only volume ${ro.vol.root}`);
        for (const { vol, size } of found) {
          try {
            await unlink(this.#path(vol, id));
          } catch (err) {
            if (errno(err) === 'ENOENT') continue;
            throw fsError(err, `deleting fragment ${id}`);
          }
          vol.used -= size;
          vol.count--;
        }
      });
    });
  }

  async *list(options?: FragmentOpOptions): AsyncIterable<FragmentEntry> {
    this.#checkOpen();
    // The same id on two volumes (copied by hand, or a volume re-added) is listed once.
    const seen = this.#volumes.length > 1 ? new Set<string>() : undefined;
    for (const vol of this.#volumes) {
      for await (const e of walkVolume(vol)) {
        options?.signal?.throwIfAborted();
        if (seen) {
          if (seen.has(e.id)) continue;
          seen.add(e.id);
        }
        yield e;
      }
    }
  }

  stat(options?: FragmentOpOptions): Promise<FragmentStat> {
    return this.#track(async () => {
      options?.signal?.throwIfAborted();
      const total: FragmentStat = { capacity: 0, used: 0, free: 0, fragments: 0 };
      for (const vol of this.#volumes) {
        total.used += vol.used;
        total.fragments += vol.count;
        if (!vol.writable) {
          // Nothing more can be written there: it is exactly full.
          total.capacity += vol.used;
          continue;
        }
        const { capacity, free } = await this.#room(vol);
        total.capacity += capacity;
        total.free += free;
      }
      return total;
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#inFlight]);
  }

  // ---- maintenance -------------------------------------------------------------------------------

  /** Re-hashes every fragment; bad ones are quarantined (on writable volumes) and reported. Used by
   *  the peer's scheduled self-check. Fragments deleted while the scrub runs are skipped. */
  scrub(onProgress?: (progress: ScrubProgress) => void, options?: FragmentOpOptions): Promise<ScrubResult> {
    return this.#track(async () => {
      const progress: ScrubProgress = { checked: 0, corrupt: 0, bytes: 0 };
      const corrupt: string[] = [];
      for (const vol of this.#volumes) {
        for await (const e of walkVolume(vol)) {
          options?.signal?.throwIfAborted();
          if (this.#closed) throw closedError();
          let bytes: Buffer;
          try {
            bytes = await readWhole(this.#path(vol, e.id));
          } catch (err) {
            if (errno(err) === 'ENOENT') continue;
            throw fsError(err, `scrubbing fragment ${e.id}`);
          }
          progress.checked++;
          progress.bytes += bytes.length;
          if (fragmentIdOf(bytes) !== e.id) {
            await this.#quarantine(vol, e.id, bytes.length);
            corrupt.push(e.id);
            progress.corrupt++;
          }
          onProgress?.({ ...progress });
        }
      }
      this.#logger.info({ checked: progress.checked, corrupt: corrupt.length, bytes: progress.bytes }, 'scrub done');
      return { checked: progress.checked, corrupt };
    });
  }

  // ---- internals ---------------------------------------------------------------------------------

  #checkOpen(): void {
    if (this.#closed) throw closedError();
  }

  /** Runs an operation so close() can wait for it. */
  #track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    const p = fn();
    this.#inFlight.add(p);
    const done = (): void => {
      this.#inFlight.delete(p);
    };
    p.then(done, done);
    return p;
  }

  #path(vol: Volume, id: string): string {
    return join(vol.fragmentsDir, id.slice(0, 2), id.slice(2, 4), id);
  }

  /** Volumes in rendezvous order for this id (highest score first). */
  #ordered(id: string): Volume[] {
    if (this.#volumes.length === 1) return this.#volumes;
    return this.#volumes
      .map((v) => ({ v, s: rendezvousScore(v.key, id) }))
      .sort((a, b) => (a.s === b.s ? 0 : a.s > b.s ? -1 : 1))
      .map((x) => x.v);
  }

  async #sizeOn(vol: Volume, id: string): Promise<number | undefined> {
    // A writable volume is this process's alone and its directories are all known (the open walk,
    // then #ensureDir): no directory, no fragment, no stat. Most puts on a young volume go to a
    // directory that does not exist yet.
    if (vol.writable && !isDirKnown(vol, id.slice(0, 4)) && !vol.dirPending.has(id.slice(0, 4))) return undefined;
    try {
      return (await stat(this.#path(vol, id))).size;
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return undefined;
      throw fsError(err, `looking up fragment ${id}`);
    }
  }

  async #locate(id: string): Promise<Volume | undefined> {
    for (const vol of this.#ordered(id)) {
      if ((await this.#sizeOn(vol, id)) !== undefined) return vol;
    }
    return undefined;
  }

  async #room(vol: Volume, fresh = true): Promise<{ capacity: number; free: number }> {
    const fs = await this.#statfs(vol, fresh);
    const diskFree = fs.bavail * fs.bsize;
    if (vol.quota === undefined) return { capacity: fs.blocks * fs.bsize, free: diskFree };
    return { capacity: vol.quota, free: Math.max(0, Math.min(vol.quota - vol.used, diskFree)) };
  }

  /**
   * statfs of a volume. For puts (`fresh` false) a result up to STATFS_TTL_MS old serves, less the
   * bytes written since: one statfs per fragment was one of ten file operations per fragment on
   * the put path. A disk that fills faster than that (another writer) still ends in ENOSPC, which
   * put reports as QuotaExceeded like a refused put.
   */
  async #statfs(vol: Volume, fresh: boolean): Promise<{ bavail: number; bsize: number; blocks: number }> {
    const c = vol.statfsCache;
    if (!fresh && c && Date.now() - c.at < STATFS_TTL_MS) {
      return { bavail: Math.max(0, c.bavail - Math.ceil((vol.used - c.used) / c.bsize)), bsize: c.bsize, blocks: c.blocks };
    }
    // the n fragment puts of a chunk arrive together: they share one statfs in flight
    if (!fresh && vol.statfsPending) return vol.statfsPending;
    const p = statfs(vol.root).then((fs) => {
      vol.statfsCache = { at: Date.now(), used: vol.used, bavail: fs.bavail, bsize: fs.bsize, blocks: fs.blocks };
      return fs;
    });
    vol.statfsPending = p;
    try {
      return await p;
    } finally {
      if (vol.statfsPending === p) vol.statfsPending = undefined;
    }
  }

  async #chooseVolume(id: string, size: number): Promise<Volume> {
    for (const vol of this.#ordered(id)) {
      if (!vol.writable) continue;
      const { free } = await this.#room(vol, false);
      // check and reserve with no await in between: parallel puts share one statfs (#statfs)
      if (free - vol.reserved >= size) {
        vol.reserved += size;
        return vol;
      }
    }
    throw new StoreError('QuotaExceeded', `no volume has room for ${size} more bytes`);
  }

  async #write(vol: Volume, id: string, bytes: Buffer, signal: AbortSignal | undefined): Promise<void> {
    const tmp = join(vol.tmpDir, `${id}.${process.pid}.${++tmpCounter}`);
    const final = this.#path(vol, id);
    // the directory is made (and its parent fsync'd) while the bytes are written
    const dirReady = this.#ensureDir(vol, id.slice(0, 4));
    dirReady?.catch(() => undefined);
    let renamed = false;
    try {
      const fh = await open(tmp, 'wx', 0o644);
      try {
        // one write call: FileHandle.writeFile writes in 512 KiB pieces
        let done = 0;
        while (done < bytes.length) done += (await fh.write(bytes, done, bytes.length - done)).bytesWritten;
        await fh.datasync();
      } finally {
        await fh.close();
      }
      signal?.throwIfAborted();
      await dirReady;
      try {
        await rename(tmp, final);
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw err;
        // its directory was removed behind the store's back: make it again, once
        forgetDir(vol, id.slice(0, 4));
        await this.#ensureDir(vol, id.slice(0, 4));
        await rename(tmp, final);
      }
      renamed = true;
      await this.#dirSync.sync(dirname(final));
    } catch (err) {
      // A fragment whose directory entry may not be durable must not stay visible: a retry would
      // find it and resolve without the fsync.
      if (renamed) await unlink(final).catch(() => undefined);
      else await rm(tmp, { force: true }).catch(() => undefined);
      throw fsError(err, `writing fragment ${id} to ${vol.root}`);
    }
  }

  /**
   * Makes `fragments/<aa>` (hex of 2 characters) or `fragments/<aa>/<bb>` (4) exist with a durable
   * entry in its parent; undefined when it is already known to. Puts needing the same new
   * directory share one mkdir and one parent fsync (which concurrent creations of sibling
   * directories share in turn, through #dirSync). A directory found existing (EEXIST) still gets
   * its parent fsync'd: another process may have made it and died before its fsync.
   */
  #ensureDir(vol: Volume, hex: string): Promise<void> | undefined {
    if (isDirKnown(vol, hex)) return undefined;
    const pending = vol.dirPending.get(hex);
    if (pending) return pending;
    const dir = hex.length === 2 ? join(vol.fragmentsDir, hex) : join(vol.fragmentsDir, hex.slice(0, 2), hex.slice(2, 4));
    const make = async (): Promise<void> => {
      try {
        await mkdir(dir);
      } catch (err) {
        if (errno(err) === 'EEXIST') {
          // made by someone else: fall through to the parent fsync
        } else if (errno(err) === 'ENOENT') {
          // the parent is missing: the first-level directory, or fragments/ itself (removed by hand)
          if (hex.length === 4) {
            // known but removed behind the store's back: check again
            forgetDir(vol, hex.slice(0, 2));
            await this.#ensureDir(vol, hex.slice(0, 2));
          } else if ((await mkdir(vol.fragmentsDir, { recursive: true })) !== undefined) {
            await this.#dirSync.sync(vol.root);
          }
          await mkdir(dir).catch((e: unknown) => {
            if (errno(e) !== 'EEXIST') throw e;
          });
        } else {
          throw err;
        }
      }
      await this.#dirSync.sync(dirname(dir));
      markDir(vol, hex);
    };
    const p = make().finally(() => vol.dirPending.delete(hex));
    vol.dirPending.set(hex, p);
    return p;
  }

  async #quarantine(vol: Volume, id: string, size: number): Promise<void> {
    if (!vol.writable) {
      this.#logger.error({ id, volume: vol.root }, 'corrupt fragment on read-only volume; left in place');
      return;
    }
    const to = join(vol.quarantineDir, `${id}.${Date.now()}`);
    try {
      await rename(this.#path(vol, id), to);
    } catch (err) {
      // Someone else (a parallel get or scrub) moved or deleted it first.
      if (errno(err) === 'ENOENT') return;
      this.#logger.error({ id, volume: vol.root, err }, 'could not quarantine corrupt fragment');
      return;
    }
    vol.used -= size;
    vol.count--;
    this.#logger.warn({ id, volume: vol.root, quarantined: to }, 'corrupt fragment quarantined');
  }
}

function closedError(): StoreError {
  return new StoreError('Unavailable', 'fragment store is closed');
}

function dirBit(vol: Volume, hex: string): { bits: Uint8Array; i: number } {
  return { bits: hex.length === 2 ? vol.knownTop : vol.knownLeaf, i: parseInt(hex, 16) };
}

function isDirKnown(vol: Volume, hex: string): boolean {
  const { bits, i } = dirBit(vol, hex);
  return (bits[i >> 3] & (1 << (i & 7))) !== 0;
}

/** `hex`: the 2 or 4 hex characters naming fragments/<aa> or fragments/<aa>/<bb> */
function markDir(vol: Volume, hex: string): void {
  const { bits, i } = dirBit(vol, hex);
  bits[i >> 3] |= 1 << (i & 7);
  // a leaf exists only inside its parent
  if (hex.length === 4) markDir(vol, hex.slice(0, 2));
}

function forgetDir(vol: Volume, hex: string): void {
  for (const h of hex.length === 4 ? [hex, hex.slice(0, 2)] : [hex]) {
    const { bits, i } = dirBit(vol, h);
    bits[i >> 3] &= ~(1 << (i & 7));
  }
}

/**
 * The whole file in one buffer: open, fstat, one read (readFile reads in 512 KiB pieces), close.
 * With callback fs, not fs/promises: a FileHandle per read (an EventEmitter with its reference
 * counting and close promise) and a promise per step were a visible share of the JS a storage
 * peer runs per fragment GET.
 */
function readWhole(file: string, signal?: AbortSignal, allocate?: (length: number) => Buffer): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    fsOpen(file, 'r', (openErr, fd) => {
      if (openErr) return reject(openErr);
      // every outcome closes the descriptor first; a failure to close fails a read that worked
      const finish = (outcome: { err: unknown } | { bytes: Buffer }): void => {
        fsClose(fd, (closeErr) => {
          if ('err' in outcome) reject(outcome.err);
          else if (closeErr) reject(closeErr);
          else resolve(outcome.bytes);
        });
      };
      fsFstat(fd, (statErr, st) => {
        if (statErr) return finish({ err: statErr });
        const size = st.size;
        let buf: Buffer;
        try {
          // an ArrayBuffer of its own, like readFile's (or the caller's, FragmentOpOptions.allocate):
          // the chunk codec moves it to a worker uncopied
          buf = allocate ? allocate(size) : Buffer.allocUnsafeSlow(size);
        } catch (err) {
          return finish({ err });
        }
        let done = 0;
        const next = (): void => {
          if (done >= size) return finish({ bytes: buf });
          if (signal?.aborted) return finish({ err: signal.reason });
          fsRead(fd, buf, done, size - done, done, (readErr, bytesRead) => {
            if (readErr) return finish({ err: readErr });
            // shorter than fstat said (truncated meanwhile): what is there, the hash check decides
            if (bytesRead === 0) return finish({ bytes: buf.subarray(0, done) });
            done += bytesRead;
            next();
          });
        };
        next();
      });
    });
  });
}

/** undefined when `dir` is missing or not a directory */
async function readdirIfDir(dir: string): Promise<string[] | undefined> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return undefined;
    throw fsError(err, `listing ${dir}`);
  }
}

/** Every well-placed fragment file of a volume; stray names are ignored. `onDir` hears of each
 *  fragment directory (as its 2 or 4 hex characters) before its contents. */
async function* walkVolume(vol: Volume, onDir?: (hex: string) => void): AsyncGenerator<FragmentEntry> {
  for (const a of (await readdirIfDir(vol.fragmentsDir)) ?? []) {
    if (!HEX2.test(a)) continue;
    const names = await readdirIfDir(join(vol.fragmentsDir, a));
    if (names === undefined) continue;
    onDir?.(a);
    for (const b of names) {
      if (!HEX2.test(b)) continue;
      const dir = join(vol.fragmentsDir, a, b);
      const ids = await readdirIfDir(dir);
      if (ids === undefined) continue;
      onDir?.(a + b);
      for (const id of ids) {
        if (!isFragmentId(id) || id.slice(0, 2) !== a || id.slice(2, 4) !== b) continue;
        try {
          const s = await stat(join(dir, id));
          if (s.isFile()) yield { id, size: s.size, mtimeMs: s.mtimeMs };
        } catch (err) {
          if (errno(err) !== 'ENOENT') throw fsError(err, `listing fragment ${id}`);
        }
      }
    }
  }
}
