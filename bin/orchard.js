#!/usr/bin/env node
// The `orchard` command: runs the compiled CLI, bundled (dist/bundle/orchard.js: Node then reads a
// few files instead of several hundred modules, and a command starts in about half the time).
// `npm ci` and `npm start` build it (npm run build: tsc, then esbuild); a checkout that was never
// built says so instead of a stack trace.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/bundle/orchard.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write('Orchard is not built (dist/bundle/orchard.js is missing): run npm run build.\n');
  process.exit(1);
}
const { main } = await import(cli.href);
process.exitCode = await main(process.argv.slice(2));
