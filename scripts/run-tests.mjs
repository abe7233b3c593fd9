#!/usr/bin/env node
// npm test's runner: runs the bundled test files (build/test/, written by `npm run build:tests`) five
// at a time, the files test/start-first.txt lists first, in its order, then the others by name.
// Five rather than one per core: many files spend most of their time waiting (on leases, backoff,
// processes they killed), and on the 2-core machine five kept the cores busier than four (119-122 s
// against 122-126 s for the files alone) without making a test wait past its deadline.
//
// Why not `node --test <files>`: Node 20 sorts the files it is given by name, whatever their order on
// the command line, so the longest files (spool/, sources/) started last and ran on alone at the end
// while the other slots stood idle. node:test's run() keeps the order it is given.
//
// Plain JavaScript, like bin/orchard.js: it runs before anything is compiled and needs no loader.
//
//   node scripts/run-tests.mjs                   every test file
//   node scripts/run-tests.mjs test/a.test.ts …  these files only (their bundles in build/test/)
//   TEST_CONCURRENCY=1 node scripts/run-tests.mjs   one file at a time
//
// What a file costs, to keep test/start-first.txt current: after npm test,
//   for f in $(find build/test -name '*.test.js'); do /usr/bin/time -f "%U %S $f" node --test $f >/dev/null; done
// prints the user and system CPU seconds of each file with the processes it started.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 5);

/** Every `*.test.ts` under test/, as paths from the repository root, in name order. */
function testFiles(dir = join(root, 'test')) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return testFiles(path);
      return entry.name.endsWith('.test.ts') ? [relative(root, path)] : [];
    })
    .sort();
}

/** The files test/start-first.txt lists, in its order, then every other test file by name. */
function suiteOrder() {
  const first = readFileSync(join(root, 'test/start-first.txt'), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));
  return [...new Set([...first, ...testFiles()])];
}

/** test/x/y.test.ts → <root>/build/test/x/y.test.js */
const bundleOf = (file) => join(root, 'build', file.replace(/\.ts$/, '.js'));

const files = process.argv.length > 2 ? process.argv.slice(2) : suiteOrder();
const stream = run({ files: files.map(bundleOf), concurrency });
stream.on('test:fail', () => {
  process.exitCode = 1;
});
// The reporter `node --test` would pick: spec on a terminal, TAP otherwise (CI logs).
stream.compose(process.stdout.isTTY ? new spec() : tap).pipe(process.stdout);
