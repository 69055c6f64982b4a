/**
 * The config file: `~/.config/peerstor/peerstor.conf` ($XDG_CONFIG_HOME is honoured), or the
 * file named by --config. Format, one flag per line:
 *
 *     # comment (only whole lines; '#' inside a value is part of the value)
 *     listen 127.0.0.1:8080        same as --listen 127.0.0.1:8080
 *     --listen=127.0.0.1:8080      the command-line spellings work too
 *     volume = /srv/a::rw          'NAME = VALUE' as well; repeat a line for a repeatable flag
 *     enable-compression           a boolean alone means true
 *     v /srv/b::ro                 short names are accepted
 *
 * A value may be wrapped in single or double quotes (kept verbatim inside). Flags that the running
 * subcommand does not take are skipped (one file serves every subcommand); unknown names, bad
 * values and help / version / config in the file are usage errors naming the file and line.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FlagSpec } from './flag-spec.js';
import type { CommandName } from './flags.js';
import { findFlag, parseFlagValue, setValue, type FlagValues } from './parse-args.js';
import { UsageError } from './usage-error.js';

const NOT_IN_FILE = new Set(['help', 'version', 'config']);

export function defaultConfigPath(env: NodeJS.ProcessEnv, home: string): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(home, '.config');
  return join(base, 'peerstor', 'peerstor.conf');
}

function unquote(s: string): string {
  if (s.length >= 2 && ((s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'")))) return s.slice(1, -1);
  return s;
}

/** Parses config text into flag values for `command`. `file` only names the source in messages. */
export function parseConfigText(text: string, file: string, flags: FlagSpec[], command: CommandName): FlagValues {
  const values: FlagValues = new Map();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = ` (${file} line ${i + 1})`;
    const m = /^(-{0,2})([A-Za-z0-9][A-Za-z0-9-]*)(?:\s*=\s*|\s+|$)(.*)$/.exec(line);
    if (!m) throw new UsageError(`cannot read "${line}"${where}: expected NAME VALUE`);
    const [, dashes, name, rest] = m;
    const spec = findFlag(flags, name);
    const label = dashes === '-' || name.length === 1 ? `-${name}` : `--${name}`;
    if (!spec) throw new UsageError(`${label}: unknown flag${where}`);
    if (NOT_IN_FILE.has(spec.name)) throw new UsageError(`--${spec.name}: not allowed in a config file${where}`);
    const valueText = rest.trim() === '' ? undefined : unquote(rest.trim());
    // Parse even when this command skips the flag, so a typo surfaces whichever command runs.
    const value = parseFlagValue(spec, valueText, where);
    if (spec.commands.includes(command)) setValue(values, spec, value);
  });
  return values;
}

/**
 * Reads the config file. A missing default file is no error (returns an empty map); a missing file
 * given with --config is.
 */
export async function readConfigFile(path: string, explicit: boolean, flags: FlagSpec[], command: CommandName): Promise<FlagValues> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!explicit && code === 'ENOENT') return new Map();
    throw new UsageError(`--config: cannot read ${path}: ${code ?? String(err)}`);
  }
  return parseConfigText(text, path, flags, command);
}

/**
 * Precedence: the table's defaults < the config file < the command line. A repeatable flag given
 * on the command line replaces the file's values instead of adding to them.
 */
export function mergeValues(flags: FlagSpec[], command: CommandName, fromFile: FlagValues, fromArgs: FlagValues): FlagValues {
  const merged: FlagValues = new Map();
  for (const spec of flags) {
    if (!spec.commands.includes(command) || spec.default === undefined) continue;
    const v = parseFlagValue(spec, spec.default, ' (built-in default)');
    merged.set(spec.name, spec.repeatable ? [v] : v);
  }
  for (const [k, v] of fromFile) merged.set(k, v);
  for (const [k, v] of fromArgs) merged.set(k, v);
  return merged;
}
