import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { commandHelp } from '../../src/cli/command-usage.ts';
import { orchardHere } from '../helpers/orchard-here.ts';
import { runOrchard } from '../helpers/orchard-process.ts';
import { packageRoot } from '../../src/package-root.ts';

// The CLI's surface as a user meets it: `node bin/orchard.js …` in a child process (dist/, built by
// npm ci / npm test), with only PATH and HOME from this environment. The loop over every command's
// --help and -h runs the same main() in this process (orchardHere), with one real process for serve.

const dir = mkdtempSync(join(tmpdir(), 'orchard-cli-surface-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const pkg = JSON.parse(readFileSync(new URL('package.json', packageRoot), 'utf8')) as { name: string; version: string };

async function orchard(args: string[], env: Record<string, string> = {}, where: 'process' | 'here' = 'process'): Promise<{ code: number | null; out: string; err: string; dataDir: string }> {
  const dataDir = join(dir, `data-${Math.random().toString(36).slice(2)}`);
  if (where === 'here') {
    const r = await orchardHere({ ORCHARD_DATA_DIR: dataDir, PORT: '1', ...env }, args);
    return { ...r, out: r.out.replace(/\n$/, ''), err: r.err.replace(/\n$/, ''), dataDir };
  }
  const proc = runOrchard({ ORCHARD_DATA_DIR: dataDir, PORT: '1', ...env }, args);
  const { code } = await proc.closed;
  return { code, out: proc.stdout.join('\n'), err: proc.stderr.join('\n'), dataDir };
}

test('--version and -v print the name and version from package.json, and nothing else happens', async () => {
  for (const flag of ['--version', '-v']) {
    const r = await orchard([flag]);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, `${pkg.name} ${pkg.version}`);
    assert.ok(!existsSync(r.dataDir), 'no data directory created');
  }
});

test('--help, -h and help list every command', async () => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = await orchard(args);
    assert.equal(r.code, 0, r.err);
    for (const name of Object.keys(commandHelp)) assert.match(r.out, new RegExp(`^  ${name} `, 'm'), `${args[0]} lists ${name}`);
  }
});

test('every command answers --help and -h with its own usage, without loading the configuration or starting anything', async () => {
  // A configuration that would fail to load: --help must not look at it.
  const env = { ORCHARD_CONFIG: '/nonexistent/orchard.yml' };
  for (const name of Object.keys(commandHelp).filter((n) => n !== 'help')) {
    for (const flag of ['--help', '-h']) {
      const r = await orchard([name, flag], env, name === 'serve' && flag === '--help' ? 'process' : 'here');
      assert.equal(r.code, 0, `${name} ${flag}: ${r.err}`);
      assert.ok(r.out.startsWith(`Usage: orchard ${name}`), `${name} ${flag}: ${r.out}`);
      assert.ok(!existsSync(r.dataDir), `${name} ${flag} created no data directory`);
    }
  }
  const r = await orchard(['help', 'consume']);
  assert.equal(r.code, 0);
  assert.match(r.out, /--from 0\|\$\|ID/);
});

test('an unknown option where a command belongs is a usage error (exit 2), never a start of the server', async () => {
  for (const args of [['--port', '9999'], ['-x'], ['--config']]) {
    const r = await orchard(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}`);
    assert.match(r.err, new RegExp(`unknown option "${args[0]}"`));
    assert.match(r.err, /Usage: orchard \[command\]/);
    assert.ok(!existsSync(r.dataDir), 'nothing started: no data directory');
  }
});

test('an unknown option of a command is a usage error naming it, with the command usage', async () => {
  const r = await orchard(['serve', '--bogus']);
  assert.equal(r.code, 2);
  assert.match(r.err, /orchard serve: Unknown option '--bogus'/);
  assert.match(r.err, /Usage: orchard serve \[--config FILE\]/);
  assert.ok(!existsSync(r.dataDir));
  const stray = await orchard(['secret', 'extra']);
  assert.equal(stray.code, 2);
  assert.match(stray.err, /orchard secret: unexpected argument "extra"/);
});

test('an unknown command is refused with the closest one suggested', async () => {
  const r = await orchard(['serv']);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown command "serv" \(did you mean serve\?\)/);
});

test('every command that reads the configuration takes --config FILE (or --config=FILE) over ORCHARD_CONFIG; without a file it is a usage error', async () => {
  const file = join(dir, 'config-option.yml');
  writeFileSync(file, 'connectors:\n  - name: acme-jumpcloud\n    type: jumpcloud.directory_insights\n    api_key: not-a-real-key\n');
  const elsewhere = { ORCHARD_CONFIG: '/nonexistent/orchard.yml' };
  // A connector the file does not list: the configuration is read (and named) before Redis or a vendor is reached.
  for (const args of [['checkpoint', 'show', 'nope', '--config', file], ['test', `--config=${file}`, 'nope'], ['verify', 'nope', '--since', '2026-11-01T00:00:00Z', '--config', file], ['jamf-webhooks', 'plan', 'nope', '--config', file]]) {
    const r = await orchard(args, elsewhere, 'here');
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, new RegExp(`No connector named "nope" in ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\. Configured: acme-jumpcloud\\.`), args.join(' '));
  }
  const unread = await orchard(['checkpoint', 'show', 'nope'], elsewhere, 'here');
  assert.match(unread.err, /ORCHARD_CONFIG: cannot read \/nonexistent\/orchard\.yml/, 'without --config, ORCHARD_CONFIG is read');
  for (const args of [['checkpoint', 'show', 'acme-jumpcloud', '--config'], ['secret', '--config='], ['consume', '--config', '--group', 'g']]) {
    const r = await orchard(args, elsewhere, 'here');
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, new RegExp(`^orchard ${args[0]}: option '--config FILE' needs the configuration file\\nUsage: orchard ${args[0]} `), args.join(' '));
  }
  // After --, it is an argument like any other, not the option.
  const positional = await orchard(['checkpoint', 'show', '--', '--config'], elsewhere, 'here');
  assert.doesNotMatch(positional.err, /needs the configuration file/);
});
