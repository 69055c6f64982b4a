/**
 * A minimal in-memory FragmentStore with a quota, for network tests that must not depend on
 * backend/fragments/ (the conformance suite runs against the real implementations there).
 */
import { createHash } from 'node:crypto';
import type { FragmentEntry, FragmentStat, FragmentStore } from '../../../backend/core/fragment-store.js';
import { StoreError } from '../../../backend/core/errors.js';

export class TinyStore implements FragmentStore {
  readonly map = new Map<string, { data: Buffer; mtimeMs: number }>();
  constructor(readonly capacity = 1 << 30) {}

  #check(id: string): void {
    if (!/^[0-9a-f]{64}$/.test(id)) throw new StoreError('InvalidArgument', 'bad id');
  }
  #used(): number {
    let n = 0;
    for (const v of this.map.values()) n += v.data.length;
    return n;
  }
  async put(id: string, data: Uint8Array): Promise<void> {
    this.#check(id);
    if (createHash('sha256').update(data).digest('hex') !== id) throw new StoreError('BadDigest', 'hash mismatch');
    if (this.map.has(id)) return;
    if (this.#used() + data.length > this.capacity) throw new StoreError('QuotaExceeded', 'full');
    this.map.set(id, { data: Buffer.from(data), mtimeMs: Date.now() });
  }
  async get(id: string): Promise<Buffer> {
    this.#check(id);
    const v = this.map.get(id);
    if (!v) throw new StoreError('FragmentNotFound', id);
    if (createHash('sha256').update(v.data).digest('hex') !== id) throw new StoreError('Corrupt', id);
    return Buffer.from(v.data);
  }
  async has(id: string): Promise<boolean> {
    this.#check(id);
    return this.map.has(id);
  }
  async delete(id: string): Promise<void> {
    this.#check(id);
    this.map.delete(id);
  }
  async *list(): AsyncIterable<FragmentEntry> {
    for (const [id, v] of this.map) yield { id, size: v.data.length, mtimeMs: v.mtimeMs };
  }
  async stat(): Promise<FragmentStat> {
    const used = this.#used();
    return { capacity: this.capacity, used, free: Math.max(0, this.capacity - used), fragments: this.map.size };
  }
  async close(): Promise<void> {}
}

export function fragmentOf(data: Buffer): { id: string; data: Buffer } {
  return { id: createHash('sha256').update(data).digest('hex'), data };
}
