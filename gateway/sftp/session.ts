/**
 * One SFTP session: handle table and request handlers (draft-ietf-secsh-filexfer-02 §6) over the
 * tenant's path view. Requests on one handle run in order (clients pipeline reads and writes);
 * different handles run concurrently. Every failure answers the request with a status; nothing a
 * client sends can throw out of here.
 *
 * ssh2's server neither announces SFTP extensions nor can send EXTENDED_REPLY, so this file patches
 * the session's outgoing packets in one place (`announceExtensions`): the VERSION packet gains
 * posix-rename@openssh.com, statvfs@openssh.com and fsync@openssh.com, and a DATA reply to a
 * pending statvfs request is re-typed as EXTENDED_REPLY.
 */
import { randomBytes } from 'node:crypto';
import ssh2 from 'ssh2';
import type { Logger } from '../../backend/core/logger.js';
import type { TenantStores } from '../../backend/core/object-store.js';
import type { Metrics } from '../../backend/metrics/metrics.js';
import { FsError, resolveNavigation, type FsStat, type PathView } from '../common/path-view.js';
import { WriteSpool } from '../common/spool.js';
import { sftpStatus } from './errors.js';
import { SequentialReader } from './sequential-reader.js';
import { NotSequentialError, SequentialUpload } from './sequential-upload.js';

const { STATUS_CODE, OPEN_MODE } = ssh2.utils.sftp;
type SFTPWrapper = ssh2.SFTPWrapper;
type Attributes = ssh2.Attributes;

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const RESPONSE_VERSION = 2;
const RESPONSE_DATA = 103;
const RESPONSE_EXTENDED_REPLY = 201;
const EXTENSIONS: [string, string][] = [
  ['posix-rename@openssh.com', '1'],
  ['statvfs@openssh.com', '2'],
  ['fsync@openssh.com', '1'],
  ['limits@openssh.com', '1'],
];
/** Largest SFTP packet ssh2 accepts from a client (its OPENSSH_MAX_PKT_LEN). */
const MAX_PACKET = 256 * 1024;
/**
 * READ / WRITE payloads announced through limits@openssh.com (OpenSSH's sftp adopts them).
 * A DATA reply of READ_LENGTH bytes plus its 13-byte header fills exactly one 32 KiB SSH packet
 * (the client's maximum): with the client's default 32 KiB reads every reply went out as a full
 * packet plus a 13-byte one, twice the packets to encrypt, write and decrypt. Larger requests
 * were measured worse: OpenSSH 9.2's sftp spends several times the CPU per MiB with 255 KiB
 * writes, and ssh2 corrupted the stream now and then when a multi-packet reply met a closed
 * window. Writes keep OpenSSH's own 32 KiB.
 */
const READ_LENGTH = 32 * 1024 - 13;
const WRITE_LENGTH = 32 * 1024;
/** Channel window kept open for the client's uploads (ssh2 would refill to 2 MiB only). */
const UPLOAD_WINDOW = 16 * 1024 * 1024;

/** STATUS_CODE number → name, the `code` label of failed requests (NO_SUCH_FILE…). */
const STATUS_NAME = new Map<number, string>(Object.entries(STATUS_CODE).map(([name, code]) => [code as number, name]));

/**
 * Metrics of one handle, recorded once when it closes: a file transfer (READ = opened for reading,
 * WRITE = opened for writing, through to the commit) or a directory listing (READDIR). Bytes are
 * summed per request (one addition, no recording per packet).
 */
interface HandleMeter {
  op: 'READ' | 'WRITE' | 'READDIR';
  t0: bigint;
  bytesIn: number;
  bytesOut: number;
  /** the first request on the handle that failed */
  error?: string;
}

type Handle =
  | { kind: 'read'; path: string; stat: FsStat; reader: SequentialReader; queue: Promise<unknown>; meter?: HandleMeter }
  | WriteHandle
  | { kind: 'dir'; path: string; sent: boolean; queue: Promise<unknown>; meter?: HandleMeter };

/** A handle open for writing: a sequential upload until it needs random access, then a spool. */
interface WriteHandle {
  kind: 'write';
  path: string;
  upload?: SequentialUpload;
  spool?: WriteSpool;
  append: boolean;
  queue: Promise<unknown>;
  meter?: HandleMeter;
}

