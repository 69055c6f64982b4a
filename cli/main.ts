/**
 * The `peerstor` command (bin/peerstor.js calls main). Flow: parse the command line → --help /
 * --version → read the config file → merge (defaults < file < command line) → typed CliConfig →
 * the subcommand's handler in cli/commands/, which builds what it needs through cli/compose.ts.
 * Exit status: 0 success, 1 failure while running, 2 usage error (ONE line on stderr:
 * `peerstor: --flag: what is wrong`).
 */
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { runEmbedded } from './commands/embedded.js';
import { runGc } from './commands/gc.js';
import { helpTopic, runHelp } from './commands/help.js';
import { runNode } from './commands/node.js';
import type { Terminal } from './commands/progress.js';
import { runRepair } from './commands/repair.js';
import { runScrub } from './commands/scrub.js';
import { runVerify } from './commands/verify.js';
import { runRcloneConfig } from './commands/rclone-config.js';
import { runStatus } from './commands/status.js';
import { runVersion } from './commands/version.js';
import { defaultConfigPath, mergeValues, readConfigFile } from './config-file.js';
import { resolveConfig, type CliConfig } from './config.js';
import { FLAGS } from './flags.js';
import type { CliIo } from './io.js';
import { parseArgs } from './parse-args.js';
import { UsageError } from './usage-error.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

function processIo(signal: AbortSignal): CliIo {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    home: homedir(),
    signal,
  };
}

/** Parses everything up to the typed config; UsageError on any mistake. */
export async function loadConfig(argv: string[], io: CliIo): Promise<CliConfig | { help: CliConfig['command'] | undefined } | { version: boolean }> {
  const args = parseArgs(argv, FLAGS);
  if (args.values.get('help') === true || args.command === 'help') {
    return { help: args.command === 'help' ? helpTopic(args.positionals) : args.commandGiven ? args.command : undefined };
  }
  if (args.values.get('version') === true || args.command === 'version') return { version: args.values.get('json') === true };
  if (args.positionals.length > 0) throw new UsageError(`unexpected argument "${args.positionals[0]}"`);
  const explicit = args.values.get('config') as string | undefined;
  const path = explicit ?? defaultConfigPath(io.env, io.home);
  const fromFile = await readConfigFile(resolve(io.cwd, path), explicit !== undefined, FLAGS, args.command);
  const given = new Set([...fromFile.keys(), ...args.values.keys()]);
  const merged = mergeValues(FLAGS, args.command, fromFile, args.values);
  return resolveConfig(args.command, args.positionals, merged, given, io.cwd);
}

export async function main(argv: string[], ioOverride: Partial<CliIo> = {}): Promise<number> {
  // SIGINT / SIGTERM stop a running server gracefully, unless the caller brings its own signal.
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  const ownSignal = ioOverride.signal === undefined;
  if (ownSignal) {
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }
  const io: CliIo = { ...processIo(controller.signal), ...ioOverride };
  // A progress bar only when the command's stderr is this process's and that is a terminal.
  const terminal: Terminal = { tty: ioOverride.stderr === undefined && process.stderr.isTTY === true, columns: process.stderr.columns };
  try {
    const loaded = await loadConfig(argv, io);
    if ('help' in loaded) return runHelp(loaded.help, io);
    if ('version' in loaded) return runVersion(loaded.version, io);
    switch (loaded.command) {
      case '':
        return await runEmbedded(loaded, io);
      case 'node':
        return await runNode(loaded, io);
      case 'status':
        return await runStatus(loaded, io);
      case 'gc':
        return await runGc(loaded, io, terminal);
      case 'scrub':
        return await runScrub(loaded, io, terminal);
      case 'verify':
        return await runVerify(loaded, io, terminal);
      case 'repair':
        return await runRepair(loaded, io, terminal);
      case 'rclone-config':
        return await runRcloneConfig(loaded, io);
      default:
        // version and help return early from loadConfig
        return EXIT_FAILURE;
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`peerstor: ${err.message.replace(/\s*\n\s*/g, ' ')}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`peerstor: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILURE;
  } finally {
    if (ownSignal) {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  }
}
