// Reads the repository's Markdown pages the way GitHub renders them, for the tests that keep the docs
// honest (test/readme.test.ts): their links, the anchors they point at, and the repository paths they
// name in backticks.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../src/package-root.ts';

export const repoRoot = fileURLToPath(packageRoot);

/** Folders that hold build output, dependencies or run-time data, never documentation's citations. */
const notInRepository = new Set(['node_modules', 'dist', 'build', 'data', '.git', '.bench', 'coverage']);

/** Every Markdown page Orchard ships: README.md, ARCHITECTURE.md and everything under docs/, bench/, deploy/. */
export function markdownPages(): string[] {
  const pages = ['README.md', 'ARCHITECTURE.md'];
  const walk = (dir: string): void => {
    if (!existsSync(join(repoRoot, dir))) return;
    for (const name of readdirSync(join(repoRoot, dir)).sort()) {
      if (notInRepository.has(name)) continue;
      const path = join(dir, name);
      if (statSync(join(repoRoot, path)).isDirectory()) walk(path);
      else if (name.endsWith('.md')) pages.push(path);
    }
  };
  for (const dir of ['docs', 'bench', 'deploy']) walk(dir);
  return pages;
}

/** A page's lines with fenced code blocks marked, so links and headings are read outside them only. */
function linesOf(text: string): { line: string; fenced: boolean; n: number }[] {
  let fenced = false;
  return text.split('\n').map((line, i) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return { line, fenced: true, n: i + 1 };
    }
    return { line, fenced, n: i + 1 };
  });
}

/** GitHub's heading anchor: lower-cased, punctuation dropped (but - and _), spaces to hyphens. */
export function slugOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors a page offers: one per heading, repeats numbered as GitHub numbers them. */
export function anchorsOf(text: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const { line, fenced } of linesOf(text)) {
    const m = !fenced && /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const slug = slugOf(m[1]!);
    const count = seen.get(slug) ?? 0;
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
    seen.set(slug, count + 1);
  }
  return anchors;
}

export interface Citation {
  readonly page: string;
  readonly line: number;
  readonly target: string;
}

/** Every link and image target of a page outside code: `[text](target)`, `![alt](target)`. */
export function linksOf(page: string, text: string): Citation[] {
  const out: Citation[] = [];
  for (const { line, fenced, n } of linesOf(text)) {
    if (fenced) continue;
    const withoutCode = line.replace(/`[^`]*`/g, '');
    for (const m of withoutCode.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push({ page, line: n, target: m[1]! });
  }
  return out;
}

/** Top-level folders of the repository whose paths the docs cite. */
const repoFolders = ['src', 'test', 'schemas', 'bench', 'scripts', 'bin', 'docs', 'deploy', '.ci'];
/** Files at the repository's root the docs cite by name alone. */
const rootFiles = ['README.md', 'ARCHITECTURE.md', 'Dockerfile', 'docker-compose.yml', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', '.dockerignore'];
const sourceFile = /^[\w.-]+(?:\/[\w.-]+)+\.(?:ts|js|json|md|yml|yaml|lua|dot|svg|sh)$/;

/**
 * The repository paths a page names in backticks, in its text or its code blocks: paths under a
 * top-level folder (`src/…`, `test/…`, `schemas/…`, …), root files by name, and paths of source files
 * relative to src/ as ARCHITECTURE.md writes them (`sink/redis-page-sink.ts`). Paths with a placeholder
 * (`<name>`, `{…}`, `*`, `…`) are patterns, not citations.
 */
export function repoPathsOf(page: string, text: string): Citation[] {
  const out: Citation[] = [];
  for (const { line, fenced, n } of linesOf(text)) {
    const spans = [...line.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
    // In a code block, and inside a code span, each word: a command's file argument (`@test/…`) too.
    const words = (fenced ? [line] : spans).flatMap((s) => s.split(/[\s'"`=(),]+/));
    for (const token of [...spans, ...words]) {
      const candidate = token.replace(/^@/, '').replace(/^\.\//, '').replace(/[.,:;]+$/, '');
      if (/[<>{}*…$]/.test(candidate) || candidate.includes('://')) continue;
      const top = candidate.split('/')[0]!;
      if (notInRepository.has(top)) continue; // build output (`dist/bundle/`), not a citation
      if ((candidate.includes('/') && repoFolders.includes(top)) || rootFiles.includes(candidate) || sourceFile.test(candidate)) {
        if (!out.some((c) => c.target === candidate && c.line === n)) out.push({ page, line: n, target: candidate });
      }
    }
  }
  return out;
}

/** Whether a cited path exists in the repository (relative to its root, or to src/ for source paths). */
export function existsInRepository(path: string): boolean {
  const clean = normalize(path);
  if (clean.startsWith('..') || clean.split('/').some((part) => notInRepository.has(part))) return false;
  return existsSync(join(repoRoot, clean)) || (sourceFile.test(clean) && existsSync(join(repoRoot, 'src', clean)));
}

/** A link target resolved against its page: the repository path (or null for an outside URL) and the anchor. */
export function resolveLink(page: string, target: string): { path: string | null; anchor: string } {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) return { path: null, anchor: '' };
  const [file, anchor = ''] = target.split('#') as [string, string?];
  const path = file === '' ? page : relative(repoRoot, join(repoRoot, dirname(page), decodeURIComponent(file)));
  return { path, anchor };
}

export const readPage = (page: string): string => readFileSync(join(repoRoot, page), 'utf8');
