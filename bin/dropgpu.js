#!/usr/bin/env node
// The `dropgpu` command: runs the built CLI (dist/cli.js; in a clone of the repository, `npm run build`
// makes it). Exit codes: 0 done, 1 failed while working, 2 bad command line.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/cli.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  console.error('dropgpu: dist/cli.js is missing; run `npm run build` first.');
  process.exit(1);
}
const { main } = await import(cli.href);
// WebGPU (Dawn) keeps threads alive: exit explicitly once the command is done.
process.exit(await main(process.argv.slice(2)));
