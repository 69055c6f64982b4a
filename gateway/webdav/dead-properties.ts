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

export class DeadProperties {
  /** tenant → path → property key → the property element as the client sent it */
  readonly #byTenant = new Map<string, Map<string, Map<string, XmlElement>>>();

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
    for (const p of this.#under(tenant, path)) paths?.delete(p);
  }

  /** Moves (or copies) the properties of a path and everything under it to a new place. */
  carry(tenant: string, from: string, to: string, move: boolean, depth: 0 | 'infinity' = 'infinity'): void {
    const paths = this.#paths(tenant);
    const sources = depth === 0 ? (paths.has(from) ? [from] : []) : this.#under(tenant, from);
    const moved = sources.map((p) => [p, paths.get(p) ?? new Map<string, XmlElement>()] as const);
    if (move) for (const [p] of moved) paths.delete(p);
    for (const [p, props] of moved) {
      const copy = new Map([...props].map(([k, v]) => [k, move ? v : clone(v)]));
      paths.set(to + p.slice(from.length), copy);
    }
  }
}
