/** Structured logging with pino (the logger fastify uses), shared by every component. */
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export interface LoggerInit {
  level?: string;
  /** write JSON lines to this file instead of stderr */
  file?: string;
}

export function createLogger(init: LoggerInit = {}): Logger {
  const options: LoggerOptions = { level: init.level ?? 'info', base: { pid: process.pid } };
  const dest = init.file ? pino.destination({ dest: init.file, mkdir: true, sync: false }) : pino.destination(2);
  return pino(options, dest);
}

/** A logger that drops everything, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
