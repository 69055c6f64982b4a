/**
 * The metadata index: one SQLite database (better-sqlite3, synchronous API) holding tenants,
 * buckets, object versions with their chunk lists, reference-counted chunks, fragment placements,
 * multipart uploads and known peers. Every method is one prepared statement or one transaction.
 *
 * Durability: WAL with synchronous=FULL, so a commit is fsync'd to the WAL before it returns: an
 * acknowledged put survives power loss, not only a process crash (NORMAL would only lose the last
 * commits on power loss, but "acknowledged" must mean durable). Checkpoints run automatically.
 *
 * Contract: callers group the statements of one logical change with `tx()` (nested calls join the
 * outer transaction). Keys are passed as UTF-8 Buffers (see schema.ts).
 */
import Database from 'better-sqlite3';
import { StoreError } from '../core/errors.js';
import { MIGRATIONS } from './schema.js';

type DB = Database.Database;
type Stmt = Database.Statement;

export const VersionState = { uploading: 0, complete: 1, deleted: 2 } as const;

export interface TenantRow {
  id: number;
  accessKey: string;
  wrappedKey: Buffer;
}

export interface BucketRow {
  id: number;
  name: string;
  created: number;
}

export interface VersionRow {
  id: number;
  bucket: number;
  key: Buffer;
  state: number;
  size: number;
  etag: string;
  created: number;
  modified: number;
  meta: string;
  inlineData: Buffer | null;
}

export interface ChunkRow {
  id: number;
  tenant: number;
  chunkId: Buffer;
  plainSize: number;
  sealedSize: number;
  compressed: boolean;
  k: number;
  n: number;
  refs: number;
  deadSince: number | null;
}

export interface FragmentRow {
  idx: number;
  fragmentId: string;
  size: number;
  peer: string;
  state: number;
}

/** A chunk whose fragments were written, about to be referenced from the index. */
export interface NewChunk {
  chunkId: Buffer;
  plainSize: number;
  sealedSize: number;
  compressed: boolean;
  k: number;
  n: number;
  /** `missing`: its put failed on every holder tried (write quorum met without it); recorded in
   *  state 1 with the last holder tried, so repair rebuilds it */
  fragments: { idx: number; fragmentId: string; size: number; peer: string; missing?: boolean }[];
}

/** One entry of a version's (or a part's) chunk list. */
export interface ChunkEntry extends ChunkRow {
  offset: number;
}

export interface UploadRow {
  id: number;
  uploadId: string;
  bucket: number;
  key: Buffer;
  created: number;
  meta: string;
}

export interface PartRow {
  partNumber: number;
  size: number;
  etag: string;
  modified: number;
  checksum: string | null;
  seam: string;
}

export interface PeerRow {
  id: string;
  host: string;
  addrs: string;
  lastSeen: number;
}

const CHUNK_COLS = `c.id AS id, c.tenant AS tenant, c.chunk_id AS chunkId, c.plain_size AS plainSize, c.sealed_size AS sealedSize,
  c.compressed AS compressed, c.k AS k, c.n AS n, c.refs AS refs, c.dead_since AS deadSince`;
const VERSION_COLS = `id, bucket, key, state, size, etag, created, modified, meta, inline_data AS inlineData`;

function chunkRow(r: ChunkRow | undefined): ChunkRow | undefined {
  if (r) r.compressed = Boolean(r.compressed);
  return r;
}

export class MetaIndex {
  readonly db: DB;
  readonly #s: Record<string, Stmt>;

