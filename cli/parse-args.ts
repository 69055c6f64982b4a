/**
 * Command-line parsing driven by the FlagSpec table. Accepted forms: `--name VALUE`,
 * `--name=VALUE`, `-x VALUE`, `-xVALUE`, booleans as `--name` (or `--name=true|false`), `--` ends
 * the flags. The subcommand is the first argument that is not a flag or a flag's value.
 * Values are parsed here (sizes, integers, durations, the `parse` of string flags), so every
 * later stage sees typed values; every mistake is a UsageError naming the flag.
 */
import { parseSize } from '../backend/core/sizes.js';
import type { FlagSpec } from './flag-spec.js';
import { COMMANDS, type CommandName } from './flags.js';
import { UsageError, flagLabel } from './usage-error.js';
import { parseDuration } from './values.js';

export type FlagValues = Map<string, unknown>;

export interface ParsedArgs {
  command: CommandName;
  /** false when no subcommand was named (command is then '', the embedded default) */
  commandGiven: boolean;
  /** non-flag arguments after the subcommand */
  positionals: string[];
  /** parsed values by long name; repeatable flags hold arrays */
  values: FlagValues;
}

const BOOL_TEXT: Record<string, boolean> = { true: true, yes: true, '1': true, on: true, false: false, no: false, '0': false, off: false };

/** Parses one value as its flag's type says. `where` is appended to error messages (config file line). */
export function parseFlagValue(spec: FlagSpec, text: string | undefined, where = ''): unknown {
  const fail = (why: string): never => {
    throw new UsageError(`${flagLabel(spec.name)}: ${why}${where}`);
  };
  if (spec.type === 'bool') {
    if (text === undefined) return true;
    const b = BOOL_TEXT[text.toLowerCase()];
    if (b === undefined) fail(`takes no value, or true / false (not "${text}")`);
    return b;
  }
  if (text === undefined) return fail(`needs a value (${spec.valueName ?? spec.type})`);
  try {
    switch (spec.type) {
      case 'size':
        return parseSize(text);
      case 'duration':
        return parseDuration(text);
      case 'int': {
        if (!/^\s*\d+\s*$/.test(text)) throw new RangeError(`"${text}" is not a whole number`);
        const n = Number(text);
        if (!Number.isSafeInteger(n)) throw new RangeError(`${text} is too large`);
        return n;
      }
      case 'string':
        if (text === '') throw new RangeError('must not be empty');
        return spec.parse ? spec.parse(text) : text;
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    return fail(err instanceof Error ? err.message : String(err));
  }
  return fail('unsupported flag type');
}

/** Adds a value, collecting repeatable flags into arrays (later non-repeatable values win). */
export function setValue(values: FlagValues, spec: FlagSpec, value: unknown): void {
  if (spec.repeatable) {
    const list = (values.get(spec.name) as unknown[] | undefined) ?? [];
    list.push(value);
    values.set(spec.name, list);
  } else {
    values.set(spec.name, value);
  }
}

export function findFlag(flags: FlagSpec[], name: string): FlagSpec | undefined {
  return name.length === 1 ? flags.find((f) => f.short === name) : flags.find((f) => f.name === name);
}

/**
 * Parses argv (without node and the script). Flags are looked up in `flags` (all of them, so a
 * flag can come before the subcommand); whether the subcommand takes each flag is checked at the
 * end, so the message can say which command refuses it.
 */
export function parseArgs(argv: string[], flags: FlagSpec[]): ParsedArgs {
  const values: FlagValues = new Map();
  const positionals: string[] = [];
  const seen: FlagSpec[] = [];
  let command: CommandName | undefined;
  let onlyPositionals = false;

  const positional = (arg: string): void => {
    if (command === undefined) {
      if (!(COMMANDS as readonly string[]).includes(arg) || arg === '') {
        throw new UsageError(`unknown command "${arg}" (commands: ${COMMANDS.filter((c) => c).join(', ')})`);
      }
      command = arg as CommandName;
    } else {
      positionals.push(arg);
    }
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (onlyPositionals || arg === '-' || !arg.startsWith('-')) {
      positional(arg);
      continue;
    }
    if (arg === '--') {
      onlyPositionals = true;
      continue;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
      if (name.length < 2) throw new UsageError(`${arg}: unknown flag (see peerstor --help)`);
    } else {
      name = arg[1];
      if (arg.length > 2) inline = arg[2] === '=' ? arg.slice(3) : arg.slice(2);
    }
    const spec = findFlag(flags, name);
    const label = arg.startsWith('--') ? `--${name}` : `-${name}`;
    if (!spec) throw new UsageError(`${label}: unknown flag (see peerstor --help)`);
    let text = inline;
    if (spec.type !== 'bool' && text === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`${flagLabel(spec.name)}: needs a value (${spec.valueName ?? spec.type})`);
      text = argv[++i];
    }
    setValue(values, spec, parseFlagValue(spec, text));
    seen.push(spec);
  }

  const cmd: CommandName = command ?? '';
  // --help / --version answer whatever else is on the line; --json goes with --version.
  const early = values.get('help') === true || cmd === 'help';
  const version = values.get('version') === true || cmd === 'version';
  for (const spec of seen) {
    if (early || spec.commands.includes(cmd) || (version && spec.commands.includes('version'))) continue;
    const where = cmd ? `peerstor ${cmd}` : 'peerstor';
    throw new UsageError(`${flagLabel(spec.name)}: not a flag of \`${where}\` (see ${where} --help)`);
  }
  return { command: cmd, commandGiven: command !== undefined, positionals, values };
}
