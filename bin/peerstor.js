#!/usr/bin/env node
// Entry point of the `peerstor` command: the compiled CLI lives in dist/ (built by `npm install`).
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => { console.error(`peerstor: ${err instanceof Error ? err.message : String(err)}`); process.exitCode = 1; },
);
