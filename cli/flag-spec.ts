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
}
