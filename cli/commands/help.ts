/** `peerstor help [COMMAND]` / `--help`. */
import { COMMANDS, FLAGS, type CommandName } from '../flags.js';
import { renderHelp } from '../help.js';
import type { CliIo } from '../io.js';
import { UsageError } from '../usage-error.js';

export function runHelp(command: CommandName | undefined, io: CliIo): number {
  io.stdout(renderHelp(FLAGS, command));
  return 0;
}

/** `peerstor help node` → 'node'; `peerstor help` → undefined (the overview). */
export function helpTopic(positionals: string[]): CommandName | undefined {
  if (positionals.length === 0) return undefined;
  const [topic] = positionals;
  if (topic === 'default') return '';
  if (!(COMMANDS as readonly string[]).includes(topic) || topic === '') throw new UsageError(`help: no command "${topic}"`);
  return topic as CommandName;
}
