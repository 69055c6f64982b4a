/**
 * The WebDAV If header (RFC 4918 §10.4): parsing and evaluation.
 *
 *   If = 1*No-tag-list | 1*Tagged-list;  Tagged-list = Resource-Tag 1*List
 *   List = "(" 1*Condition ")";  Condition = ["Not"] (State-token | "[" entity-tag "]")
 *
 * The header is true when any list is true (§10.4.3); a list is true when all its conditions are.
 * A state token condition is true when the token names a lock that applies to the list's resource;
 * an entity-tag condition when it equals the resource's current ETag (§10.4.4). A false header
 * answers 412 (§10.4.1). Separately, every lock token in the header counts as submitted (§10.4.1),
 * which is how a client shows it holds a lock (see locks.ts).
 */

export interface IfCondition {
  not: boolean;
  /** a state token (lock token or any other Coded-URL, e.g. DAV:no-lock) */
  token?: string;
  /** an entity tag as written, quotes included (possibly W/) */
  etag?: string;
}

export interface IfList {
  /** the Resource-Tag as written (absolute URI or absolute path); undefined = the request URI */
  resource?: string;
  conditions: IfCondition[];
}

/** A malformed If header (→ 400). */
export class IfHeaderError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IfHeaderError';
  }
}

/** Lists accepted in one If header. */
export const MAX_LISTS = 64;

export function parseIfHeader(header: string): IfList[] {
  const lists: IfList[] = [];
  let i = 0;
  let tag: string | undefined;
  let tagged: boolean | undefined;
  const s = header;
  const ws = (): void => {
    while (i < s.length && /\s/.test(s[i])) i++;
  };
  const until = (close: string): string => {
    const end = s.indexOf(close, i);
    if (end < 0) throw new IfHeaderError(`missing "${close}"`);
    const v = s.slice(i, end);
    i = end + 1;
    return v;
  };
  for (;;) {
    ws();
    if (i >= s.length) break;
    if (s[i] === '<') {
      if (tagged === false) throw new IfHeaderError('tagged and untagged lists mixed');
      tagged = true;
      i++;
      tag = until('>');
      ws();
      if (s[i] !== '(') throw new IfHeaderError('resource tag without a list');
      continue;
    }
    if (s[i] !== '(') throw new IfHeaderError(`unexpected "${s[i]}"`);
    if (tagged === undefined) tagged = false;
    i++;
    const conditions: IfCondition[] = [];
    for (;;) {
      ws();
      if (s[i] === ')') {
        i++;
        break;
      }
      let not = false;
      if (/^not\b/i.test(s.slice(i, i + 4)) && /[\s<[]/.test(s[i + 3] ?? '')) {
        not = true;
        i += 3;
        ws();
      }
      if (s[i] === '<') {
        i++;
        conditions.push({ not, token: until('>').trim() });
      } else if (s[i] === '[') {
        i++;
        conditions.push({ not, etag: until(']').trim() });
      } else throw new IfHeaderError(i >= s.length ? 'unterminated list' : `unexpected "${s[i]}" in a list`);
    }
    if (conditions.length === 0) throw new IfHeaderError('empty list');
    lists.push({ resource: tagged ? tag : undefined, conditions });
    // Each list may cost a store lookup; no client needs more than a handful.
    if (lists.length > MAX_LISTS) throw new IfHeaderError(`more than ${MAX_LISTS} lists`);
  }
  if (lists.length === 0) throw new IfHeaderError('no lists');
  return lists;
}

/** Every state token in the header that is not negated: what the client submits as held. */
export function submittedTokens(lists: IfList[]): Set<string> {
  const out = new Set<string>();
  for (const l of lists) for (const c of l.conditions) if (c.token !== undefined && !c.not) out.add(c.token);
  return out;
}

export interface IfResourceState {
  /** current ETag with quotes, undefined when the resource does not exist or has none */
  etag?: string;
  /** tokens of the locks that apply to the resource */
  lockTokens: Set<string>;
}

function etagEquals(a: string, b: string): boolean {
  // Weak comparison (RFC 9110 §8.8.3.2): the If header compares entity tags for identity of
  // state, and a W/ prefix should not make an otherwise equal tag fail.
  const strip = (t: string): string => t.replace(/^W\//, '');
  return strip(a) === strip(b);
}

/**
 * Evaluates the header. `resolve` maps a list's resource (undefined = request URI) to that
 * resource's state; it is called at most once per distinct resource.
 */
export async function evaluateIf(lists: IfList[], resolve: (resource: string | undefined) => Promise<IfResourceState>): Promise<boolean> {
  const cache = new Map<string | undefined, Promise<IfResourceState>>();
  for (const list of lists) {
    let state = cache.get(list.resource);
    if (!state) cache.set(list.resource, (state = resolve(list.resource)));
    const st = await state;
    const ok = list.conditions.every((c) => {
      const hit = c.token !== undefined ? st.lockTokens.has(c.token) : st.etag !== undefined && etagEquals(st.etag, c.etag ?? '');
      return c.not ? !hit : hit;
    });
    if (ok) return true;
  }
  return false;
}
