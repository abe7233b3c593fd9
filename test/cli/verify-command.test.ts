import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { verifyCommand } from '../../src/cli/verify-command.ts';
import { ConnectorStateStore } from '../../src/connector-state/connector-state-store.ts';
import { WindowVerifier } from '../../src/connectors/window-verifier.ts';
import { createSource } from '../../src/sources/index.ts';
import { createLogger } from '../../src/logger.ts';
import { startConnector } from '../helpers/connector-harness.ts';
import { runOrchard } from '../helpers/orchard-process.ts';
import { useTestRedis } from '../helpers/redis-server.ts';
import { captureLogs, readStream } from '../helpers/test-app.ts';
import { MockJumpCloud } from '../mocks/jumpcloud-server.ts';
import { capturedIo, orchardHere } from '../helpers/orchard-here.ts';

// `orchard verify` end to end: a Directory Insights connector appends what JumpCloud lists; JumpCloud
// counts more (events it indexed late). verify prints the short window; verify --repair, once the late
// events are listed, appends them once and prints the window repaired.

const shared = useTestRedis();

const hour = 3_600_000;
const year = 365 * 24 * hour;

test('verify prints a table per window, exits 1 on a short one; --repair appends what the stream lacks, once, and exits 0', async (t) => {
  let offsetMs = 0;
  const mock = await MockJumpCloud.start({ now: () => Date.now() + offsetMs });
  t.after(() => mock.close());
  const first = Math.floor(Date.now() / hour) * hour - 3 * hour;
  mock.generateEvents(40, { fromMs: first + 60_000, toMs: first + hour - 60_000, seed: 5 });
  mock.generateEvents(40, { fromMs: first + hour + 60_000, toMs: first + 2 * hour - 60_000, seed: 6 });
  const late = mock.addEvents([{ timestamp: first + hour + 20 * 60_000 }, { timestamp: first + hour + 21 * 60_000 }], { visibleAfterMs: year });
  const h = await startConnector(shared.server, { name: 'acme-jc', type: 'jumpcloud.directory_insights', tenant: 'acme', base_url: mock.url, api_key: 'orchard-test-jumpcloud-key', interval: '1h', start: new Date(first).toISOString() });
  t.after(() => h.stop());
  await h.waitFor((s) => (s as unknown as { completeness?: { gaps: unknown[] } }).completeness?.gaps.length === 1, 'the connector\'s own check to find the gap');
  await h.stop();
  const logger = createLogger({ level: 'warn', secretHeader: h.config.webhookHeader, destination: captureLogs().destination });
  const args = { name: 'acme-jc', since: new Date(first).toISOString(), until: new Date(first + 2 * hour).toISOString() };

  const check = capturedIo();
  assert.equal(await verifyCommand(h.config, logger, args, check.io), 1, check.err());
  const lines = check.out().trimEnd().split('\n');
  assert.match(lines[0]!, /^window start\s+window end\s+org\s+service\s+vendor\s+stream\s+recovered\s+result$/);
  assert.equal(lines.length, 2 + 2 + 1, 'header, rule, two windows, summary');
  assert.deepEqual(lines[2]!.split(/\s+/), [new Date(first).toISOString(), new Date(first + hour).toISOString(), '-', 'all', '40', '40', '0', 'verified']);
  assert.deepEqual(lines[3]!.split(/\s+/), [new Date(first + hour).toISOString(), new Date(first + 2 * hour).toISOString(), '-', 'all', '42', '40', '0', 'short']);
  assert.match(lines[4]!, /2 window\(s\) of acme-jc: 1 verified, 0 repaired, 1 short \(--repair re-pulls them\)\./);

  offsetMs = 2 * year; // JumpCloud lists the late events now.
  // A connector behind (its cursor before the window): the window is its runs' to read, not re-pulled.
  const reader = shared.server.client();
  t.after(() => reader.disconnect());
  const keys = h.state.keys('acme-jc');
  const data = (await reader.hget(keys.checkpoint, 'data'))!;
  const behindCursor = JSON.parse(data);
  behindCursor.cursor.until = new Date(first + hour).toISOString();
  await reader.hset(keys.checkpoint, 'data', JSON.stringify(behindCursor));
  const behind = capturedIo();
  assert.equal(await verifyCommand(h.config, logger, { ...args, repair: true }, behind.io), 1);
  assert.match(behind.out(), /1 short window\(s\) were not re-pulled: the connector's runs have not read past them yet/);
  assert.equal((await readStream(reader, h.stream)).length, 80);
  await reader.hset(keys.checkpoint, 'data', data);
  const repair = capturedIo();
  assert.equal(await verifyCommand(h.config, logger, { ...args, repair: true }, repair.io), 0, repair.err());
  assert.deepEqual(repair.out().split('\n')[3]!.split(/\s+/), [new Date(first + hour).toISOString(), new Date(first + 2 * hour).toISOString(), '-', 'all', '42', '42', '2', 'repaired']);
  // The connector's gap, past its own re-pulls, is counted again within the hour and closed.
  const state = new ConnectorStateStore(reader, h.stream);
  const stuck = await state.windows().readState('acme-jc');
  assert.equal(stuck.gaps.length, 1);
  await state.windows().writeState('acme-jc', { ...stuck, gaps: stuck.gaps.map((g) => ({ ...g, attempts: 3 })) });
  const { source } = createSource(h.config.connectors[0]!, h.config);
  t.after(() => source.close());
  const verifier = new WindowVerifier({ connector: 'acme-jc', counting: source.windows!, store: state.windows(), logger, now: () => Date.now() + 2 * hour });
  const closed = await verifier.run(AbortSignal.timeout(20_000), (await state.read('acme-jc')).checkpoint?.cursor);
  assert.deepEqual(closed.gaps, []);
  assert.equal(closed.totals.repaired, stuck.totals.repaired + 1);
  const again = capturedIo();
  assert.equal(await verifyCommand(h.config, logger, { ...args, repair: true }, again.io), 0);
  assert.match(again.out(), /2 window\(s\) of acme-jc: 2 verified, 0 repaired, 0 short\./);
  const ids = (await readStream(reader, h.stream)).map((e) => e.fields.id);
  assert.equal(ids.length, 82, 'each late event appended once, however often verify --repair runs');
  for (const e of late) assert.ok(ids.includes(e.id));
});

test('verify refuses what it cannot do, naming why', async (t) => {
  const mock = await MockJumpCloud.start();
  t.after(() => mock.close());
  const h = await startConnector(shared.server, { name: 'acme-jc', type: 'jumpcloud.directory_insights', base_url: mock.url, api_key: 'orchard-test-jumpcloud-key', interval: '1h', verify_after: 'off' });
  t.after(() => h.stop());
  const logger = createLogger({ level: 'warn', secretHeader: h.config.webhookHeader, destination: captureLogs().destination });
  const cases: [Parameters<typeof verifyCommand>[2], RegExp][] = [
    [{ name: 'acme-jc' }, /--since is required/],
    [{ name: 'acme-jc', since: 'yesterday' }, /--since yesterday: not a time/],
    [{ name: 'nope', since: '2026-11-01T00:00:00Z' }, /No connector named "nope"/],
    [{ name: 'acme-jc', since: '2026-11-01T00:00:00Z' }, /no windows to verify: .*unless verify_after is off/],
  ];
  for (const [args, message] of cases) {
    const run = capturedIo();
    assert.equal(await verifyCommand(h.config, logger, args, run.io), 2);
    assert.match(run.err(), message);
  }
});

test('orchard verify from the command line: listed in help, its flags checked, the table printed', async (t) => {
  const mock = await MockJumpCloud.start();
  t.after(() => mock.close());
  const dir = mkdtempSync(join(tmpdir(), 'orchard-verify-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const config = join(dir, 'orchard.yml');
  writeFileSync(config, stringify({ connectors: [{ name: 'acme-jc', type: 'jumpcloud.directory_insights', base_url: mock.url, api_key: 'orchard-test-jumpcloud-key' }] }));
  const env = { REDIS_URL: shared.server.url, ORCHARD_CONFIG: config, ORCHARD_STREAM: `v${Math.random().toString(36).slice(2, 8)}:events`, ORCHARD_WEBHOOK_SECRETS: 'unused-secret-0123456789' };
  // Help and usage errors through main() in this process; the table from a real process.
  const run = async (args: string[]) => {
    const proc = runOrchard(env, args);
    const { code } = await proc.closed;
    return { code, out: proc.stdout.join('\n'), err: proc.stderr.join('\n') };
  };
  const here = (args: string[]) => orchardHere(env, args);
  const help = await here(['help']);
  assert.match(help.out, /^ {2}verify +Check a connector's closed windows against the vendor's counts/m);
  const usage = await here(['verify', '--help']);
  assert.match(usage.out, /verify <connector> --since T \[--until T\] \[--repair\]/);
  assert.match(usage.out, /--repair +re-pull the short windows/);
  const bad = await here(['verify', 'acme-jc', '--since', '2026-11-01T00:00:00Z', '--repiar']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /orchard verify: .*--repiar[\s\S]*Usage: orchard verify <connector> --since T \[--until T\] \[--repair\]/);
  const since = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3 * 3_600_000).toISOString();
  const ok = await run(['verify', 'acme-jc', '--since', since, '--until', new Date(Date.parse(since) + 3_600_000).toISOString()]);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /^window start +window end +org +service +vendor +stream +recovered +result$/m);
  assert.match(ok.out, /1 window\(s\) of acme-jc: 1 verified, 0 repaired, 0 short\./);
});
