/**
 * The metadata index schema as numbered migrations. `schema_version` (PRAGMA user_version) says how
 * many have run; opening an index runs the missing ones in order, each in its own transaction.
 * Never edit a shipped migration: append a new one.
 *
 * Keys are BLOBs of UTF-8 so that ORDER BY / comparisons are memcmp, i.e. S3's UTF-8 byte order,
 * and "seek past a common prefix" is one `key >= prefixUpperBound(prefix)` bound.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: the initial schema
  `
  CREATE TABLE tenants (
    id          INTEGER PRIMARY KEY,
    access_key  TEXT NOT NULL UNIQUE,
    wrapped_key BLOB NOT NULL,            -- master key wrapped under PBKDF2(secret) (backend/crypto)
    created     INTEGER NOT NULL
  );

  CREATE TABLE buckets (
    id      INTEGER PRIMARY KEY,
    tenant  INTEGER NOT NULL REFERENCES tenants(id),
    name    TEXT NOT NULL,
    created INTEGER NOT NULL,
    UNIQUE (tenant, name)
  );

  -- state: 0 uploading (a put in flight; rows left by a crash are removed at open),
  --        1 complete (the live version of bucket/key), 2 deleted (reserved for versioning)
  CREATE TABLE versions (
    id          INTEGER PRIMARY KEY,
    bucket      INTEGER NOT NULL REFERENCES buckets(id),
    key         BLOB NOT NULL,
    state       INTEGER NOT NULL CHECK (state IN (0, 1, 2)),
    size        INTEGER NOT NULL DEFAULT 0,
    etag        TEXT NOT NULL DEFAULT '',
    created     INTEGER NOT NULL,
    modified    INTEGER NOT NULL,
    meta        TEXT NOT NULL DEFAULT '{}', -- JSON: headers, userMetadata, tags, checksum, parts
    inline_data BLOB                        -- whole object sealed with the tenant's metadata key
  );
  CREATE UNIQUE INDEX versions_live ON versions (bucket, key) WHERE state = 1;
  CREATE INDEX versions_not_live ON versions (state) WHERE state <> 1;

  -- per tenant: dedup never crosses tenants
  CREATE TABLE chunks (
    id          INTEGER PRIMARY KEY,
    tenant      INTEGER NOT NULL REFERENCES tenants(id),
    chunk_id    BLOB NOT NULL,             -- HMAC(chunk-id key, plaintext)
    plain_size  INTEGER NOT NULL,
    sealed_size INTEGER NOT NULL,
    compressed  INTEGER NOT NULL,
    k           INTEGER NOT NULL,
    n           INTEGER NOT NULL,
    refs        INTEGER NOT NULL,          -- version chunk entries + multipart part entries
    dead_since  INTEGER,                   -- set when refs fell to 0; collected after the grace period
    UNIQUE (tenant, chunk_id)
  );
  CREATE INDEX chunks_dead ON chunks (dead_since) WHERE dead_since IS NOT NULL;

  -- the ordered chunk list of a version, by byte offset (a range read seeks to its first chunk)
  CREATE TABLE version_chunks (
    version INTEGER NOT NULL REFERENCES versions(id),
    offset  INTEGER NOT NULL,
    chunk   INTEGER NOT NULL REFERENCES chunks(id),
    PRIMARY KEY (version, offset)
  ) WITHOUT ROWID;
  CREATE INDEX version_chunks_chunk ON version_chunks (chunk);

  -- state: 0 stored (reserved: 1 missing, 2 repairing — for the repair worker)
  CREATE TABLE fragments (
    chunk       INTEGER NOT NULL REFERENCES chunks(id),
    idx         INTEGER NOT NULL,
    fragment_id TEXT NOT NULL,             -- hex SHA-256 of the fragment bytes
    size        INTEGER NOT NULL,
    peer        TEXT NOT NULL,
    state       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (chunk, idx)
  ) WITHOUT ROWID;
  CREATE INDEX fragments_by_id ON fragments (fragment_id);

  CREATE TABLE uploads (
    id        INTEGER PRIMARY KEY,
    upload_id TEXT NOT NULL UNIQUE,
    bucket    INTEGER NOT NULL REFERENCES buckets(id),
    key       BLOB NOT NULL,
    created   INTEGER NOT NULL,
    meta      TEXT NOT NULL DEFAULT '{}'   -- JSON PutOptions (headers, metadata, tags, checksum)
  );
  CREATE INDEX uploads_by_key ON uploads (bucket, key, upload_id);

  -- a part: its stored interior chunks are in part_chunks; the bytes before its H-th own boundary
  -- (head) and after its last one (tail) are held in spool files until completion re-chunks the seams
  CREATE TABLE parts (
    upload      INTEGER NOT NULL REFERENCES uploads(id),
    part_number INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    etag        TEXT NOT NULL,
    modified    INTEGER NOT NULL,
    checksum    TEXT,
    seam        TEXT NOT NULL,             -- JSON: head boundaries, head/tail lengths, spool file name
    PRIMARY KEY (upload, part_number)
  ) WITHOUT ROWID;

  CREATE TABLE part_chunks (
    upload      INTEGER NOT NULL,
    part_number INTEGER NOT NULL,
    offset      INTEGER NOT NULL,          -- within the part
    chunk       INTEGER NOT NULL REFERENCES chunks(id),
    PRIMARY KEY (upload, part_number, offset)
  ) WITHOUT ROWID;

  CREATE TABLE peers (
    id        TEXT PRIMARY KEY,
    host      TEXT NOT NULL,
    addrs     TEXT NOT NULL DEFAULT '[]',
    last_seen INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
];
