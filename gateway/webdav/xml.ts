/**
 * Namespace-aware XML for WebDAV bodies (RFC 4918 §14 elements, Namespaces in XML 1.0).
 *
 * fast-xml-parser checks well-formedness and splits the text; this file resolves every element and
 * attribute name to (namespace URI, local name) and serialises trees back with prefixes it
 * chooses itself. Names are compared as expanded names only (RFC 4918 §17: "D:prop" and "x:prop"
 * bound to "DAV:" are the same element), never as prefix strings, and a namespace is never split
 * or rebuilt from a concatenated string (that is the webdav-server defect this replaces: it cut
 * "http://example.com/neon/litmus/" at a ':').
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export const DAV = 'DAV:';

export interface XmlAttr {
  ns: string;
  local: string;
  value: string;
}

export interface XmlElement {
  /** namespace URI; '' for no namespace */
  ns: string;
  local: string;
  attrs: XmlAttr[];
  children: XmlNode[];
}

export type XmlNode = XmlElement | string;

/** A request body that is not well-formed or not namespace-well-formed (→ 400). */
export class XmlBodyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlBodyError';
  }
}

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  processEntities: true,
  // also decodes numeric character references (&#65536;), which are XML, not only HTML
  htmlEntities: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

type Raw = Record<string, unknown>;
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

function resolveName(qname: string, scope: Map<string, string>, isAttr: boolean): { ns: string; local: string } {
  const colon = qname.indexOf(':');
  if (colon < 0) return { ns: isAttr ? '' : (scope.get('') ?? ''), local: qname };
  const prefix = qname.slice(0, colon);
  const local = qname.slice(colon + 1);
  if (prefix === 'xml') return { ns: XML_NS, local };
  const ns = scope.get(prefix);
  if (ns === undefined) throw new XmlBodyError(`undeclared namespace prefix "${prefix}"`);
  return { ns, local };
}

function convert(raw: Raw, parent: Map<string, string>): XmlNode | undefined {
  const name = Object.keys(raw).find((k) => k !== ':@');
  if (name === undefined) return undefined;
  if (name === '#text') return String(raw[name]);
  if (name.startsWith('?') || name === '#comment') return undefined;
  const attrsRaw = (raw[':@'] ?? {}) as Record<string, string>;
  const scope = new Map(parent);
  for (const [k, v] of Object.entries(attrsRaw)) {
    if (k === 'xmlns') scope.set('', v);
    else if (k.startsWith('xmlns:')) {
      // Namespaces in XML 1.0 §3 (and litmus propfind_invalid2): a prefix may not be undeclared.
      if (v === '') throw new XmlBodyError(`namespace prefix "${k.slice(6)}" bound to the empty name`);
      scope.set(k.slice(6), v);
    }
  }
  const { ns, local } = resolveName(name, scope, false);
  const attrs: XmlAttr[] = [];
  for (const [k, v] of Object.entries(attrsRaw)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
    attrs.push({ ...resolveName(k, scope, true), value: v });
  }
  const children: XmlNode[] = [];
  for (const c of (raw[name] ?? []) as Raw[]) {
    const node = convert(c, scope);
    if (node !== undefined) children.push(node);
  }
  return { ns, local, attrs, children };
}

/** Parses a request body into its root element. Throws XmlBodyError on anything malformed. */
export function parseXml(body: Buffer): XmlElement {
  // A UTF-8 byte order mark is allowed before the XML declaration (XML 1.0 §4.3.3).
  const text = body.toString('utf8').replace(/^\uFEFF/, '');
  // No DTDs: entity definitions are an expansion bomb and an external-entity risk, and no WebDAV
  // client sends one.
  if (/<!DOCTYPE/i.test(text)) throw new XmlBodyError('DTDs are not accepted');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new XmlBodyError(valid.err.msg);
  const top = (parser.parse(text) as Raw[]).map((r) => convert(r, new Map())).filter((n): n is XmlElement => typeof n === 'object');
  if (top.length !== 1) throw new XmlBodyError('expected exactly one root element');
  return top[0];
}

export function is(node: XmlNode | undefined, ns: string, local: string): node is XmlElement {
  return typeof node === 'object' && node.ns === ns && node.local === local;
}

export function elements(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c === 'object');
}

export function child(el: XmlElement, ns: string, local: string): XmlElement | undefined {
  return elements(el).find((c) => c.ns === ns && c.local === local);
}

export function textOf(el: XmlElement): string {
  return el.children.map((c) => (typeof c === 'string' ? c : textOf(c))).join('');
}

export function escapeText(s: string): string {
  return s.replace(/[&<>]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;'));
}

export function escapeAttr(s: string): string {
  return s.replace(/[&<>"\r\n\t]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Serialises elements with prefixes of its own: 'D' is always DAV: (declared by the caller on the
 * document root), other namespaces get a fresh prefix declared on the element that first needs
 * it, and an element in no namespace is written unprefixed (no default namespace is ever declared,
 * so an unprefixed name always means "no namespace").
 */
export class XmlWriter {
  readonly #parts: string[] = [];
  #counter = 0;

  raw(s: string): this {
    this.#parts.push(s);
    return this;
  }

  /** Writes `<name>` children `</name>` for a DAV: element whose content is given as a string of XML. */
  dav(local: string, inner?: string): this {
    this.#parts.push(inner === undefined || inner === '' ? `<D:${local}/>` : `<D:${local}>${inner}</D:${local}>`);
    return this;
  }

  /** An element given by expanded name with optional content, in the current scope. */
  element(el: XmlElement, scope: Map<string, string> = new Map([[DAV, 'D']])): this {
    this.#write(el, scope);
    return this;
  }

  /** An empty element named by expanded name (e.g. a property name in a 404 propstat). */
  empty(ns: string, local: string): this {
    return this.element({ ns, local, attrs: [], children: [] });
  }

  #write(el: XmlElement, parentScope: Map<string, string>): void {
    const scope = new Map(parentScope);
    const decls: string[] = [];
    const prefixFor = (ns: string): string => {
      let p = scope.get(ns);
      if (p === undefined) {
        p = `ns${this.#counter++}`;
        scope.set(ns, p);
        decls.push(` xmlns:${p}="${escapeAttr(ns)}"`);
      }
      return p;
    };
    const qname = el.ns === '' ? el.local : `${prefixFor(el.ns)}:${el.local}`;
    const attrs = el.attrs.map((a) => {
      const an = a.ns === '' ? a.local : a.ns === XML_NS ? `xml:${a.local}` : `${prefixFor(a.ns)}:${a.local}`;
      return ` ${an}="${escapeAttr(a.value)}"`;
    });
    if (el.children.length === 0) {
      this.#parts.push(`<${qname}${decls.join('')}${attrs.join('')}/>`);
      return;
    }
    this.#parts.push(`<${qname}${decls.join('')}${attrs.join('')}>`);
    for (const c of el.children) {
      if (typeof c === 'string') this.#parts.push(escapeText(c));
      else this.#write(c, scope);
    }
    this.#parts.push(`</${qname}>`);
  }

  toString(): string {
    return this.#parts.join('');
  }
}

export const XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>\n';
