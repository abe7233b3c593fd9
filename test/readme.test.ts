import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { packageRoot } from '../src/package-root.ts';
import {
  anchorsOf,
  existsInRepository,
  linksOf,
  markdownPages,
  readPage,
  repoPathsOf,
  resolveLink,
  slugOf,
} from './helpers/markdown-pages.ts';

const readme = readPage('README.md');

test('the README gives the test command that .ci/run runs', () => {
  const ci = readFileSync(new URL('.ci/run', packageRoot), 'utf8');
  assert.match(ci, /^npm test$/m);
  assert.match(readme, /^npm test$/m);
  assert.match(readme, /^npm ci$/m);
  assert.match(readme, /^npm start$/m);
});

test('test/costly-files.txt, the files npm test runs each in its own process, names test files that exist, each once', () => {
  const listed = readFileSync(new URL('test/costly-files.txt', packageRoot), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'));
  assert.ok(listed.length > 0);
  for (const file of listed) assert.ok(file.endsWith('.test.ts') && existsInRepository(file), `${file}: not a test file in the repository`);
  assert.equal(new Set(listed).size, listed.length, 'a file listed twice');
});

test('the README links every page under docs/', () => {
  const linked = new Set(linksOf('README.md', readme).map((l) => resolveLink('README.md', l.target).path));
  // Pages reached from another page rather than from the README's index.
  const reachedFromAPage = new Set(['docs/development.md']);
  for (const page of markdownPages().filter((p) => p.startsWith('docs/'))) {
    if (reachedFromAPage.has(page)) continue;
    assert.ok(linked.has(page), `README.md does not link ${page}`);
  }
});

test('every relative link in README.md, ARCHITECTURE.md and docs/ reaches a file, and its anchor a heading', () => {
  const problems: string[] = [];
  const pages = markdownPages();
  assert.ok(pages.length > 15, `only ${pages.length} pages found`);
  for (const page of pages) {
    for (const link of linksOf(page, readPage(page))) {
      const { path, anchor } = resolveLink(page, link.target);
      if (path === null) continue;
      if (!existsInRepository(path)) {
        problems.push(`${page}:${link.line}: ${link.target}: no such file in the repository`);
        continue;
      }
      if (anchor !== '' && path.endsWith('.md') && !anchorsOf(readPage(path)).has(anchor)) {
        problems.push(`${page}:${link.line}: ${link.target}: ${path} has no heading #${anchor}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('every repository path the docs name in backticks exists', () => {
  // Paths the contributor guide invents on purpose: the example source one adds.
  const examples = new Set(['src/sources/acme-devices/', 'test/sources/acme-devices/', 'acme-devices-source.ts']);
  const problems: string[] = [];
  let checked = 0;
  for (const page of markdownPages()) {
    for (const cited of repoPathsOf(page, readPage(page))) {
      if (examples.has(cited.target)) continue;
      checked += 1;
      if (!existsInRepository(cited.target)) problems.push(`${page}:${cited.line}: \`${cited.target}\` is not in the repository`);
    }
  }
  assert.ok(checked > 50, `only ${checked} paths checked: the scan is broken`);
  assert.deepEqual(problems, []);
});

test('the checks themselves catch a missing file, a missing anchor and a missing path', () => {
  const page = 'docs/example.md';
  const text = ['# Title: `one`', '', 'See [a](nope.md), [b](operations.md#no-such-heading) and [c](https://example.com).',
    'Code `src/no-such-file.ts` and `src/main.ts`.', '```sh', 'curl --data-binary @test/fixtures/none.json', '```'].join('\n');
  assert.deepEqual(linksOf(page, text).map((l) => l.target), ['nope.md', 'operations.md#no-such-heading', 'https://example.com']);
  assert.equal(existsInRepository(resolveLink(page, 'nope.md').path!), false);
  assert.equal(resolveLink(page, 'https://example.com').path, null);
  assert.equal(anchorsOf(readPage('docs/operations.md')).has('no-such-heading'), false);
  assert.deepEqual(repoPathsOf(page, text).map((c) => c.target), ['src/no-such-file.ts', 'src/main.ts', 'test/fixtures/none.json']);
  assert.equal(existsInRepository('src/no-such-file.ts'), false);
  assert.equal(existsInRepository('src/main.ts'), true);
  assert.equal(existsInRepository('dist/main.js'), false, 'dist/ is build output, not the repository');
  assert.equal(slugOf('When Redis cannot take an event: the local spool'), 'when-redis-cannot-take-an-event-the-local-spool');
  assert.equal(slugOf('Connector settings: `jamf_pro.inventory`'), 'connector-settings-jamf_proinventory');
  assert.deepEqual([...anchorsOf('# A\n## A\n```\n# not a heading\n```')], ['a', 'a-1']);
});

/** Every node of a Graphviz source is in the SVG drawn from it (at least `minNodes` of them). */
function assertDrawnFrom(source: string, minNodes: number): void {
  const drawing = source.replace(/\.dot$/, '.svg');
  const nodes = [...readPage(source).matchAll(/^\s*(\w+)\s+\[label=/gm)].map((m) => m[1]!);
  assert.ok(nodes.length >= minNodes, `no nodes found in ${source}`);
  const svg = readPage(drawing);
  for (const node of nodes) assert.ok(svg.includes(`<title>${node}</title>`), `${drawing} lacks ${node}: run dot -Tsvg ${source} -o ${drawing}`);
}

test('the data-flow picture is drawn from its source: every node of docs/data-flow.dot is in docs/data-flow.svg', () => {
  assertDrawnFrom('docs/data-flow.dot', 8);
  assert.match(readme, /\]\(docs\/data-flow\.svg\)/);
});

test('the production topology picture is drawn from its source: every node of docs/production-topology.dot is in its SVG', () => {
  assertDrawnFrom('docs/production-topology.dot', 5);
});