  private constructor(db: DB) {
    this.db = db;
    const p = (sql: string): Stmt => db.prepare(sql);
    this.#s = {
      tenantByKey: p('SELECT id, access_key AS accessKey, wrapped_key AS wrappedKey FROM tenants WHERE access_key = ?'),
      insertTenant: p('INSERT INTO tenants (access_key, wrapped_key, created) VALUES (?, ?, ?)'),
      updateTenantKey: p('UPDATE tenants SET wrapped_key = ? WHERE id = ?'),

      bucketByName: p('SELECT id, name, created FROM buckets WHERE tenant = ? AND name = ?'),
      insertBucket: p('INSERT OR IGNORE INTO buckets (tenant, name, created) VALUES (?, ?, ?)'),
      listBuckets: p('SELECT id, name, created FROM buckets WHERE tenant = ? ORDER BY name'),
      deleteBucket: p('DELETE FROM buckets WHERE id = ?'),
      bucketHasObject: p('SELECT 1 FROM versions WHERE bucket = ? AND state = 1 LIMIT 1'),
      bucketHasUpload: p('SELECT 1 FROM uploads WHERE bucket = ? LIMIT 1'),

      liveVersion: p(`SELECT ${VERSION_COLS} FROM versions WHERE bucket = ? AND key = ? AND state = 1`),
      versionById: p(`SELECT ${VERSION_COLS} FROM versions WHERE id = ?`),
      insertVersion: p(`INSERT INTO versions (bucket, key, state, size, etag, created, modified, meta, inline_data)
        VALUES (@bucket, @key, @state, @size, @etag, @created, @modified, @meta, @inlineData)`),
      completeVersion: p(`UPDATE versions SET state = 1, size = @size, etag = @etag, modified = @modified, meta = @meta,
        inline_data = @inlineData WHERE id = @id`),
      setVersionMeta: p('UPDATE versions SET meta = ? WHERE id = ?'),
      setState: p('UPDATE versions SET state = ? WHERE id = ?'),
      moveVersion: p('UPDATE versions SET bucket = ?, key = ? WHERE id = ?'),
      deleteVersionRow: p('DELETE FROM versions WHERE id = ?'),
      versionChunkCounts: p('SELECT chunk, count(*) AS n FROM version_chunks WHERE version = ? GROUP BY chunk'),
      deleteVersionChunks: p('DELETE FROM version_chunks WHERE version = ?'),
      insertVersionChunk: p('INSERT INTO version_chunks (version, offset, chunk) VALUES (?, ?, ?)'),
      firstChunkOffset: p('SELECT max(offset) AS o FROM version_chunks WHERE version = ? AND offset <= ?'),
      versionChunksFrom: p(`SELECT vc.offset AS offset, ${CHUNK_COLS} FROM version_chunks vc JOIN chunks c ON c.id = vc.chunk
        WHERE vc.version = ? AND vc.offset >= ? ORDER BY vc.offset LIMIT ?`),
      scanLiveFrom: p(`SELECT key, size, etag, modified FROM versions
        WHERE bucket = ? AND state = 1 AND key >= ? ORDER BY key LIMIT ?`),
      scanLiveAfter: p(`SELECT key, size, etag, modified FROM versions
        WHERE bucket = ? AND state = 1 AND key > ? ORDER BY key LIMIT ?`),
      liveUnderPrefix: p(`SELECT ${VERSION_COLS} FROM versions WHERE bucket = ? AND state = 1 AND key >= ? AND key < ? ORDER BY key`),
      liveAll: p(`SELECT ${VERSION_COLS} FROM versions WHERE bucket = ? AND state = 1 AND key >= ? ORDER BY key`),
      notLiveVersions: p(`SELECT ${VERSION_COLS} FROM versions WHERE state <> 1`),

      chunkById: p(`SELECT ${CHUNK_COLS} FROM chunks c WHERE c.tenant = ? AND c.chunk_id = ?`),
      chunkByRow: p(`SELECT ${CHUNK_COLS} FROM chunks c WHERE c.id = ?`),
      insertChunk: p(`INSERT INTO chunks (tenant, chunk_id, plain_size, sealed_size, compressed, k, n, refs, dead_since)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)`),
      addRefs: p('UPDATE chunks SET refs = refs + ?, dead_since = NULL WHERE id = ?'),
      releaseRefs: p(`UPDATE chunks SET refs = refs - @n,
        dead_since = CASE WHEN refs - @n <= 0 THEN @now ELSE dead_since END WHERE id = @id`),
      insertFragment: p('INSERT OR REPLACE INTO fragments (chunk, idx, fragment_id, size, peer, state) VALUES (?, ?, ?, ?, ?, ?)'),
      chunkFragments: p('SELECT idx, fragment_id AS fragmentId, size, peer, state FROM fragments WHERE chunk = ? ORDER BY idx'),
      deadChunks: p(`SELECT ${CHUNK_COLS} FROM chunks c WHERE c.dead_since IS NOT NULL AND c.dead_since <= ? AND c.refs <= 0 LIMIT ?`),
      deleteChunkRow: p('DELETE FROM chunks WHERE id = ? AND refs <= 0'),
      deleteChunkFragments: p('DELETE FROM fragments WHERE chunk = ?'),
      hasFragment: p('SELECT 1 FROM fragments WHERE fragment_id = ? LIMIT 1'),
      stats: p(`SELECT (SELECT count(*) FROM chunks) AS chunks, (SELECT count(*) FROM fragments) AS fragments,
        (SELECT count(*) FROM versions WHERE state = 1) AS objects, (SELECT coalesce(sum(refs), 0) FROM chunks) AS refs`),

      insertUpload: p('INSERT INTO uploads (upload_id, bucket, key, created, meta) VALUES (?, ?, ?, ?, ?)'),
      uploadById: p('SELECT id, upload_id AS uploadId, bucket, key, created, meta FROM uploads WHERE upload_id = ?'),
      deleteUpload: p('DELETE FROM uploads WHERE id = ?'),
      uploadsFrom: p(`SELECT id, upload_id AS uploadId, bucket, key, created, meta FROM uploads
        WHERE bucket = ? AND (key > ? OR (key = ? AND upload_id > ?)) ORDER BY key, upload_id LIMIT ?`),
      uploadsFromKey: p(`SELECT id, upload_id AS uploadId, bucket, key, created, meta FROM uploads
        WHERE bucket = ? AND key >= ? ORDER BY key, upload_id LIMIT ?`),
      partRow: p('SELECT part_number AS partNumber, size, etag, modified, checksum, seam FROM parts WHERE upload = ? AND part_number = ?'),
      partsFrom: p(`SELECT part_number AS partNumber, size, etag, modified, checksum, seam FROM parts
        WHERE upload = ? AND part_number > ? ORDER BY part_number LIMIT ?`),
      allParts: p('SELECT part_number AS partNumber, size, etag, modified, checksum, seam FROM parts WHERE upload = ? ORDER BY part_number'),
      insertPart: p('INSERT OR REPLACE INTO parts (upload, part_number, size, etag, modified, checksum, seam) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      deletePart: p('DELETE FROM parts WHERE upload = ? AND part_number = ?'),
      deleteParts: p('DELETE FROM parts WHERE upload = ?'),
      partChunkCounts: p('SELECT chunk, count(*) AS n FROM part_chunks WHERE upload = ? AND part_number = ? GROUP BY chunk'),
      uploadChunkCounts: p('SELECT chunk, count(*) AS n FROM part_chunks WHERE upload = ? GROUP BY chunk'),
      deletePartChunks: p('DELETE FROM part_chunks WHERE upload = ? AND part_number = ?'),
      deleteUploadChunks: p('DELETE FROM part_chunks WHERE upload = ?'),
      insertPartChunk: p('INSERT INTO part_chunks (upload, part_number, offset, chunk) VALUES (?, ?, ?, ?)'),
      partChunks: p(`SELECT pc.offset AS offset, ${CHUNK_COLS} FROM part_chunks pc JOIN chunks c ON c.id = pc.chunk
        WHERE pc.upload = ? AND pc.part_number = ? ORDER BY pc.offset`),
      allSpool: p('SELECT seam FROM parts'),

      degradedChunks: p(`SELECT ${CHUNK_COLS} FROM chunks c WHERE c.id > ? AND c.refs > 0 AND
        (SELECT count(*) FROM fragments f WHERE f.chunk = c.id AND f.state = 0
          AND f.peer NOT IN (SELECT value FROM json_each(?))) < c.n ORDER BY c.id LIMIT ?`),
      chunkHealth: p(`SELECT count(*) AS total, sum(live >= n) AS healthy, sum(live < n AND live >= k) AS degraded,
        sum(live < k) AS lost FROM (SELECT c.k AS k, c.n AS n,
          (SELECT count(*) FROM fragments f WHERE f.chunk = c.id AND f.state = 0
            AND f.peer NOT IN (SELECT value FROM json_each(?))) AS live
        FROM chunks c WHERE c.refs > 0)`),
      // peers as a JSON array: the non-correlated IN list is built once per statement run, so a chunk
      // costs a primary-key range scan of its n fragment rows and a lookup per row
      unreadableChunks: p(`SELECT vc.offset AS offset, ${CHUNK_COLS} FROM (
          SELECT offset, chunk FROM version_chunks WHERE version = @version
            AND offset >= coalesce((SELECT max(offset) FROM version_chunks WHERE version = @version AND offset <= @start), 0)
            AND offset <= @end ORDER BY offset LIMIT @maxChunks) vc
        JOIN chunks c ON c.id = vc.chunk
        WHERE (SELECT count(*) FROM fragments f WHERE f.chunk = c.id AND f.state = 0
          AND f.peer IN (SELECT value FROM json_each(@live))) < c.k
        ORDER BY vc.offset`),
      moveFragment: p('UPDATE fragments SET fragment_id = ?, peer = ?, state = 0 WHERE chunk = ? AND idx = ?'),
      markFragmentMissing: p('UPDATE fragments SET state = 1 WHERE chunk = ? AND idx = ? AND fragment_id = ?'),
      storedFragments: p(`SELECT f.chunk AS chunk, f.idx AS idx, f.fragment_id AS fragmentId, f.size AS size, f.peer AS peer, f.state AS state
        FROM fragments f JOIN chunks c ON c.id = f.chunk
        WHERE c.refs > 0 AND f.state = 0 AND (f.chunk > ? OR (f.chunk = ? AND f.idx > ?)) ORDER BY f.chunk, f.idx LIMIT ?`),

      upsertPeer: p('INSERT OR REPLACE INTO peers (id, host, addrs, last_seen) VALUES (?, ?, ?, ?)'),
      listPeers: p('SELECT id, host, addrs, last_seen AS lastSeen FROM peers ORDER BY id'),
    };
  }

