/**
 * What a command may touch of the outside world, injectable so tests can run main() in-process:
 * output, environment, working and home directory, a logger, and the signal that stops a server.
 */
import type { Logger } from '../backend/core/logger.js';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  home: string;
  /** aborts a running server (main wires SIGINT / SIGTERM to it unless a test passes its own) */
  signal: AbortSignal;
  /** when set, used instead of a logger built from --log-level / --logfile (tests) */
  logger?: Logger;
}
