/**
 * --help text, generated from the flag table so it can never miss a flag or disagree with the
 * parser. `peerstor --help` shows the commands and EVERY flag (with the commands that take it);
 * `peerstor <command> --help` shows that command's flags only.
 */
import { isPending, type FlagSpec } from './flag-spec.js';
import { COMMANDS, COMMAND_SUMMARIES, type CommandName } from './flags.js';

const WIDTH = 100;
const INDENT = 30;

function wrap(text: string, indent: number, first: number): string[] {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = '';
  let width = WIDTH - first;
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
      width = WIDTH - indent;
    } else {
      line = line ? `${line} ${w}` : w;
    }
  }
  if (line) lines.push(line);
  return lines;
}

export function flagUsage(f: FlagSpec): string {
  const names = f.short ? `-${f.short}, --${f.name}` : `    --${f.name}`;
  return f.type === 'bool' ? names : `${names} ${f.valueName ?? f.type.toUpperCase()}`;
}

const commandName = (c: string): string => (c === '' ? 'default' : c);

/** `command` given: the description as that command's help shows it; else the overview's. */
export function flagDescription(f: FlagSpec, showCommands: boolean, command?: CommandName): string {
  let text = f.description;
  if (f.repeatable) text += '; repeatable';
  if (f.default !== undefined) text += ` (default: ${f.default})`;
  if (command !== undefined) {
    if (isPending(f, command)) text += ` (not yet effective: ${f.pending})`;
  } else if (f.pending) {
    const pendingFor = f.pendingFor ?? f.commands;
    const all = f.commands.every((c) => pendingFor.includes(c));
    text += all ? ` (not yet effective: ${f.pending})` : ` (not yet effective for ${pendingFor.map(commandName).join(', ')}: ${f.pending})`;
  }
  if (showCommands) {
    const names = f.commands.map(commandName);
    if (COMMANDS.every((c) => f.commands.includes(c))) text += ' [all commands]';
    else if (!(f.commands.length === 1 && f.commands[0] === '')) text += ` [${names.join(', ')}]`;
  }
  return text;
}

function renderFlags(flags: FlagSpec[], command?: CommandName): string[] {
  const out: string[] = [];
  for (const f of flags) {
    const usage = `  ${flagUsage(f)}`;
    const desc = flagDescription(f, command === undefined, command);
    const first = usage.length + 2 > INDENT ? [usage] : [];
    const lead = first.length ? ' '.repeat(INDENT) : usage.padEnd(INDENT);
    const body = wrap(desc, INDENT, INDENT);
    out.push(...first, lead + body[0], ...body.slice(1).map((l) => ' '.repeat(INDENT) + l));
  }
  return out;
}

export function renderHelp(flags: FlagSpec[], command?: CommandName): string {
  const lines: string[] = [];
  if (command === undefined) {
    lines.push(
      'peerstor: an S3 / WebDAV / SFTP / FTP storage gateway that chunks, encrypts and erasure-codes',
      'objects and spreads the fragments over peers.',
      '',
      'Usage: peerstor [COMMAND] [FLAGS]',
      '       peerstor --listen 127.0.0.1:8080 -v ./data::rw     (a complete store on one machine)',
      '',
      'Commands:',
    );
    for (const c of COMMANDS) {
      const body = wrap(COMMAND_SUMMARIES[c], INDENT, INDENT);
      lines.push(`  ${(c || '(none)').padEnd(INDENT - 2)}${body[0]}`, ...body.slice(1).map((l) => ' '.repeat(INDENT) + l));
    }
    lines.push(
      '',
      'Flags (those marked [..] belong to the commands named; the rest to the embedded default):',
      ...renderFlags(flags),
    );
  } else {
    const name = command === '' ? 'peerstor' : `peerstor ${command}`;
    lines.push(`Usage: ${name} [FLAGS]`, '', COMMAND_SUMMARIES[command], '', 'Flags:');
    lines.push(...renderFlags(flags.filter((f) => f.commands.includes(command)), command));
  }
  lines.push(
    '',
    'Sizes: 512, 64k, 50m, 4g, 1t (binary units). Durations: 500ms, 30s, 2m, 1h.',
    'Flags are also read from ~/.config/peerstor/peerstor.conf (or --config FILE), one per line',
    '("listen 127.0.0.1:8080", # comments); the command line overrides it.',
    'Exit status: 0 success, 1 failure while running, 2 bad command line or config file.',
  );
  return lines.join('\n') + '\n';
}

/** The flag reference as a Markdown table (docs/cli.md embeds it; a test keeps the two equal). */
export function renderFlagsMarkdown(flags: FlagSpec[]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const rows = flags.map((f) => {
    const names = `${f.short ? `\`-${f.short}\`, ` : ''}\`--${f.name}${f.type === 'bool' ? '' : ` ${f.valueName ?? f.type.toUpperCase()}`}\``;
    const commands = f.commands.map(commandName);
    const where = COMMANDS.every((c) => f.commands.includes(c)) ? 'all' : commands.join(', ');
    return `| ${esc(names)} | ${esc(flagDescription(f, false))} | ${esc(where)} |`;
  });
  return ['| flag | meaning | commands |', '|---|---|---|', ...rows].join('\n') + '\n';
}