  /** Opens (creating) the index at `file` and runs missing migrations. ':memory:' works for tests. */
  static open(file: string): MetaIndex {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = OFF'); // integrity is kept by the transactions below; FK checks cost on every insert
    db.pragma('busy_timeout = 5000');
    migrate(db);
    return new MetaIndex(db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Runs fn in one transaction (joins an enclosing one). Throws what fn throws, after rolling back. */
  tx<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  // ---- tenants ---------------------------------------------------------------------------------
  tenant(accessKey: string): TenantRow | undefined {
    return this.#s.tenantByKey.get(accessKey) as TenantRow | undefined;
  }

  /** Inserts the tenant unless it exists; returns the stored row either way (first writer wins). */
  createTenant(accessKey: string, wrappedKey: Buffer, now: number): TenantRow {
    return this.tx(() => {
      const existing = this.tenant(accessKey);
      if (existing) return existing;
      this.#s.insertTenant.run(accessKey, wrappedKey, now);
      return this.tenant(accessKey)!;
    });
  }

  setTenantKey(tenant: number, wrappedKey: Buffer): void {
    this.#s.updateTenantKey.run(wrappedKey, tenant);
  }

  // ---- buckets ---------------------------------------------------------------------------------
  bucket(tenant: number, name: string): BucketRow | undefined {
    return this.#s.bucketByName.get(tenant, name) as BucketRow | undefined;
  }

  /** false when the bucket already exists */
  createBucket(tenant: number, name: string, now: number): boolean {
    return this.#s.insertBucket.run(tenant, name, now).changes === 1;
  }

  buckets(tenant: number): BucketRow[] {
    return this.#s.listBuckets.all(tenant) as BucketRow[];
  }

  /** BucketNotEmpty when it holds live objects or multipart uploads. */
  deleteBucket(bucket: number): void {
    this.tx(() => {
      if (this.#s.bucketHasObject.get(bucket) || this.#s.bucketHasUpload.get(bucket)) {
        throw new StoreError('BucketNotEmpty', 'the bucket is not empty');
      }
      this.#s.deleteBucket.run(bucket);
    });
  }

  // ---- versions --------------------------------------------------------------------------------
  live(bucket: number, key: Buffer): VersionRow | undefined {
    return this.#s.liveVersion.get(bucket, key) as VersionRow | undefined;
  }

  version(id: number): VersionRow | undefined {
    return this.#s.versionById.get(id) as VersionRow | undefined;
  }

  /** Records a put in flight (state uploading), so a crash leaves a trace that open() cleans. */
  beginVersion(bucket: number, key: Buffer, now: number): number {
    return Number(
      this.#s.insertVersion.run({ bucket, key, state: VersionState.uploading, size: 0, etag: '', created: now, modified: now, meta: '{}', inlineData: null })
        .lastInsertRowid,
    );
  }

  /**
   * Makes a version live (call inside tx): the previous live version of bucket/key is removed and
   * its chunk references released; `chunks` (ordered, with offsets) each take one reference.
   * `id` is a version from beginVersion, or undefined to insert a new row (inline objects, copies).
   */
  commitVersion(v: {
    id?: number;
    bucket: number;
    key: Buffer;
    size: number;
    etag: string;
    meta: string;
    inlineData: Buffer | null;
    chunks: { offset: number; chunk: number }[];
    now: number;
    created?: number;
  }): number {
    return this.tx(() => {
      const prev = this.live(v.bucket, v.key);
      if (prev) this.dropVersion(prev.id, v.now);
      let id = v.id;
      if (id === undefined) {
        id = Number(
          this.#s.insertVersion.run({
            bucket: v.bucket, key: v.key, state: VersionState.complete, size: v.size, etag: v.etag,
            created: v.created ?? v.now, modified: v.now, meta: v.meta, inlineData: v.inlineData,
          }).lastInsertRowid,
        );
      } else {
        this.#s.completeVersion.run({ id, size: v.size, etag: v.etag, modified: v.now, meta: v.meta, inlineData: v.inlineData });
      }
      const counts = new Map<number, number>();
      for (const c of v.chunks) {
        this.#s.insertVersionChunk.run(id, c.offset, c.chunk);
        counts.set(c.chunk, (counts.get(c.chunk) ?? 0) + 1);
      }
      for (const [chunk, n] of counts) this.#s.addRefs.run(n, chunk);
      return id;
    });
  }

