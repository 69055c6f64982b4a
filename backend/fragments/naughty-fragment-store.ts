/**
 * Fault injection by wrapping the real interface (the idea of MinIO's naughtyDisk): programmed
 * errors by call number and/or by operation, get results with flipped bits, and operations that
 * hang until their signal aborts. Calls are numbered from 1 across all operations (each next() of
 * a listing counts as a call of op 'list'). Unless a fault says `after`, a failing call never
 * reaches the inner store.
 */
import type { FragmentEntry, FragmentId, FragmentOpOptions, FragmentStat, FragmentStore } from '../core/fragment-store.js';
import { intercept, type FragmentOp, type OpContext } from './intercept.js';

export interface NaughtyFault {
  error: Error;
  /** how many matching calls fail; default unlimited */
  times?: number;
  /** run the inner op first, then fail anyway (a lost acknowledgement) */
  after?: boolean;
}

export interface NaughtyInit {
  /** fail exactly the call with this number (1-based) */
  byCall?: Record<number, Error | NaughtyFault>;
  /** fail calls of these operations */
  byOp?: Partial<Record<FragmentOp, Error | NaughtyFault>>;
  /** fail every call that nothing above programs (MinIO's defErr) */
  defaultError?: Error;
  /** flip a bit in what get returns: all gets, or those the predicate picks */
  corruptGets?: boolean | ((id: FragmentId) => boolean);
  /** these operations never settle until their signal aborts (then reject with its reason) */
  hang?: FragmentOp[];
}

export interface NaughtyCall {
  call: number;
  op: FragmentOp;
  id?: FragmentId;
  /** what the caller saw: 'ok', or the error it got */
  outcome?: 'ok' | Error;
}

/** A private copy: `times` counts down, and the caller's object must not change under it. */
function asFault(f: Error | NaughtyFault): NaughtyFault {
  return f instanceof Error ? { error: f } : { ...f };
}

export class NaughtyFragmentStore implements FragmentStore {
  /** every call so far, in order */
  readonly calls: NaughtyCall[] = [];
  readonly #byCall = new Map<number, NaughtyFault>();
  readonly #byOp = new Map<FragmentOp, NaughtyFault>();
  #defaultError: Error | undefined;
  #corruptGets: boolean | ((id: FragmentId) => boolean);
  #hang: Set<FragmentOp>;
  readonly #outer: FragmentStore;

  constructor(inner: FragmentStore, init: NaughtyInit = {}) {
    for (const [n, f] of Object.entries(init.byCall ?? {})) this.#byCall.set(Number(n), asFault(f));
    for (const [op, f] of Object.entries(init.byOp ?? {})) this.#byOp.set(op as FragmentOp, asFault(f));
    this.#defaultError = init.defaultError;
    this.#corruptGets = init.corruptGets ?? false;
    this.#hang = new Set(init.hang ?? []);
    this.#outer = intercept(inner, (ctx, run) => this.#around(ctx, run));
  }

  // ---- programming -------------------------------------------------------------------------------

  failCall(call: number, fault: Error | NaughtyFault): this {
    this.#byCall.set(call, asFault(fault));
    return this;
  }

  failOp(op: FragmentOp, fault: Error | NaughtyFault): this {
    this.#byOp.set(op, asFault(fault));
    return this;
  }

  setDefaultError(error: Error | undefined): this {
    this.#defaultError = error;
    return this;
  }

  setCorruptGets(corrupt: boolean | ((id: FragmentId) => boolean)): this {
    this.#corruptGets = corrupt;
    return this;
  }

  setHang(ops: FragmentOp[]): this {
    this.#hang = new Set(ops);
    return this;
  }

  /** Back to a well-behaved store (call numbering continues). */
  heal(): this {
    this.#byCall.clear();
    this.#byOp.clear();
    this.#defaultError = undefined;
    this.#corruptGets = false;
    this.#hang.clear();
    return this;
  }

  // ---- FragmentStore -------------------------------------------------------------------------------

  put(id: FragmentId, data: Uint8Array, options?: FragmentOpOptions): Promise<void> {
    return this.#outer.put(id, data, options);
  }

  get(id: FragmentId, options?: FragmentOpOptions): Promise<Buffer> {
    return this.#outer.get(id, options);
  }

  has(id: FragmentId, options?: FragmentOpOptions): Promise<boolean> {
    return this.#outer.has(id, options);
  }

  delete(id: FragmentId, options?: FragmentOpOptions): Promise<void> {
    return this.#outer.delete(id, options);
  }

  list(options?: FragmentOpOptions): AsyncIterable<FragmentEntry> {
    return this.#outer.list(options);
  }

  stat(options?: FragmentOpOptions): Promise<FragmentStat> {
    return this.#outer.stat(options);
  }

  close(): Promise<void> {
    return this.#outer.close();
  }

  // ---- internals ---------------------------------------------------------------------------------

  /** The fault for this call, consuming one of its `times`. */
  #faultFor(call: number, op: FragmentOp): NaughtyFault | undefined {
    const take = (f: NaughtyFault | undefined): NaughtyFault | undefined => {
      if (!f) return undefined;
      if (f.times !== undefined) {
        if (f.times <= 0) return undefined;
        f.times--;
      }
      return f;
    };
    const byCall = this.#byCall.get(call);
    if (byCall) {
      this.#byCall.delete(call);
      return byCall;
    }
    return take(this.#byOp.get(op)) ?? (this.#defaultError ? { error: this.#defaultError } : undefined);
  }

  async #around<T>(ctx: OpContext, run: (options?: FragmentOpOptions) => Promise<T>): Promise<T> {
    const record: NaughtyCall = { call: this.calls.length + 1, op: ctx.op, id: ctx.id };
    this.calls.push(record);
    try {
      const result = await this.#perform(record.call, ctx, run);
      record.outcome = 'ok';
      return result;
    } catch (err) {
      record.outcome = err instanceof Error ? err : new Error(String(err));
      throw err;
    }
  }

  async #perform<T>(call: number, ctx: OpContext, run: (options?: FragmentOpOptions) => Promise<T>): Promise<T> {
    if (this.#hang.has(ctx.op)) await hangUntilAborted(ctx.options?.signal);
    const fault = this.#faultFor(call, ctx.op);
    if (fault && !fault.after) throw fault.error;
    const result = await run(ctx.options);
    if (fault) throw fault.error;
    if (ctx.op === 'get' && ctx.id !== undefined && this.#shouldCorrupt(ctx.id)) {
      const bytes = Buffer.from(result as Buffer);
      if (bytes.length > 0) bytes[bytes.length >> 1] ^= 0x10;
      else return Buffer.from([0]) as T;
      return bytes as T;
    }
    return result;
  }

  #shouldCorrupt(id: FragmentId): boolean {
    return typeof this.#corruptGets === 'function' ? this.#corruptGets(id) : this.#corruptGets;
  }
}

function hangUntilAborted(signal: AbortSignal | undefined): Promise<never> {
  return new Promise<never>((_, reject) => {
    if (!signal) return; // hangs for good: only use with a timeout above it
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
