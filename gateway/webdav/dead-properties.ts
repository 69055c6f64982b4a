/**
 * Dead properties (RFC 4918 §4.1, §9.2): per tenant and path, in memory. They follow MOVE and
 * COPY (§9.8.2, §9.9.1) and go with DELETE. Lost on restart (documented in docs/file-protocols.md):
 * the store has no per-object metadata slot that a PROPPATCH could update without rewriting data.
 */
import type { XmlElement } from './xml.js';

/** Expanded property name: namespace URI and local name joined by a character no name holds. */
export function propKey(ns: string, local: string): string {
  return `${ns}\u0000${local}`;
}

function clone(el: XmlElement): XmlElement {
  return JSON.parse(JSON.stringify(el)) as XmlElement;
}

/** Approximate memory held by one path's properties (their JSON length). */
function sizeOf(props: Map<string, XmlElement> | undefined): number {
  let n = 0;
  for (const [k, v] of props ?? []) n += k.length + JSON.stringify(v).length;
  return n;
}

/** Per-tenant memory for dead properties: beyond it PROPPATCH answers 507 (RFC 4918 §9.2.1). */
export const DEFAULT_TENANT_BUDGET_BYTES = 32 << 20;

export class DeadProperties {
  /** tenant → path → property key → the property element as the client sent it */
  readonly #byTenant = new Map<string, Map<string, Map<string, XmlElement>>>();
  readonly #bytes = new Map<string, number>();
  readonly #budget: number;

  constructor(init: { budgetBytes?: number } = {}) {
    this.#budget = init.budgetBytes ?? DEFAULT_TENANT_BUDGET_BYTES;
  }

  #add(tenant: string, delta: number): void {
    this.#bytes.set(tenant, (this.#bytes.get(tenant) ?? 0) + delta);
  }

  /** Whether replacing a path's properties with `props` stays within the tenant's budget. */
  fits(tenant: string, path: string, props: Map<string, XmlElement>): boolean {
    const now = this.#bytes.get(tenant) ?? 0;
    const delta = sizeOf(props) - sizeOf(this.#byTenant.get(tenant)?.get(path));
    return delta <= 0 || now + delta <= this.#budget;
  }

  #paths(tenant: string): Map<string, Map<string, XmlElement>> {
    let m = this.#byTenant.get(tenant);
    if (!m) this.#byTenant.set(tenant, (m = new Map()));
    return m;
  }

  /** The properties of one path (a copy: changing it changes nothing stored). */
  get(tenant: string, path: string): Map<string, XmlElement> {
    return new Map(this.#byTenant.get(tenant)?.get(path) ?? []);
  }

  /** Replaces all properties of a path (PROPPATCH commits its result in one step). */
  replace(tenant: string, path: string, props: Map<string, XmlElement>): void {
    const paths = this.#paths(tenant);
    this.#add(tenant, sizeOf(props) - sizeOf(paths.get(path)));
    if (props.size === 0) paths.delete(path);
    else paths.set(path, new Map(props));
  }

  #under(tenant: string, path: string): string[] {
    const paths = this.#byTenant.get(tenant);
    if (!paths) return [];
    return [...paths.keys()].filter((p) => p === path || p.startsWith(`${path}/`));
  }

  /** Forgets a path and everything under it (DELETE, or the target replaced by MOVE/COPY). */
  drop(tenant: string, path: string): void {
    const paths = this.#byTenant.get(tenant);
    for (const p of this.#under(tenant, path)) {
      this.#add(tenant, -sizeOf(paths?.get(p)));
      paths?.delete(p);
    }
  }

  /**
   * Moves (or copies) the properties of a path and everything under it to a new place (whatever
   * was stored at the destination paths is replaced). A copy may go over the budget: refusing a
   * COPY for its dead properties would be worse than holding them.
   */
  carry(tenant: string, from: string, to: string, move: boolean, depth: 0 | 'infinity' = 'infinity'): void {
    const paths = this.#paths(tenant);
    const sources = depth === 0 ? (paths.has(from) ? [from] : []) : this.#under(tenant, from);
    const moved = sources.map((p) => [p, paths.get(p) ?? new Map<string, XmlElement>()] as const);
    if (move) for (const [p, props] of moved) {
      this.#add(tenant, -sizeOf(props));
      paths.delete(p);
    }
    for (const [p, props] of moved) {
      const copy = new Map([...props].map(([k, v]) => [k, move ? v : clone(v)]));
      const target = to + p.slice(from.length);
      this.#add(tenant, sizeOf(copy) - sizeOf(paths.get(target)));
      paths.set(target, copy);
    }
  }
}
