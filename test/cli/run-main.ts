/**
 * Runs the CLI's main() as a real process under tsx (no build needed):
 *   node --import tsx test/cli/run-main.ts ARGS…
 * bin/peerstor.js does the same from dist/ once built. Used by the child-process tests.
 */
import { main } from '../../cli/main.js';

process.exitCode = await main(process.argv.slice(2));
