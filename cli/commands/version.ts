/** `peerstor version` / `--version`. */
import type { CliIo } from '../io.js';
import { peerstorVersion } from '../version.js';

export function runVersion(json: boolean, io: CliIo): number {
  const version = peerstorVersion();
  io.stdout(json ? JSON.stringify({ name: 'peerstor', version, node: process.versions.node }) + '\n' : `peerstor ${version}\n`);
  return 0;
}