function attrsOf(st: FsStat): Attributes {
  const t = Math.floor(st.mtime.getTime() / 1000);
  return {
    mode: st.type === 'dir' ? S_IFDIR | 0o755 : S_IFREG | 0o644,
    uid: 0,
    gid: 0,
    size: st.size,
    atime: t,
    mtime: t,
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function longname(st: FsStat): string {
  const d = st.mtime;
  const date = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${String(d.getUTCFullYear()).padStart(5)}`;
  const perms = st.type === 'dir' ? 'drwxr-xr-x' : '-rw-r--r--';
  return `${perms} 1 peerstor peerstor ${String(st.size).padStart(12)} ${date} ${st.name}`;
}

interface Internals {
  _protocol: {
    channelData(id: number, data: Buffer): void;
    channelWindowAdjust(id: number, amount: number): void;
    _kexinit: unknown;
    _packetRW: { write: { allocStart: number; alloc(size: number): Buffer; finalize(packet: Buffer): Buffer } };
    _cipher: { encrypt(packet: Buffer): void };
  };
  outgoing: { id: number; state: string; window: number; packetSize: number };
  incoming: { window: number };
  /** SFTP replies waiting for channel window, in order */
  _buffer: unknown[];
}

const SSH_MSG_CHANNEL_DATA = 94;

export interface SftpSessionInit {
  stores: TenantStores;
  log: Logger;
  spoolDir?: string;
  /** called with the size of each outgoing channel packet of the session (index.ts batches
   *  small replies into one socket write per tick) */
  beforeSend?: (size: number) => void;
  /**
   * Request metrics (protocol sftp), optional: one observation per file handle at CLOSE (READ /
   * WRITE with its bytes and open-to-close time; READDIR per listing) and one per metadata request
   * (STAT, LSTAT, FSTAT, SETSTAT, FSETSTAT, REMOVE, MKDIR, RMDIR, RENAME, REALPATH, EXTENDED).
   */
  metrics?: Metrics;
}

/** The `code` label of a failed SFTP request: the status sent (NO_SUCH_FILE, FAILURE…). */
function statusName(err: unknown): string {
  return STATUS_NAME.get(sftpStatus(err).code) ?? 'FAILURE';
}

export class SftpSession {
  readonly #sftp: SFTPWrapper;
  #view!: PathView;
  readonly #ready: Promise<void>;
  readonly #init: SftpSessionInit;
  readonly #handles = new Map<string, Handle>();
  readonly #pendingExtended = new Set<number>();
  /** commits of closed handles still running: sshfs does not wait for the CLOSE reply before
   *  it reopens or stats the file, so every later request waits for them first */
  readonly #commits = new Set<Promise<unknown>>();
  #pathQueue: Promise<void> = Promise.resolve();

  /** Must be called synchronously after accepting the subsystem: the client's INIT and first
   *  requests may already be queued, and ssh2 refuses requests that find no listener. */
  constructor(sftp: SFTPWrapper, view: Promise<PathView>, init: SftpSessionInit) {
    this.#sftp = sftp;
    this.#init = init;
    this.#ready = view.then((v) => {
      this.#view = v;
    });
    this.#ready.catch(() => sftp.end());
    this.#announceExtensions();
    this.#listen();
  }

  #listen(): void {
    const s = this.#sftp;
    s.on('OPEN', (id, path, flags) => this.#do(id, undefined, () => this.#open(id, path, flags)));
    s.on('READ', (id, h, offset, len) => this.#onHandle(id, h, (hd) => this.#read(id, hd, offset, len)));
    s.on('WRITE', (id, h, offset, data) => {
      this.#openWindow();
      this.#onHandle(id, h, (hd) => this.#write(id, hd, offset, data));
    });
    s.on('CLOSE', (id, h) => this.#onHandle(id, h, (hd) => this.#close(id, h, hd)));
    s.on('FSTAT', (id, h) => this.#onHandle(id, h, (hd) => this.#fstat(id, hd), 'FSTAT'));
    s.on('FSETSTAT', (id, h, attrs) => this.#onHandle(id, h, (hd) => this.#fsetstat(id, hd, attrs), 'FSETSTAT'));
    s.on('OPENDIR', (id, path) => this.#do(id, undefined, () => this.#opendir(id, path)));
    s.on('READDIR', (id, h) => this.#onHandle(id, h, (hd) => this.#readdir(id, hd)));
    s.on('STAT', (id, path) => this.#do(id, 'STAT', async () => this.#sftp.attrs(id, attrsOf(await this.#view.stat(path)))));
    s.on('LSTAT', (id, path) => this.#do(id, 'LSTAT', async () => this.#sftp.attrs(id, attrsOf(await this.#view.stat(path)))));
    s.on('SETSTAT', (id, path, attrs) => this.#do(id, 'SETSTAT', () => this.#setstat(id, path, attrs)));
    s.on('REMOVE', (id, path) => this.#do(id, 'REMOVE', async () => this.#ok(id, await this.#view.unlink(path))));
    s.on('MKDIR', (id, path) => this.#do(id, 'MKDIR', async () => this.#ok(id, await this.#view.mkdir(path))));
    s.on('RMDIR', (id, path) => this.#do(id, 'RMDIR', async () => this.#ok(id, await this.#view.rmdir(path))));
    s.on('RENAME', (id, from, to) => this.#do(id, 'RENAME', async () => this.#ok(id, await this.#view.rename(from, to, { overwrite: false }))));
    s.on('REALPATH', (id, path) =>
      this.#do(id, 'REALPATH', async () => {
        const p = resolveNavigation(path === '' ? '.' : path, '/');
        this.#sftp.name(id, [{ filename: p, longname: p, attrs: {} as Attributes }]);
      }),
    );
    s.on('READLINK', (id) => this.#sftp.status(id, STATUS_CODE.PERMISSION_DENIED, 'EPERM: symbolic links are not supported'));
    s.on('SYMLINK', (id) => this.#sftp.status(id, STATUS_CODE.PERMISSION_DENIED, 'EPERM: symbolic links are not supported'));
    s.on('EXTENDED', (id, name, data) => this.#do(id, 'EXTENDED', () => this.#extended(id, name, data)));
    s.on('error', (err: Error) => this.#init.log.debug({ err }, 'sftp session error'));
    // The client half-closed the channel (sftp -b ending early, a killed sshfs): close our side
    // too, or the client waits for it forever.
    s.on('end', () => s.end());
    s.on('close', () => this.#cleanup());
  }

  /**
   * Keeps the channel's receive window near UPLOAD_WINDOW. ssh2 tops it up to 2 MiB whenever it
   * falls to 1 MiB, which lets a client have at most 2 MiB in flight; a larger window keeps a
   * pipelined upload flowing while the event loop is busy. Flow control stays with the WRITE
   * replies: a client never has more requests out than it chose (OpenSSH: 64).
   */
  #openWindow(): void {
    const ch = this.#sftp as unknown as Internals;
    if (ch.outgoing.state !== 'open' || ch.incoming.window > UPLOAD_WINDOW / 2) return;
    const amount = UPLOAD_WINDOW - ch.incoming.window;
    ch.incoming.window += amount;
    ch._protocol.channelWindowAdjust(ch.outgoing.id, amount);
  }

  #announceExtensions(): void {
    const internals = this.#sftp as unknown as Internals;
    const proto = internals._protocol;
    const channelId = internals.outgoing.id;
    const original = proto.channelData.bind(proto);
    const beforeSend = this.#init.beforeSend;
    let versionSent = false;
    proto.channelData = (id: number, data: Buffer) => {
      beforeSend?.(data.length);
      if (id === channelId && !versionSent && data.length === 9 && data[4] === RESPONSE_VERSION) {
        versionSent = true;
        const parts: Buffer[] = [data.subarray(4, 9)];
        for (const [name, value] of EXTENSIONS) {
          for (const s of [name, value]) {
            const len = Buffer.alloc(4);
            len.writeUInt32BE(Buffer.byteLength(s));
            parts.push(len, Buffer.from(s));
          }
        }
        const body = Buffer.concat(parts);
        const head = Buffer.alloc(4);
        head.writeUInt32BE(body.length);
        return original(id, Buffer.concat([head, body]));
      }
      if (id === channelId && data.length >= 13 && data[4] === RESPONSE_DATA) {
        const reqId = data.readUInt32BE(5);
        if (this.#pendingExtended.delete(reqId)) {
          // DATA = len type id string(payload); EXTENDED_REPLY = len type id payload.
          const payload = data.subarray(13);
          const out = Buffer.alloc(9 + payload.length);
          out.writeUInt32BE(5 + payload.length, 0);
          out[4] = RESPONSE_EXTENDED_REPLY;
          out.writeUInt32BE(reqId, 5);
          payload.copy(out, 9);
          return original(id, out);
        }
      }
      return original(id, data);
    };
  }

  #observe(operation: string, t0: bigint, code: string, bytesIn = 0, bytesOut = 0): void {
    this.#init.metrics?.observeRequest({ protocol: 'sftp', operation, code, seconds: Number(process.hrtime.bigint() - t0) / 1e9, bytesIn, bytesOut });
  }

  #meter(op: HandleMeter['op'], t0: bigint): HandleMeter | undefined {
    return this.#init.metrics ? { op, t0, bytesIn: 0, bytesOut: 0 } : undefined;
  }

  /** Records a handle's transfer once (at CLOSE, or when the session ends with it open). */
  #finishMeter(m: HandleMeter | undefined, code?: string): void {
    if (!m) return;
    this.#observe(m.op, m.t0, code ?? m.error ?? 'OK', m.bytesIn, m.bytesOut);
  }

  #ok(id: number, _v?: unknown): void {
    this.#sftp.status(id, STATUS_CODE.OK);
  }

  #fail(id: number, err: unknown): void {
    const { code, message } = sftpStatus(err);
    if (code === STATUS_CODE.FAILURE) this.#init.log.debug({ err }, 'sftp request failed');
    try {
      this.#sftp.status(id, code, message);
    } catch {
      // The channel is gone; nothing left to answer.
    }
  }

  /**
   * Path requests run one after another in arrival order: sshfs pipelines a create (OPEN) and the
   * LSTAT of the new file, and must see the file; a rename or remove must see the commit of a
   * handle closed just before it.
   */
  #do(id: number, op: string | undefined, fn: () => Promise<void> | void): void {
    const t0 = op !== undefined && this.#init.metrics ? process.hrtime.bigint() : undefined;
    const next = this.#pathQueue
      .then(() => this.#ready)
      .then(() => this.#settled())
      .then(fn)
      .then(
        () => {
          if (t0 !== undefined) this.#observe(op!, t0, 'OK');
        },
        (err: unknown) => {
          if (t0 !== undefined) this.#observe(op!, t0, statusName(err));
          this.#fail(id, err);
        },
      );
    this.#pathQueue = next;
  }

  async #settled(): Promise<void> {
    while (this.#commits.size > 0) await Promise.allSettled([...this.#commits]);
  }

  /** `op` names a metadata request observed on its own; transfers are observed per handle. */
  #onHandle(id: number, raw: Buffer, fn: (h: Handle) => Promise<void> | void, op?: string): void {
    const h = this.#handles.get(raw.toString('hex'));
    if (!h) {
      this.#sftp.status(id, STATUS_CODE.FAILURE, 'invalid handle');
      return;
    }
    const t0 = op !== undefined && this.#init.metrics ? process.hrtime.bigint() : undefined;
    const next = h.queue
      .then(() => fn(h))
      .then(
        () => {
          if (t0 !== undefined) this.#observe(op!, t0, 'OK');
        },
        (err: unknown) => {
          if (t0 !== undefined) this.#observe(op!, t0, statusName(err));
          else if (h.meter) h.meter.error ??= statusName(err);
          this.#fail(id, err);
        },
      );
    h.queue = next;
  }

  #newHandle(h: Handle): Buffer {
    const raw = randomBytes(8);
    this.#handles.set(raw.toString('hex'), h);
    return raw;
  }

  async #open(id: number, path: string, flags: number): Promise<void> {
    const write = (flags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND)) !== 0;
    const t0 = this.#init.metrics ? process.hrtime.bigint() : 0n;
    try {
      await this.#openHandle(id, path, flags, write, this.#meter(write ? 'WRITE' : 'READ', t0));
    } catch (err) {
      // a transfer that never got a handle is still one failed READ / WRITE
      if (this.#init.metrics) this.#observe(write ? 'WRITE' : 'READ', t0, statusName(err));
      throw err;
    }
  }

  async #openHandle(id: number, path: string, flags: number, write: boolean, meter: HandleMeter | undefined): Promise<void> {
    if (!write) {
      const stat = await this.#view.stat(path);
      if (stat.type !== 'file') throw new FsError('EISDIR', `${stat.path} is a folder`);
      const reader = new SequentialReader(this.#view, stat.path, stat.size);
      this.#sftp.handle(id, this.#newHandle({ kind: 'read', path: stat.path, stat, reader, queue: Promise.resolve(), meter }));
      return;
    }
    const create = (flags & OPEN_MODE.CREAT) !== 0;
    const truncate = (flags & OPEN_MODE.TRUNC) !== 0;
    const exclusive = (flags & OPEN_MODE.EXCL) !== 0;
    const append = (flags & OPEN_MODE.APPEND) !== 0;
    const exists = await this.#view.exists(path);
    if (!create && !exists) throw new FsError('ENOENT', `${path}: no such file`);
    const h: WriteHandle = { kind: 'write', path, append, queue: Promise.resolve(), meter };
    // A write-only handle on an empty (new or truncated) file streams into the store; one that
    // keeps content, appends or may read back needs random access, hence the spool.
    if (!append && (flags & OPEN_MODE.READ) === 0 && (truncate || !exists)) {
      const p = await this.#view.checkWritable(path);
      if (exists && exclusive) throw new FsError('EEXIST', `${p.path} exists`);
      h.path = p.path;
      h.upload = new SequentialUpload(this.#view, p.path);
    } else {
      h.spool = await WriteSpool.open(this.#view, path, { truncate, exclusive, dir: this.#init.spoolDir });
      h.path = h.spool.path;
    }
    if (!exists) {
      // O_CREAT makes the file exist at once (POSIX), so a client that stats or lists it before
      // closing (sshfs, borg) finds it; the content arrives when the handle is closed.
      await this.#view.write(h.path, emptyBody(), { expectedSize: 0 }).catch(async (err: unknown) => {
        await (h.spool ?? h.upload)?.abort();
        throw err;
      });
    }
    this.#sftp.handle(id, this.#newHandle(h));
  }

  /** Moves a write handle from its sequential upload to a spool (random access from now on).
   *  Only possible while the store has none of the upload's bytes. */
  async #toSpool(h: WriteHandle, why: string): Promise<WriteSpool> {
    if (h.spool) return h.spool;
    const upload = h.upload!;
    if (upload.started) {
      // The bytes before it are in the store's hands and gone from here: the file cannot become
      // what the client meant, so it is not stored at all (close fails too).
      const err = new FsError('EIO', `${h.path}: ${why} after the sequential upload began; open the file read-write for random access`);
      await upload.abort(err);
      throw err;
    }
    const buffered = upload.takeBuffered();
    h.upload = undefined;
    // The file was new or truncated, so the spool starts empty.
    const spool = await WriteSpool.open(this.#view, h.path, { truncate: true, dir: this.#init.spoolDir });
    h.spool = spool;
    for (const [offset, data] of buffered) await spool.write(offset, data);
    return spool;
  }

  async #read(id: number, h: Handle, offset: number, requested: number): Promise<void> {
    if (h.kind === 'dir') throw new FsError('EISDIR', 'handle is a folder');
    // Shorter than asked is allowed (the client asks again for the rest); the reply must fit the
    // client's packet limit.
    const len = Math.min(requested, MAX_PACKET - 1024);
    const data = h.kind === 'read' ? await h.reader.read(offset, len) : await (await this.#toSpool(h, 'a read')).read(offset, len);
    if (data.length === 0) this.#sftp.status(id, STATUS_CODE.EOF);
    else {
      if (h.meter) h.meter.bytesOut += data.length;
      this.#sendData(id, data);
    }
  }

  /**
   * A DATA reply (§7) that fits one SSH packet and the open window is framed straight into that
   * packet: ssh2's `data()` copies the payload into a reply buffer that `channelData` then copies
   * into the packet (two 32 KiB allocations and copies per reply, a quarter of the download
   * CPU). Anything else (replies already waiting for window, a key exchange in progress, a
   * packet that would use up the window or exceed the client's packet size) takes ssh2's path,
   * which keeps replies in order. Mirrors ssh2 1.17's Protocol.channelData.
   */
  #sendData(id: number, data: Buffer): void {
    const ch = this.#sftp as unknown as Internals;
    const proto = ch._protocol;
    const msgLen = 13 + data.length;
    const out = ch.outgoing;
    if (
      ch._buffer.length > 0 ||
      out.state !== 'open' ||
      out.window <= msgLen ||
      msgLen > out.packetSize ||
      proto._kexinit !== undefined ||
      this.#pendingExtended.size > 0
    ) {
      this.#sftp.data(id, data);
      return;
    }
    const writer = proto._packetRW.write;
    let p = writer.allocStart;
    const packet = writer.alloc(1 + 4 + 4 + msgLen);
    packet[p] = SSH_MSG_CHANNEL_DATA;
    packet.writeUInt32BE(out.id, p + 1);
    packet.writeUInt32BE(msgLen, p + 5);
    p += 9;
    packet.writeUInt32BE(msgLen - 4, p);
    packet[p + 4] = RESPONSE_DATA;
    packet.writeUInt32BE(id, p + 5);
    packet.writeUInt32BE(data.length, p + 9);
    packet.set(data, p + 13);
    // Strictly less than the window was checked, so ssh2's "window exhausted" state is untouched.
    out.window -= msgLen;
    proto._cipher.encrypt(writer.finalize(packet));
  }

  async #write(id: number, h: Handle, offset: number, data: Buffer): Promise<void> {
    if (h.kind !== 'write') throw new FsError('EACCES', 'handle not open for writing');
    if (h.meter) h.meter.bytesIn += data.length;
    if (h.upload) {
      try {
        await h.upload.write(offset, data);
        this.#ok(id);
        return;
      } catch (err) {
        if (!(err instanceof NotSequentialError)) throw err;
        await this.#toSpool(h, err.message);
      }
    }
    const spool = h.spool!;
    if (h.append) await spool.append(data);
    else await spool.write(offset, data);
    this.#ok(id);
  }

  async #close(id: number, raw: Buffer, h: Handle): Promise<void> {
    this.#handles.delete(raw.toString('hex'));
    if (h.kind === 'read') h.reader.close();
    if (h.kind === 'write') {
      const commit = h.upload ? h.upload.finish() : h.spool!.commit();
      this.#commits.add(commit);
      try {
        await commit;
      } catch (err) {
        this.#finishMeter(h.meter, statusName(err));
        throw err;
      } finally {
        this.#commits.delete(commit);
      }
    }
    this.#finishMeter(h.meter);
    this.#ok(id);
  }

  async #fstat(id: number, h: Handle): Promise<void> {
    if (h.kind === 'write') {
      const size = h.upload?.size ?? h.spool!.size;
      this.#sftp.attrs(id, attrsOf({ path: h.path, name: h.path, type: 'file', size, mtime: new Date(), kind: 'file' }));
      return;
    }
    this.#sftp.attrs(id, attrsOf(h.kind === 'read' ? h.stat : await this.#view.stat(h.path)));
  }

  async #fsetstat(id: number, h: Handle, attrs: Attributes): Promise<void> {
    // Times and permissions are accepted and not kept (objects carry their own mtime); a size
    // truncates or extends a file being written.
    if (attrs.size !== undefined && h.kind === 'write') {
      // Truncating to the current size (sshfs after an O_TRUNC open) keeps the upload streaming.
      if (!(h.upload && attrs.size === h.upload.size)) await (await this.#toSpool(h, 'a truncation')).truncate(attrs.size);
    }
    else if (attrs.size !== undefined && h.kind === 'read' && attrs.size !== h.stat.size) throw new FsError('EACCES', 'handle not open for writing');
    this.#ok(id);
  }

  async #setstat(id: number, path: string, attrs: Attributes): Promise<void> {
    const st = await this.#view.stat(path);
    if (attrs.size !== undefined && st.type === 'file' && attrs.size !== st.size) {
      const spool = await WriteSpool.open(this.#view, path, { truncate: attrs.size === 0, dir: this.#init.spoolDir });
      try {
        await spool.truncate(attrs.size);
        await spool.commit();
      } catch (err) {
        await spool.abort();
        throw err;
      }
    }
    this.#ok(id);
  }

  async #opendir(id: number, path: string): Promise<void> {
    const t0 = this.#init.metrics ? process.hrtime.bigint() : 0n;
    let st: FsStat;
    try {
      st = await this.#view.stat(path);
      if (st.type !== 'dir') throw new FsError('ENOTDIR', `${st.path} is a file`);
    } catch (err) {
      if (this.#init.metrics) this.#observe('READDIR', t0, statusName(err));
      throw err;
    }
    this.#sftp.handle(id, this.#newHandle({ kind: 'dir', path: st.path, sent: false, queue: Promise.resolve(), meter: this.#meter('READDIR', t0) }));
  }

  async #readdir(id: number, h: Handle): Promise<void> {
    if (h.kind !== 'dir') throw new FsError('ENOTDIR', 'handle is not a folder');
    if (h.sent) {
      this.#sftp.status(id, STATUS_CODE.EOF);
      return;
    }
    h.sent = true;
    const entries = await this.#view.list(h.path);
    const self = await this.#view.stat(h.path);
    const names = [
      { filename: '.', longname: longname({ ...self, name: '.' }), attrs: attrsOf(self) },
      { filename: '..', longname: longname({ ...self, name: '..' }), attrs: attrsOf(self) },
      ...entries.map((e) => ({ filename: e.name, longname: longname(e), attrs: attrsOf(e) })),
    ];
    this.#sftp.name(id, names);
  }

  async #extended(id: number, name: string, data: Buffer | undefined): Promise<void> {
    const strings = (buf: Buffer | undefined, n: number): string[] => {
      const out: string[] = [];
      let p = 0;
      for (let i = 0; i < n; i++) {
        if (!buf || p + 4 > buf.length) throw new FsError('EINVAL', 'malformed request');
        const len = buf.readUInt32BE(p);
        if (p + 4 + len > buf.length) throw new FsError('EINVAL', 'malformed request');
        out.push(buf.toString('utf8', p + 4, p + 4 + len));
        p += 4 + len;
      }
      return out;
    };
    switch (name) {
      case 'posix-rename@openssh.com': {
        const [from, to] = strings(data, 2);
        await this.#view.rename(from, to, { overwrite: true });
        this.#ok(id);
        return;
      }
      case 'statvfs@openssh.com': {
        const [path] = strings(data, 1);
        await this.#view.stat(path);
        const cap = await this.#init.stores.capacity();
        const bsize = 4096;
        const reply = Buffer.alloc(11 * 8);
        const fields = [bsize, bsize, Math.floor(cap.total / bsize), Math.floor(cap.free / bsize), Math.floor(cap.free / bsize), 1 << 30, 1 << 30, 1 << 30, 0, 0, 255];
        fields.forEach((v, i) => reply.writeBigUInt64BE(BigInt(Math.max(0, v)), i * 8));
        this.#pendingExtended.add(id);
        this.#sftp.data(id, reply);
        return;
      }
      case 'limits@openssh.com': {
        // max-packet-length, max-read-length, max-write-length, max-open-handles (0: no limit).
        const reply = Buffer.alloc(4 * 8);
        [MAX_PACKET, READ_LENGTH, WRITE_LENGTH, 0].forEach((v, i) => reply.writeBigUInt64BE(BigInt(v), i * 8));
        this.#pendingExtended.add(id);
        this.#sftp.data(id, reply);
        return;
      }
      case 'fsync@openssh.com':
        // Data is committed (durably) when the handle is closed; nothing to force earlier.
        this.#ok(id);
        return;
      default:
        this.#sftp.status(id, STATUS_CODE.OP_UNSUPPORTED, `${name} is not supported`);
    }
  }

  #cleanup(): void {
    for (const h of this.#handles.values()) {
      this.#finishMeter(h.meter, 'Aborted');
      // A connection lost mid-write must not publish a half-written file.
      if (h.kind === 'write') void (h.upload ?? h.spool)?.abort();
      if (h.kind === 'read') h.reader.close();
    }
    this.#handles.clear();
  }
}

async function* emptyBody(): AsyncIterable<Uint8Array> {}
