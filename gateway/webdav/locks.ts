/**
 * WebDAV write locks (RFC 4918 §6, §7, §9.10, §9.11), in memory, per tenant.
 *
 * A lock belongs to its token, not to a user: a request may change a locked resource only when
 * it submits the token of a lock that applies (§6.4, §7.5 — in the If header, §10.4). Tokens are
 * kept per tenant, so one tenant's token is never valid for another's resources.
 *
 * Which locks apply to a path: a lock rooted at the path, and a depth-infinity lock rooted at an
 * ancestor (§7.5, §9.10.3). Paths are path-view paths ('/bucket/a/b', no trailing slash; '/' is
 * the root). Expired locks are dropped when they are next looked at (no timers: nothing to stop).
 * Locks are lost on restart, which §6.3 allows (a lock may disappear at any time).
 */
import { randomUUID } from 'node:crypto';
import type { XmlElement } from './xml.js';

export type LockScope = 'exclusive' | 'shared';
export type LockDepth = 0 | 'infinity';

/** What LOCK asks for; the table adds the token and the expiry. */
export interface LockInit {
  /** path-view path of the locked resource (the lock root, §9.10.1) */
  root: string;
  /** whether the root was a collection when locked (its href ends in '/') */
  rootIsCollection: boolean;
  depth: LockDepth;
  scope: LockScope;
  /** the DAV:owner element exactly as the client sent it (§14.17), returned in lock discovery */
  owner?: XmlElement;
  /** seconds granted, as last requested (capped) */
  timeoutSeconds: number;
  /** who created it; only they may use its token (§6.4) */
  principal: string;
}

export interface Lock extends LockInit {
  token: string;
  /** Date.now() after which the lock is gone */
  expires: number;
}

export const DEFAULT_TIMEOUT_SECONDS = 3600;
/** §10.7 lets the server grant less than asked; a day bounds what an abandoned client leaves. */
export const MAX_TIMEOUT_SECONDS = 86_400;
/** Locks per tenant, so a client looping on LOCK cannot grow memory without bound. */
export const MAX_LOCKS_PER_TENANT = 10_000;

/** Parses a Timeout header (§10.7): the first value we understand, capped. */
export function parseTimeout(header: string | undefined): number {
  if (!header) return DEFAULT_TIMEOUT_SECONDS;
  for (const part of header.split(',')) {
    const v = part.trim();
    if (/^infinite$/i.test(v)) return MAX_TIMEOUT_SECONDS;
    const m = /^second-(\d+)$/i.exec(v);
    if (m) return Math.max(1, Math.min(MAX_TIMEOUT_SECONDS, Number(m[1])));
  }
  return DEFAULT_TIMEOUT_SECONDS;
}

/** true when `path` is `root` or inside it */
export function isWithin(root: string, path: string): boolean {
  return root === '/' || path === root || path.startsWith(`${root}/`);
}

export class LockTable {
  readonly #byTenant = new Map<string, Map<string, Lock>>();
  readonly #now: () => number;

  constructor(init: { now?: () => number } = {}) {
    this.#now = init.now ?? Date.now;
  }

  #locks(tenant: string): Map<string, Lock> {
    let m = this.#byTenant.get(tenant);
    if (!m) this.#byTenant.set(tenant, (m = new Map()));
    const now = this.#now();
    for (const [token, lock] of m) if (lock.expires <= now) m.delete(token);
    return m;
  }

  get(tenant: string, token: string): Lock | undefined {
    return this.#locks(tenant).get(token);
  }

  /** Locks that apply to `path`: rooted there, or depth infinity on an ancestor. */
  covering(tenant: string, path: string): Lock[] {
    return [...this.#locks(tenant).values()].filter((l) => l.root === path || (l.depth === 'infinity' && isWithin(l.root, path)));
  }

  /** Locks rooted at `path` or anywhere below it. */
  within(tenant: string, path: string): Lock[] {
    return [...this.#locks(tenant).values()].filter((l) => isWithin(path, l.root));
  }

  /**
   * Locks that a new lock on `path` would conflict with (§6.1, §9.10.3): any exclusive lock, or
   * any lock at all when the new one is exclusive, that applies to the path or (for depth
   * infinity) to something below it.
   */
  conflicts(tenant: string, path: string, depth: LockDepth, scope: LockScope): Lock[] {
    const related = new Set([...this.covering(tenant, path), ...(depth === 'infinity' ? this.within(tenant, path) : [])]);
    return [...related].filter((l) => scope === 'exclusive' || l.scope === 'exclusive');
  }

  /** Creates a lock. Returns undefined when the tenant already holds too many. */
  create(tenant: string, init: LockInit): Lock | undefined {
    const locks = this.#locks(tenant);
    if (locks.size >= MAX_LOCKS_PER_TENANT) return undefined;
    const lock: Lock = { ...init, token: `urn:uuid:${randomUUID()}`, expires: this.#now() + init.timeoutSeconds * 1000 };
    locks.set(lock.token, lock);
    return lock;
  }

  refresh(tenant: string, token: string, timeoutSeconds: number): Lock | undefined {
    const lock = this.get(tenant, token);
    if (!lock) return undefined;
    lock.timeoutSeconds = timeoutSeconds;
    lock.expires = this.#now() + timeoutSeconds * 1000;
    return lock;
  }

  remove(tenant: string, token: string): boolean {
    return this.#locks(tenant).delete(token);
  }

  /** Drops every lock rooted at `path` or below (the resources are gone: DELETE, MOVE source). */
  dropWithin(tenant: string, path: string): void {
    const locks = this.#locks(tenant);
    for (const l of this.within(tenant, path)) locks.delete(l.token);
  }

  /** Drops the locks strictly below `path` (a replaced destination tree: its members are gone,
   *  but a lock on the destination URL itself keeps protecting what now lives there, §7.5). */
  dropBelow(tenant: string, path: string): void {
    const locks = this.#locks(tenant);
    for (const l of this.within(tenant, path)) if (l.root !== path) locks.delete(l.token);
  }

  /** Seconds left on a lock, for the DAV:timeout element (§14.29). */
  secondsLeft(lock: Lock): number {
    return Math.max(0, Math.ceil((lock.expires - this.#now()) / 1000));
  }
}
