/**
 * The tiny interface under the data pipeline: a content-addressed bag of fragments on one peer.
 * Implementations: disk (backend/fragments/disk-fragment-store.ts), memory (tests), remote (a peer
 * over the data plane, backend/network/). Retry / limit / verify / metrics are decorators over this
 * interface, composed in one place (backend/fragments/compose.ts).
 *
 * Contract (enforced by test/conformance/fragment-store-suite.ts for every implementation):
 * - A fragment's id is the lower-case hex SHA-256 of its bytes; it is the only name a peer sees.
 * - put: MUST refuse bytes whose hash is not the id (BadDigest) and store nothing. Idempotent:
 *   putting an id that is already stored succeeds. Durable (fsync'd) before it resolves.
 *   QuotaExceeded when it would go over quota; ReadOnly on a read-only store.
 * - get: FragmentNotFound when absent; MUST re-check the hash and throw Corrupt on mismatch (the
 *   disk implementation also moves the bad file aside so it is not served again).
 * - delete: idempotent. list: every stored id once, in no particular order.
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

export interface FragmentStore {
  put(id: FragmentId, data: Uint8Array): Promise<void>;
  get(id: FragmentId): Promise<Buffer>;
  has(id: FragmentId): Promise<boolean>;
  delete(id: FragmentId): Promise<void>;
  list(): AsyncIterable<FragmentEntry>;
  stat(): Promise<FragmentStat>;
  close(): Promise<void>;
}
