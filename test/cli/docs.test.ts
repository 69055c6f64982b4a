import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FLAGS } from '../../cli/flags.js';
import { renderFlagsMarkdown } from '../../cli/help.js';

test('docs/cli.md carries the flag table generated from cli/flags.ts', async () => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  const doc = await readFile(join(dir, 'docs', 'cli.md'), 'utf8');
  assert.ok(
    doc.includes(renderFlagsMarkdown(FLAGS)),
    'regenerate the table in docs/cli.md: node --import tsx -e "import(\'./cli/help.ts\').then(async (h) => process.stdout.write(h.renderFlagsMarkdown((await import(\'./cli/flags.ts\')).FLAGS)))"',
  );
});