  /** Removes a version row and releases its chunk references (chunks at 0 get dead_since = now). */
  dropVersion(id: number, now: number): void {
    this.tx(() => {
      for (const r of this.#s.versionChunkCounts.all(id) as { chunk: number; n: number }[]) {
        this.#s.releaseRefs.run({ n: r.n, now, id: r.chunk });
      }
      this.#s.deleteVersionChunks.run(id);
      this.#s.deleteVersionRow.run(id);
    });
  }

  setMeta(version: number, meta: string): void {
    this.#s.setVersionMeta.run(meta, version);
  }

  /** Metadata-only move; replaces a live version at the destination (call inside tx). */
  moveVersion(id: number, bucket: number, key: Buffer, now: number): void {
    this.tx(() => {
      const dest = this.live(bucket, key);
      if (dest && dest.id !== id) this.dropVersion(dest.id, now);
      this.#s.moveVersion.run(bucket, key, id);
    });
  }

  /**
   * Moves several versions at once (folder rename): sources first leave the live set, so a move
   * onto another source's old key never drops a version that is itself being moved (call in tx).
   */
  moveMany(moves: { id: number; bucket: number; key: Buffer }[], now: number): void {
    this.tx(() => {
      for (const m of moves) this.#s.setState.run(VersionState.deleted, m.id);
      for (const m of moves) {
        const dest = this.live(m.bucket, m.key);
        if (dest) this.dropVersion(dest.id, now);
        this.#s.moveVersion.run(m.bucket, m.key, m.id);
        this.#s.setState.run(VersionState.complete, m.id);
      }
    });
  }

