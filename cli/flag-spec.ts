/**
 * How a component declares its command-line flags. Each area exports a `FlagSpec[]`
 * (e.g. gateway/s3/flags.ts); the CLI merges them into one parser and one --help.
 */
export type FlagType = 'string' | 'size' | 'int' | 'bool' | 'duration';

export interface FlagSpec {
  /** long name without dashes, e.g. 'listen' */
  name: string;
  /** one-letter alias without dash, e.g. 'v' */
  short?: string;
  type: FlagType;
  /** may be given several times (value becomes an array) */
  repeatable?: boolean;
  /** shown in --help as `--name VALUE` */
  valueName?: string;
  description: string;
  /** the default as --help shows it, and as the parser applies it (strings are parsed like input) */
  default?: string;
  /** which subcommands take it: '' is the embedded default (no subcommand) */
  commands: string[];
  /**
   * Parses (and validates) the text of a `string` flag, e.g. HOST:PORT; throws RangeError with a
   * message naming what is wrong. The parsed value replaces the text.
   */
  parse?: (text: string) => unknown;
  /**
   * Set while the piece that makes the flag effective is not wired yet: --help shows
   * "(not yet effective: <pending>)" and giving the flag logs a warning. Remove when wired.
   */
  pending?: string;
  /** the subcommands `pending` applies to (default: every command that takes the flag) */
  pendingFor?: string[];
}

/** true when the flag's effect is not wired yet for `command`. */
export function isPending(spec: FlagSpec, command: string): boolean {
  return spec.pending !== undefined && (spec.pendingFor ?? spec.commands).includes(command);
}
