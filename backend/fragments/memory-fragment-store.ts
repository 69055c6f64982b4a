/**
 * Fragments in a Map, for tests and the in-process multi-node networks. Same contract as the disk
 * store (conformance suite), including hash checks on put and get, so tests exercise real failure
 * paths; `damage()` lets a test corrupt a stored fragment the way a failing disk would.
 */
import { StoreError } from '../core/errors.js';
import type { FragmentEntry, FragmentId, FragmentOpOptions, FragmentStat, FragmentStore } from '../core/fragment-store.js';
import { asBuffer, assertFragmentId, fragmentIdOf } from './fragment-id.js';

export interface MemoryFragmentStoreInit {
  /** bytes of fragments it may hold; default unlimited (Number.MAX_SAFE_INTEGER) */
  capacity?: number;
  readOnly?: boolean;
}

interface Held {
  data: Buffer;
  mtimeMs: number;
}

export class MemoryFragmentStore implements FragmentStore {
  readonly #fragments = new Map<FragmentId, Held>();
  readonly #capacity: number;
  readonly #readOnly: boolean;
  #used = 0;
  #closed = false;

  constructor(init: MemoryFragmentStoreInit = {}) {
    this.#capacity = init.capacity ?? Number.MAX_SAFE_INTEGER;
    this.#readOnly = init.readOnly ?? false;
  }

  async put(id: FragmentId, data: Uint8Array, options?: FragmentOpOptions): Promise<void> {
    this.#check(id, options);
    const bytes = asBuffer(data);
    if (fragmentIdOf(bytes) !== id) throw new StoreError('BadDigest', `fragment bytes do not hash to ${id}`);
    if (this.#readOnly) throw new StoreError('ReadOnly', 'memory fragment store is read-only');
    if (this.#fragments.has(id)) return;
    if (this.#used + bytes.length > this.#capacity) {
      throw new StoreError('QuotaExceeded', `no room for ${bytes.length} more bytes (${this.#used}/${this.#capacity} used)`);
    }
    // Copy: the caller may reuse its buffer once put resolves.
    this.#fragments.set(id, { data: Buffer.from(bytes), mtimeMs: Date.now() });
    this.#used += bytes.length;
  }

  async get(id: FragmentId, options?: FragmentOpOptions): Promise<Buffer> {
    this.#check(id, options);
    const held = this.#fragments.get(id);
    if (!held) throw new StoreError('FragmentNotFound', `no fragment ${id}`);
    if (fragmentIdOf(held.data) !== id) {
      // The memory analogue of quarantine: never serve it again.
      this.#drop(id, held);
      throw new StoreError('Corrupt', `fragment ${id} does not match its hash`);
    }
    if (!options?.allocate) return Buffer.from(held.data);
    const out = options.allocate(held.data.length);
    out.set(held.data);
    return out;
  }

  async has(id: FragmentId, options?: FragmentOpOptions): Promise<boolean> {
    this.#check(id, options);
    return this.#fragments.has(id);
  }

  async delete(id: FragmentId, options?: FragmentOpOptions): Promise<void> {
    this.#check(id, options);
    if (this.#readOnly) throw new StoreError('ReadOnly', 'memory fragment store is read-only');
    const held = this.#fragments.get(id);
    if (held) this.#drop(id, held);
  }

  async *list(options?: FragmentOpOptions): AsyncIterable<FragmentEntry> {
    if (this.#closed) throw closedError();
    // Snapshot, so deletes during iteration neither skip nor repeat entries.
    for (const [id, held] of [...this.#fragments]) {
      options?.signal?.throwIfAborted();
      yield { id, size: held.data.length, mtimeMs: held.mtimeMs };
    }
  }

  async stat(options?: FragmentOpOptions): Promise<FragmentStat> {
    if (this.#closed) throw closedError();
    options?.signal?.throwIfAborted();
    const capacity = this.#readOnly ? this.#used : this.#capacity;
    return { capacity, used: this.#used, free: Math.max(0, capacity - this.#used), fragments: this.#fragments.size };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** Test hook: flips one bit of a stored fragment (as bit rot would). False when absent. */
  damage(id: FragmentId, offset = 0): boolean {
    const held = this.#fragments.get(id);
    if (!held || held.data.length === 0) return false;
    held.data[offset % held.data.length] ^= 0x01;
    return true;
  }

  #check(id: FragmentId, options: FragmentOpOptions | undefined): void {
    if (this.#closed) throw closedError();
    assertFragmentId(id);
    options?.signal?.throwIfAborted();
  }

  #drop(id: FragmentId, held: Held): void {
    this.#fragments.delete(id);
    this.#used -= held.data.length;
  }
}

function closedError(): StoreError {
  return new StoreError('Unavailable', 'fragment store is closed');
}
