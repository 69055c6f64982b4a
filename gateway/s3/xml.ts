/**
 * XML in and out. Responses are built by string concatenation with strict escaping (cheap, and the
 * shapes are fixed); request bodies are read with a size limit and parsed by fast-xml-parser with
 * entity processing off, so a hostile body can neither exhaust memory nor expand entities.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Readable } from 'node:stream';
import { S3Error, s3Errors } from './errors.js';

export const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';

export function escapeXml(text: string): string {
  // Control characters are not allowed raw in XML 1.0; matching them is the point here.
  // eslint-disable-next-line no-control-regex
  return text.replace(/[&<>"'\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => {
    switch (c) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      case "'":
        return '&apos;';
      default:
        return `&#x${c.charCodeAt(0).toString(16)};`;
    }
  });
}

/** `content` as a string is text (escaped); as an array it is already-built child elements. */
export function xmlElement(name: string, content: string | number | boolean | string[], attrs?: Record<string, string>): string {
  const a = attrs ? Object.entries(attrs).map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('') : '';
  const inner = Array.isArray(content) ? content.join('') : escapeXml(String(content));
  return `<${name}${a}>${inner}</${name}>`;
}

/** Optional element: omitted when value is undefined. */
export function xmlOpt(name: string, value: string | number | boolean | undefined): string {
  return value === undefined ? '' : xmlElement(name, value);
}

export function xmlDocument(root: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${root}`;
}

/** A root element carrying the S3 namespace. */
export function s3Document(name: string, children: string[]): string {
  return xmlDocument(xmlElement(name, children, { xmlns: S3_XMLNS }));
}

/** Reads a request body up to `limit` bytes; larger bodies fail with MalformedXML-style errors. */
export async function readBounded(body: AsyncIterable<Uint8Array>, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > limit) {
      if ('destroy' in body && typeof (body as Readable).destroy === 'function') (body as Readable).resume();
      throw new S3Error('MaxMessageLengthExceeded', 400, 'Your request was too big.');
    }
    parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
  }
  return Buffer.concat(parts);
}

const parser = new XMLParser({
  ignoreAttributes: true,
  removeNSPrefix: true,
  processEntities: true,
  // Numeric character references (&#34; — the Go SDK writes ETag quotes that way) need this.
  htmlEntities: true,
  parseTagValue: false,
  trimValues: false,
  ignoreDeclaration: true,
});

export type XmlNode = string | { [name: string]: XmlNode | XmlNode[] };

/** Parses an XML body; anything not well-formed or without the expected root → MalformedXML. */
export function parseXml(text: string, root: string): Record<string, XmlNode | XmlNode[]> {
  // S3 bodies never need a DTD; refusing one rules out entity-expansion attacks outright.
  if (text.trim() === '' || /<!DOCTYPE|<!ENTITY/i.test(text) || XMLValidator.validate(text) !== true) {
    throw s3Errors.malformedXml();
  }
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch {
    throw s3Errors.malformedXml();
  }
  const node = doc[root];
  if (node === undefined) throw s3Errors.malformedXml();
  if (typeof node === 'string') return {};
  if (typeof node !== 'object' || node === null || Array.isArray(node)) throw s3Errors.malformedXml();
  return node as Record<string, XmlNode | XmlNode[]>;
}

export function asArray(v: XmlNode | XmlNode[] | undefined): XmlNode[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

export function textOf(v: XmlNode | XmlNode[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return textOf(v[0]);
  // an empty element parses as '' ; an element with children is not text
  return undefined;
}

export function childrenOf(v: XmlNode): Record<string, XmlNode | XmlNode[]> {
  if (typeof v === 'string') return {};
  return v as Record<string, XmlNode | XmlNode[]>;
}
