/**
 * Volume specs as the CLI takes them (`-v PATH::rw`, `-v PATH::ro`, `-v PATH`), optionally with a
 * per-volume quota as a third part (`PATH::rw::50g`) that overrides the store-wide one.
 */
import { parseSize } from '../core/sizes.js';

export interface VolumeSpec {
  path: string;
  mode: 'rw' | 'ro';
  /** bytes of fragments this volume may hold; overrides the store-wide quota */
  quota?: number;
}

export function parseVolumeSpec(text: string): VolumeSpec {
  const bad = (why: string): RangeError =>
    new RangeError(`bad volume "${text}": ${why} (expected PATH, PATH::rw, PATH::ro or PATH::rw::QUOTA)`);
  const parts = text.split('::');
  const path = parts[0];
  if (path.trim() === '') throw bad('empty path');
  if (parts.length > 3) throw bad('too many "::" parts');
  const mode = parts.length >= 2 ? parts[1] : 'rw';
  if (mode !== 'rw' && mode !== 'ro') throw bad(`mode must be rw or ro, not "${mode}"`);
  if (parts.length === 3) {
    let quota: number;
    try {
      quota = parseSize(parts[2]);
    } catch {
      throw bad(`quota "${parts[2]}" is not a size such as 50g`);
    }
    if (quota <= 0) throw bad('quota must be positive');
    return { path, mode, quota };
  }
  return { path, mode };
}
