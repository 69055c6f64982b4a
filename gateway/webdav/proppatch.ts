/**
 * PROPPATCH (RFC 4918 §9.2), replacing webdav-server 2.6.3's command, which runs all <set> groups
 * before all <remove> groups (the RFC says document order) and answers twice when a body has more
 * than one group of a kind. This one applies instructions in document order, all or nothing
 * (§9.2: on any failure every change is undone and the others are reported 424 Failed Dependency),
 * and refuses to set or remove DAV: live properties (403).
 */
import { STATUS_CODES } from 'node:http';
import { v2 } from 'webdav-server';
import { XML, XMLElementBuilder, type XMLElementUtil } from 'xml-js-builder';

type Cb<T> = (e?: Error, v?: T) => void;

function call<T>(fn: (cb: Cb<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((e, v) => (e ? reject(e) : resolve(v as T))));
}

interface Instruction {
  op: 'set' | 'remove';
  el: XMLElementUtil;
}

function instructions(data: Buffer): Instruction[] {
  const root = XML.parse(data.toString('utf8')).find('DAV:propertyupdate');
  const out: Instruction[] = [];
  for (const group of root.elements ?? []) {
    if (group.type !== 'element' || (group.name !== 'DAV:set' && group.name !== 'DAV:remove')) continue;
    const op = group.name === 'DAV:set' ? 'set' : 'remove';
    for (const prop of group.elements ?? []) {
      if (prop.type !== 'element' || prop.name !== 'DAV:prop') continue;
      for (const el of prop.elements ?? []) if (el.type === 'element') out.push({ op, el });
    }
  }
  return out;
}

export class ProppatchCommand implements v2.HTTPMethod {
  isValidFor(_ctx: v2.HTTPRequestContext, type?: v2.ResourceType): boolean {
    return !!type;
  }

  unchunked(ctx: v2.HTTPRequestContext, data: Buffer, callback: () => void): void {
    ctx.getResource((e, r) => {
      if (e || !r) {
        if (!ctx.setCodeFromError(e as Error)) ctx.setCode(v2.HTTPCodes.InternalServerError);
        return callback();
      }
      ctx.checkIfHeader(r, () => {
        this.#run(ctx, r, data).then(callback, (err: unknown) => {
          if (!ctx.setCodeFromError(err as Error)) ctx.setCode(v2.HTTPCodes.InternalServerError);
          callback();
        });
      });
    });
  }

  async #run(ctx: v2.HTTPRequestContext, r: v2.Resource, data: Buffer): Promise<void> {
    let list: Instruction[];
    try {
      list = instructions(data);
    } catch {
      ctx.setCode(v2.HTTPCodes.BadRequest);
      return;
    }
    const can = await call<boolean>((cb) => r.fs.checkPrivilege(ctx, r.path, 'canWriteProperties', cb));
    if (!can) throw v2.Errors.NotEnoughPrivilege;
    const locked = await call<boolean>((cb) => r.fs.isLocked(ctx, r.path, cb));
    if (locked) {
      ctx.setCode(v2.HTTPCodes.Locked);
      return;
    }
    const pm = await call<v2.IPropertyManager>((cb) => r.propertyManager(cb));
    const before = JSON.parse(JSON.stringify(await call<v2.PropertyBag>((cb) => pm.getProperties(cb)))) as v2.PropertyBag;
    const status = new Map<string, number>();
    let failed = false;
    for (const { op, el } of list) {
      if (el.name.startsWith('DAV:')) {
        status.set(el.name, v2.HTTPCodes.Forbidden);
        failed = true;
        continue;
      }
      try {
        if (op === 'set') await call<void>((cb) => pm.setProperty(el.name, el.elements, el.attributes, cb));
        else await call<void>((cb) => pm.removeProperty(el.name, cb)).catch((err: unknown) => {
          // Removing a property that does not exist is not an error (§9.2.1).
          if (err !== v2.Errors.PropertyNotFound) throw err;
        });
        if (!status.has(el.name)) status.set(el.name, v2.HTTPCodes.OK);
      } catch {
        status.set(el.name, v2.HTTPCodes.Forbidden);
        failed = true;
      }
    }
    if (failed) {
      const now = await call<v2.PropertyBag>((cb) => pm.getProperties(cb));
      for (const name of Object.keys(now)) if (!(name in before)) await call<void>((cb) => pm.removeProperty(name, cb));
      for (const [name, p] of Object.entries(before)) await call<void>((cb) => pm.setProperty(name, p.value, p.attributes ?? {}, cb));
      for (const [name, code] of status) if (code === v2.HTTPCodes.OK) status.set(name, v2.HTTPCodes.FailedDependency);
    }
    const multistatus = new XMLElementBuilder('D:multistatus', { 'xmlns:D': 'DAV:' });
    const response = multistatus.ele('D:response');
    response.ele('D:href', undefined, true).add(v2.HTTPRequestContext.encodeURL(ctx.fullUri()));
    const byCode = new Map<number, string[]>();
    for (const [name, code] of status) byCode.set(code, [...(byCode.get(code) ?? []), name]);
    for (const [code, names] of byCode) {
      const propstat = response.ele('D:propstat');
      const prop = propstat.ele('D:prop');
      for (const name of names) prop.add(new XMLElementBuilder(name));
      propstat.ele('D:status').add(`HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ''}`);
    }
    ctx.setCode(v2.HTTPCodes.MultiStatus);
    ctx.writeBody(multistatus);
  }
}
