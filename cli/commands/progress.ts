/**
 * Progress of the offline commands (gc, scrub, verify, repair): a bar with rate and ETA redrawn on
 * stderr when stderr is a terminal; otherwise structured log lines through the command's logger
 * every --progress-interval (journald, pipes, CI), plus one at the end. Also: how they stop early,
 * and how they print their summary.
 */
import type { Logger } from '../../backend/core/logger.js';
import { createProgress, type Progress, type ProgressInit } from '../../backend/core/progress.js';
import type { CliConfig } from '../config.js';
import type { CliIo } from '../io.js';

/** What main() knows about the terminal: a bar only when stderr really is one. */
export interface Terminal {
  /** stderr is a TTY and the command writes to the process's own stderr */
  tty: boolean;
  columns?: number;
}

export const NO_TERMINAL: Terminal = { tty: false };

export function commandProgress(
  config: CliConfig,
  io: CliIo,
  logger: Logger,
  terminal: Terminal,
  init: Pick<ProgressInit, 'label' | 'unit' | 'total'>,
): Progress {
  return createProgress({
    ...init,
    stream: { write: (t: string) => io.stderr(t), isTTY: terminal.tty, columns: terminal.columns },
    logger: terminal.tty ? undefined : logger,
    intervalMs: config.progressIntervalMs,
  });
}

/**
 * The first SIGINT / SIGTERM aborts io.signal (main() wires it): long offline work checks this
 * between items and stops cleanly, leaving what it did so far (a second signal kills the process).
 */
export function throwIfInterrupted(io: CliIo, command: string): void {
  if (io.signal.aborted) throw new InterruptedError(command);
}

export class InterruptedError extends Error {
  constructor(command: string) {
    super(`${command}: interrupted (SIGINT / SIGTERM); what was done so far is kept`);
    this.name = 'InterruptedError';
  }
}

/**
 * The summary on stdout: one JSON line with --json, else `lines` (default: one `key: value` line
 * per field of `summary`).
 */
export function printSummary(config: CliConfig, io: CliIo, summary: object, lines?: string[]): void {
  const text = lines ?? Object.entries(summary).map(([k, v]) => `${k}: ${String(v)}`);
  io.stdout((config.json ? JSON.stringify(summary) : text.join('\n')) + '\n');
}