  /** Live versions of `bucket` whose key starts with `prefix` (for renamePrefix). */
  liveUnder(bucket: number, prefix: Buffer, upper: Buffer | undefined): VersionRow[] {
    return (upper ? this.#s.liveUnderPrefix.all(bucket, prefix, upper) : this.#s.liveAll.all(bucket, prefix)) as VersionRow[];
  }

  /** Up to `limit` live versions in key byte order from `from` (inclusive, or exclusive when `after`). */
  scanLive(bucket: number, from: Buffer, after: boolean, limit: number): { key: Buffer; size: number; etag: string; modified: number }[] {
    return (after ? this.#s.scanLiveAfter : this.#s.scanLiveFrom).all(bucket, from, limit) as {
      key: Buffer;
      size: number;
      etag: string;
      modified: number;
    }[];
  }

  /** The chunk entries of a version covering offsets ≥ `from`'s chunk, at most `limit` of them. */
  versionChunks(version: number, from: number, limit: number): ChunkEntry[] {
    const first = (this.#s.firstChunkOffset.get(version, from) as { o: number | null }).o ?? 0;
    const rows = this.#s.versionChunksFrom.all(version, first, limit) as ChunkEntry[];
    for (const r of rows) r.compressed = Boolean(r.compressed);
    return rows;
  }

  /** Versions not live (uploading ones left by a crash). */
  notLive(): VersionRow[] {
    return this.#s.notLiveVersions.all() as VersionRow[];
  }

  // ---- chunks and fragments --------------------------------------------------------------------
  chunk(tenant: number, chunkId: Buffer): ChunkRow | undefined {
    return chunkRow(this.#s.chunkById.get(tenant, chunkId) as ChunkRow | undefined);
  }

  chunkByRow(id: number): ChunkRow | undefined {
    return chunkRow(this.#s.chunkByRow.get(id) as ChunkRow | undefined);
  }

  /**
   * Returns the row id of the tenant's chunk, inserting it with its fragment placements when it is
   * new (call inside tx). References are added by commitVersion / addPart, not here: a new row
   * starts at refs 0 with dead_since NULL, and is only ever left at 0 inside a transaction.
   */
  ensureChunk(tenant: number, c: NewChunk): number {
    const existing = this.#s.chunkById.get(tenant, c.chunkId) as ChunkRow | undefined;
    if (existing) return existing.id;
    const id = Number(
      this.#s.insertChunk.run(tenant, c.chunkId, c.plainSize, c.sealedSize, c.compressed ? 1 : 0, c.k, c.n, 0).lastInsertRowid,
    );
    for (const f of c.fragments) this.#s.insertFragment.run(id, f.idx, f.fragmentId, f.size, f.peer, f.missing ? 1 : 0);
    return id;
  }

  fragments(chunk: number): FragmentRow[] {
    return this.#s.chunkFragments.all(chunk) as FragmentRow[];
  }

  /** Chunks with no references since at least `before`. */
  deadChunks(before: number, limit: number): ChunkRow[] {
    const rows = this.#s.deadChunks.all(before, limit) as ChunkRow[];
    for (const r of rows) r.compressed = Boolean(r.compressed);
    return rows;
  }

  /** Deletes a chunk row (only while unreferenced) and its placements; returns them, or undefined if still referenced. */
  deleteDeadChunk(id: number): FragmentRow[] | undefined {
    return this.tx(() => {
      const frags = this.fragments(id);
      if (this.#s.deleteChunkRow.run(id).changes !== 1) return undefined;
      this.#s.deleteChunkFragments.run(id);
      return frags;
    });
  }

  hasFragment(fragmentId: string): boolean {
    return this.#s.hasFragment.get(fragmentId) !== undefined;
  }

  stats(): { chunks: number; fragments: number; objects: number; refs: number } {
    return this.#s.stats.get() as { chunks: number; fragments: number; objects: number; refs: number };
  }

  // ---- multipart -------------------------------------------------------------------------------
  createUpload(uploadId: string, bucket: number, key: Buffer, now: number, meta: string): void {
    this.#s.insertUpload.run(uploadId, bucket, key, now, meta);
  }

  upload(uploadId: string): UploadRow | undefined {
    return this.#s.uploadById.get(uploadId) as UploadRow | undefined;
  }

  /** Uploads of a bucket in (key, uploadId) order, from the first with key ≥ `from`. */
  uploadsFrom(bucket: number, from: Buffer, limit: number): UploadRow[] {
    return this.#s.uploadsFromKey.all(bucket, from, limit) as UploadRow[];
  }

  /** Uploads of a bucket in (key, uploadId) order, strictly after the (key, uploadId) marker. */
  uploads(bucket: number, keyMarker: Buffer, uploadIdMarker: string | undefined, limit: number): UploadRow[] {
    return this.#s.uploadsFrom.all(bucket, keyMarker, keyMarker, uploadIdMarker ?? '\u{10FFFF}', limit) as UploadRow[];
  }

  part(upload: number, partNumber: number): PartRow | undefined {
    return this.#s.partRow.get(upload, partNumber) as PartRow | undefined;
  }

  parts(upload: number, after = 0, limit = 100_000): PartRow[] {
    return (after === 0 && limit === 100_000 ? this.#s.allParts.all(upload) : this.#s.partsFrom.all(upload, after, limit)) as PartRow[];
  }

  partChunks(upload: number, partNumber: number): ChunkEntry[] {
    const rows = this.#s.partChunks.all(upload, partNumber) as ChunkEntry[];
    for (const r of rows) r.compressed = Boolean(r.compressed);
    return rows;
  }

  /** Stores (or replaces) a part and its interior chunk list, each entry one reference (call inside tx). */
  putPart(upload: number, part: PartRow, chunks: { offset: number; chunk: number }[], now: number): void {
    this.tx(() => {
      this.dropPart(upload, part.partNumber, now);
      this.#s.insertPart.run(upload, part.partNumber, part.size, part.etag, part.modified, part.checksum, part.seam);
      const counts = new Map<number, number>();
      for (const c of chunks) {
        this.#s.insertPartChunk.run(upload, part.partNumber, c.offset, c.chunk);
        counts.set(c.chunk, (counts.get(c.chunk) ?? 0) + 1);
      }
      for (const [chunk, n] of counts) this.#s.addRefs.run(n, chunk);
    });
  }

  dropPart(upload: number, partNumber: number, now: number): void {
    this.tx(() => {
      for (const r of this.#s.partChunkCounts.all(upload, partNumber) as { chunk: number; n: number }[]) {
        this.#s.releaseRefs.run({ n: r.n, now, id: r.chunk });
      }
      this.#s.deletePartChunks.run(upload, partNumber);
      this.#s.deletePart.run(upload, partNumber);
    });
  }

  /** Removes an upload, its parts, and releases every part chunk reference. */
  dropUpload(upload: number, now: number): void {
    this.tx(() => {
      for (const r of this.#s.uploadChunkCounts.all(upload) as { chunk: number; n: number }[]) {
        this.#s.releaseRefs.run({ n: r.n, now, id: r.chunk });
      }
      this.#s.deleteUploadChunks.run(upload);
      this.#s.deleteParts.run(upload);
      this.#s.deleteUpload.run(upload);
    });
  }

  /** The seam JSON of every part of every upload (to find spool files no part references). */
  allSeams(): string[] {
    return (this.#s.allSpool.all() as { seam: string }[]).map((r) => r.seam);
  }

  // ---- repair and chunk health (backend/store/repair-index.ts) ----------------------------------
  // Dead peers are passed as a JSON array and read with json_each: the set changes every call and
  // a temp table would need a write transaction per query.

  /**
   * Up to `limit` referenced chunks with row id > `afterId` (ascending) that have fewer than n
   * fragment rows in state 0 (stored) on peers not in `deadPeers`.
   */
  degradedChunks(limit: number, deadPeers: readonly string[], afterId: number): ChunkRow[] {
    const rows = this.#s.degradedChunks.all(afterId, JSON.stringify(deadPeers), limit) as ChunkRow[];
    for (const r of rows) r.compressed = Boolean(r.compressed);
    return rows;
  }

  /** Counts of referenced chunks by fragments stored on peers not in `deadPeers`. */
  chunkHealth(deadPeers: readonly string[]): { total: number; healthy: number; degraded: number; lost: number } {
    const r = this.#s.chunkHealth.get(JSON.stringify(deadPeers)) as { total: number; healthy: number | null; degraded: number | null; lost: number | null };
    return { total: r.total, healthy: r.healthy ?? 0, degraded: r.degraded ?? 0, lost: r.lost ?? 0 };
  }

  /**
   * Of the first `maxChunks` chunks of a version overlapping its bytes [start, end] (offset order),
   * those with fewer than k fragment rows in state 0 (stored) on peers in `live`: the chunks no
   * read can decode while only those peers answer. One statement; its cost grows with the chunks
   * examined (each a primary-key range scan of its n fragment rows), hence the bound.
   */
  unreadableChunks(version: number, start: number, end: number, live: Iterable<string>, maxChunks: number): ChunkEntry[] {
    const rows = this.#s.unreadableChunks.all({ version, start, end, live: JSON.stringify([...live]), maxChunks }) as ChunkEntry[];
    for (const r of rows) r.compressed = Boolean(r.compressed);
    return rows;
  }

  /** Moves fragment `idx` of a chunk to `peer` (state stored). Returns false when the row is gone (chunk collected). */
  moveFragment(chunk: number, idx: number, fragmentId: string, peer: string): boolean {
    return this.#s.moveFragment.run(fragmentId, peer, chunk, idx).changes === 1;
  }

  /** Marks fragment `idx` of a chunk missing (state 1) when its recorded holder lost or corrupted it. */
  markFragmentMissing(chunk: number, idx: number, fragmentId: string): boolean {
    return this.#s.markFragmentMissing.run(chunk, idx, fragmentId).changes === 1;
  }

  /** Stored fragment rows of referenced chunks after (chunk, idx), in that order: the audit's cursor. */
  storedFragments(after: { chunk: number; idx: number }, limit: number): (FragmentRow & { chunk: number })[] {
    return this.#s.storedFragments.all(after.chunk, after.chunk, after.idx, limit) as (FragmentRow & { chunk: number })[];
  }

  // ---- peers -----------------------------------------------------------------------------------
  savePeer(p: PeerRow): void {
    this.#s.upsertPeer.run(p.id, p.host, p.addrs, p.lastSeen);
  }

  peers(): PeerRow[] {
    return this.#s.listPeers.all() as PeerRow[];
  }
}

function migrate(db: DB): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new StoreError('Internal', `index schema version ${current} is newer than this program (${MIGRATIONS.length})`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
