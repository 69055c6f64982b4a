/** Human sizes as the CLI takes them: `512`, `64k`, `50m`, `4g`, `1t` (binary units, case-insensitive, optional `b`/`ib`). */
const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) throw new RangeError(`not a size: "${text}" (use a number with an optional k, m, g or t suffix, e.g. 50m)`);
  const value = Number(m[1]) * UNITS[m[2].toLowerCase()];
  if (!Number.isSafeInteger(Math.round(value))) throw new RangeError(`size too large: "${text}"`);
  return Math.round(value);
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}
