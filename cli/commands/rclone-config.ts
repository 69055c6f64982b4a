/**
 * `peerstor rclone-config`: prints an rclone remote for --gateway. The generator belongs to the
 * S3 front end (rclone-config/ exports `rcloneConfig(init): string`); until it exists this
 * handler says so instead of printing a guess.
 */
import type { CliConfig } from '../config.js';
import { NotWiredError } from '../compose.js';
import type { CliIo } from '../io.js';

export async function runRcloneConfig(config: CliConfig, io: CliIo): Promise<number> {
  void config;
  const err = new NotWiredError('the rclone remote generator (rclone-config/)');
  io.stderr(`peerstor: rclone-config: ${err.message}\n`);
  return 1;
}
