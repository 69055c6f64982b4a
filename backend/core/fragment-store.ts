/**
 * The tiny interface under the data pipeline: a content-addressed bag of fragments on one peer.
 * Implementations: disk (backend/fragments/disk-fragment-store.ts), memory (tests), remote (a peer
 * over the data plane, backend/network/). Retry / limit / verify / metrics are decorators over this
 * interface, composed in one place (backend/fragments/compose.ts).
 *
 * Contract (enforced by test/conformance/fragment-store-suite.ts for every implementation):
 * - A fragment's id is the lower-case hex SHA-256 of its bytes; it is the only name a peer sees.
 * - put: MUST refuse bytes whose hash is not the id (BadDigest) and store nothing. Idempotent:
 *   putting an id that is already stored succeeds. Durable (fsync'd) before it resolves. Once it
 *   resolves, nothing reads `data` any more (the chunk pipeline reuses that memory; a store that
 *   keeps the bytes keeps a copy).
 *   QuotaExceeded when it would go over quota; ReadOnly on a read-only store.
 * - get: FragmentNotFound when absent; MUST re-check the hash (unless the caller says it does,
 *   FragmentOpOptions.callerVerifies) and throw Corrupt on mismatch (the
 *   disk implementation also moves the bad file aside so it is not served again).
 * - delete: idempotent. list: every stored id once, in no particular order.
 * - An id that is not 64 lower-case hex characters → InvalidArgument from every method (so no id
 *   can ever name a path outside the store).
 * - `options.signal` is optional to honour: an implementation that supports it stops the operation
 *   and rejects with the signal's reason; one that does not just finishes (decorators in
 *   backend/fragments/ still time the caller out). An aborted put may or may not have stored the
 *   fragment (put is idempotent, so retrying is safe).
 */
export type FragmentId = string;

export interface FragmentStat {
  /** bytes the store may hold (quota or volume size) */
  capacity: number;
  /** bytes used by fragments */
  used: number;
  /** bytes that can still be written */
  free: number;
  fragments: number;
}

export interface FragmentEntry {
  id: FragmentId;
  size: number;
  /** last modification, ms since epoch (used for grace periods in garbage collection) */
  mtimeMs: number;
}

/** Per-operation options; every field is optional for the implementation to honour. */
export interface FragmentOpOptions {
  signal?: AbortSignal;
  /**
   * put only: the caller computed `id` from exactly these bytes in this process (the chunk codec
   * does, on a worker thread), so an in-process store MAY skip hashing them again. A store that
   * receives bytes over the network (a peer's data plane) never gets this flag from its sender:
   * remote peers always verify. Default false.
   */
  idVerified?: boolean;
  /**
   * get only: the caller hashes the bytes against the id itself (the chunk codec does, on a worker
   * thread), so an in-process store MAY return them unchecked. A caller that finds a mismatch MUST
   * get the id again without this flag, so the store checks, quarantines the bad copy and throws
   * Corrupt (or serves a good copy from elsewhere). Default false.
   */
  callerVerifies?: boolean;
  /**
   * get only: memory for the result. A store that learns the fragment's length before reading its
   * bytes MAY read them into `allocate(length)` (exactly `length` bytes at offset 0 of an
   * ArrayBuffer the caller gives up) instead of fresh memory, and return that buffer. A store may
   * ignore it. The chunk read path passes recycled memory here, so a get does not fault in fresh
   * pages (and leave garbage) for every fragment it reads.
   */
  allocate?: (length: number) => Buffer;
}

export interface FragmentStore {
  put(id: FragmentId, data: Uint8Array, options?: FragmentOpOptions): Promise<void>;
  get(id: FragmentId, options?: FragmentOpOptions): Promise<Buffer>;
  has(id: FragmentId, options?: FragmentOpOptions): Promise<boolean>;
  delete(id: FragmentId, options?: FragmentOpOptions): Promise<void>;
  list(options?: FragmentOpOptions): AsyncIterable<FragmentEntry>;
  stat(options?: FragmentOpOptions): Promise<FragmentStat>;
  close(): Promise<void>;
}
