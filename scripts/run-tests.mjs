#!/usr/bin/env node
// npm test's runner: runs the bundled test files (build/test/, written by `npm run build:tests`), five
// processes at a time. The files test/costly-files.txt lists (the most CPU-hungry) each run in a
// process of their own, the costliest first; all the others share three processes, a third of them
// (every third by name) in each, imported one after the other by a module written to build/groups/.
//
// Why processes are shared: on the 2-core machine a test file's process cost 0.2-0.3 CPU-s before its
// first test (Node, node:test, loading and compiling its bundle), as much as many files' tests. The 43
// files under 1 CPU-s took 20.8 CPU-s in processes of their own and 5.8 in one; the 30 files of 1-2.5
// CPU-s 45 and 24. Each file still starts what it needs itself (its redis-server, mocks, names), and
// `TEST_ISOLATED=1` runs every file in a process of its own, as `node --test` does, to tell whether a
// failure comes from sharing.
//
// Why not `node --test <files>`: Node 20 sorts the files it is given by name, whatever their order on
// the command line, so the longest files started last and ran on alone at the end while the other
// slots stood idle. node:test's run() keeps the order it is given.
//
// Five processes rather than one per core: many files spend most of their time waiting (on leases,
// backoff, processes they killed), and on the 2-core machine five kept the cores busier than four.
//
// Plain JavaScript, like bin/orchard.js: it runs before anything is compiled and needs no loader.
//
//   node scripts/run-tests.mjs                   every test file
//   node scripts/run-tests.mjs test/a.test.ts …  these files only, each in its own process
//   TEST_ISOLATED=1 node scripts/run-tests.mjs   every file in a process of its own
//   TEST_CONCURRENCY=1 node scripts/run-tests.mjs   one process at a time
//
// What a file costs, to keep test/costly-files.txt current: after npm test,
//   for f in $(find build/test -name '*.test.js'); do /usr/bin/time -f "%U %S $f" node --test $f >/dev/null; done
// prints the user and system CPU seconds of each file with the processes it started.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { run } from 'node:test';
import { spec, tap } from 'node:test/reporters';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const concurrency = Number(process.env.TEST_CONCURRENCY ?? 5);
const sharedProcesses = 3;

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

/** test/costly-files.txt: the files that run in a process of their own, costliest first. */
function costlyFiles() {
  return readFileSync(join(root, 'test/costly-files.txt'), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** test/x/y.test.ts → <root>/build/test/x/y.test.js */
const bundleOf = (file) => join(root, 'build', file.replace(/\.ts$/, '.js'));

/**
 * What run() is given: the costly files, with a module of shared files after each of the first three
 * (a shared process runs about as long as a costly file, and started last it would run on alone),
 * every other file in one of those modules.
 */
function suiteEntries() {
  const costly = costlyFiles();
  const others = testFiles().filter((file) => !costly.includes(file));
  if (process.env.TEST_ISOLATED === '1') return [...costly, ...others].map(bundleOf);
  const groupsDir = join(root, 'build', 'groups');
  rmSync(groupsDir, { recursive: true, force: true });
  mkdirSync(groupsDir, { recursive: true });
  const groups = Array.from({ length: sharedProcesses }, (_, i) => {
    const members = others.filter((_, n) => n % sharedProcesses === i);
    const path = join(groupsDir, `shared-${i + 1}.test.js`);
    writeFileSync(path, `// Written by scripts/run-tests.mjs: test files that share a process.\n${members.map((file) => `import ${JSON.stringify(relative(groupsDir, bundleOf(file)))};`).join('\n')}\n`);
    return path;
  });
  return costly.flatMap((file, i) => [bundleOf(file), ...(i < groups.length ? [groups[i]] : [])]);
}

const files = process.argv.length > 2 ? process.argv.slice(2).map(bundleOf) : suiteEntries();
// A file (or shared process) that hangs fails after ten minutes instead of holding the suite forever:
// the longest take about a minute on the 2-core machine while another process keeps a core busy.
const stream = run({ files, concurrency, timeout: 10 * 60_000 });
stream.on('test:fail', () => {
  process.exitCode = 1;
});
// The reporter `node --test` would pick: spec on a terminal, TAP otherwise (CI logs).
stream.compose(process.stdout.isTTY ? new spec() : tap).pipe(process.stdout);
