import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { ConnectorStateStore } from '../../src/connector-state/connector-state-store.ts';
import { startConnector } from '../helpers/connector-harness.ts';
import { orchardHere } from '../helpers/orchard-here.ts';
import { runOrchard } from '../helpers/orchard-process.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { waitForReady } from '../helpers/test-app.ts';
import { MockJamfPro } from '../mocks/jamf-pro-server.ts';

let server: TestRedis;
let redis: Redis;
let mock: MockJamfPro;
let dir: string;
before(async () => {
  server = await TestRedis.start();
  redis = server.client();
  await waitForReady(redis);
  mock = await MockJamfPro.start({ computers: 120 });
  dir = mkdtempSync(join(tmpdir(), 'orchard-cli-'));
});
after(async () => {
  await mock.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

function configFile(entry: Record<string, unknown>): string {
  const file = join(dir, `orchard-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(file, stringify({ connectors: [{ name: 'fleet', type: 'jamf_pro.inventory', base_url: mock.url, client_id: 'orchard-test-client', client_secret: '${JAMF_SECRET}', ...entry }] }));
  return file;
}

// Most invocations run in this process (orchardHere: the calls run() makes, ~0.5 CPU-s less each);
// those only a real process shows — the exit code end to end, argument parsing, secrets on the real
// stdout and stderr, one real checkpoint run — run `node bin/orchard.js` (orchardProcess).

/** `node bin/orchard.js <args>`: its exit code and every line it printed. */
async function orchardProcess(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  const proc = runOrchard({ ORCHARD_DATA_DIR: dir, ...env }, args);
  const { code } = await proc.closed;
  return { code, out: proc.stdout.join('\n'), err: proc.stderr.join('\n') };
}

/** The same command in this process, with the same environment. */
function orchard(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  return orchardHere({ ORCHARD_DATA_DIR: dir, ...env }, args);
}

test('orchard test: credentials, permissions and a one-page dry run that writes nothing', async () => {
  const before = mock.requests.length;
  const r = await orchard(['test', 'fleet'], { ORCHARD_CONFIG: configFile({ page_size: 50 }), JAMF_SECRET: 'orchard-test-secret', REDIS_URL: server.url });
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /ok {4}credentials and permissions: Token granted for client_id orchard-test-client; reading computer inventory is permitted \(120 computers\)/);
  assert.match(r.out, /ok {4}one-page dry run: 50 received, 50 record\(s\) made from the first page, as a first run would make them \(more pages follow\); a run appends only those its checkpoint has not seen/);
  assert.match(r.out, /first record: id 1:\d{4}-/);
  assert.match(r.out, /Nothing was written\./);
  assert.equal(mock.requests.slice(before).filter((x) => x.route === 'inventory').length, 2);
});

test('orchard test <name> needs only that connector\'s secrets; serve needs them all', async () => {
  const file = join(dir, `orchard-two-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(
    file,
    stringify({
      connectors: [
        { name: 'fleet', type: 'jamf_pro.inventory', base_url: mock.url, client_id: 'orchard-test-client', client_secret: '${JAMF_SECRET}', page_size: 10 },
        { name: 'directory', type: '${JUMPCLOUD_TYPE}', base_url: '${JUMPCLOUD_URL}', api_key: '${JUMPCLOUD_KEY}' },
      ],
    }),
  );
  const r = await orchard(['test', 'fleet'], { ORCHARD_CONFIG: file, JAMF_SECRET: 'orchard-test-secret', REDIS_URL: server.url });
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /ok {4}credentials and permissions/);
  const other = await orchardProcess(['test', 'directory'], { ORCHARD_CONFIG: file, JAMF_SECRET: 'orchard-test-secret', REDIS_URL: server.url });
  assert.equal(other.code, 2);
  assert.match(other.err, /connectors #2 \(directory\)\.api_key: refers to \$\{JUMPCLOUD_KEY\}/);
  const show = await orchard(['checkpoint', 'show', 'fleet'], { ORCHARD_CONFIG: file, JAMF_SECRET: 'x', REDIS_URL: server.url });
  assert.equal(show.code, 0, show.out + show.err);
  const typo = await orchard(['test', 'flet'], { ORCHARD_CONFIG: file, JAMF_SECRET: 'x' });
  assert.equal(typo.code, 2);
  assert.match(typo.err, /No connector named "flet" in .*Configured: fleet, directory\. Did you mean fleet\?/);
});

test('orchard test: a wrong secret prints the credentials diagnosis and remedy, never the secret, and exits 1', async () => {
  const r = await orchardProcess(['test', 'fleet'], { ORCHARD_CONFIG: configFile({}), JAMF_SECRET: 'not-the-right-secret' });
  assert.equal(r.code, 1);
  assert.match(r.out, /FAIL {2}credentials and permissions/);
  assert.match(r.out, /diagnosis: credentials \(HTTP 401\)/);
  assert.match(r.out, /remedy: .*client_secret/);
  assert.ok(!(r.out + r.err).includes('not-the-right-secret'));
});

test('orchard test: a wrong base_url is a url diagnosis naming base_url; an unknown connector lists the configured ones', async () => {
  const r = await orchard(['test', 'fleet'], { ORCHARD_CONFIG: configFile({ base_url: `${mock.url}/nothing-here` }), JAMF_SECRET: 'orchard-test-secret' });
  assert.equal(r.code, 1);
  assert.match(r.out, /diagnosis: url \(HTTP 404\)/);
  assert.match(r.out, /base_url/);
  const unknown = await orchard(['test', 'flet'], { ORCHARD_CONFIG: configFile({}), JAMF_SECRET: 'x' });
  assert.equal(unknown.code, 2);
  assert.match(unknown.err, /No connector named "flet" in .*Configured: fleet\./);
});

test('orchard checkpoint without REDIS_URL and without Orchard data in ORCHARD_DATA_DIR: an error, and nothing created', async () => {
  const missing = join(dir, 'no-such-data-dir');
  const proc = runOrchard({ ORCHARD_DATA_DIR: missing, ORCHARD_CONFIG: configFile({}), JAMF_SECRET: 'x' }, ['checkpoint', 'show', 'fleet']);
  const { code } = await proc.closed;
  assert.equal(code, 1);
  assert.match(proc.stderr.join('\n'), /No Orchard data in ORCHARD_DATA_DIR=.*no-such-data-dir/);
  assert.equal(existsSync(missing), false);
});

test('orchard checkpoint show and reset [--since]: the next run reloads', async (t) => {
  const stream = `cli${Math.random().toString(36).slice(2, 8)}:events`;
  const h = await startConnector(server, { name: 'fleet', type: 'jamf_pro.inventory', base_url: mock.url, client_id: 'orchard-test-client', client_secret: 'orchard-test-secret', interval: '1h' }, { stream });
  t.after(() => h.stop());
  await h.waitForRuns(1);
  await h.stop();
  const env = { ORCHARD_CONFIG: configFile({}), JAMF_SECRET: 'orchard-test-secret', REDIS_URL: server.url, ORCHARD_STREAM: stream };
  const shown = await orchard(['checkpoint', 'show', 'fleet'], env);
  assert.equal(shown.code, 0, shown.err);
  const doc = JSON.parse(shown.out);
  assert.equal(doc.connector, 'fleet');
  assert.equal(doc.versions, 120);
  assert.equal(doc.checkpoint.runOpen, false);
  assert.deepEqual(doc.checkpoint.cursor, { scan: 2, page: 0, lastId: null });
  assert.equal(doc.lease, null, 'released on stop');

  const reset = await orchard(['checkpoint', 'reset', 'fleet', '--since', '2026-01-02T03:04:05Z'], env);
  assert.equal(reset.code, 0, reset.err);
  assert.match(reset.out, /Reset the checkpoint of fleet \(forgot 120 remembered version\(s\)\)\. Its next run starts from 2026-01-02T03:04:05.000Z and reloads the whole fleet\./);
  const stored = await new ConnectorStateStore(redis, stream).read('fleet');
  assert.equal(stored.versions, 0);
  assert.equal(stored.checkpoint?.since, '2026-01-02T03:04:05.000Z');
  assert.equal(stored.checkpoint?.lastRunEndedAt, null, 'so the next run starts at once');

  const bad = await orchard(['checkpoint', 'reset', 'fleet', '--since', 'yesterday'], env);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /--since yesterday: not a time/);
  for (const args of [['--since'], ['--sinc', '2026-01-01T00:00:00Z']]) {
    // Refused by the CLI's strict argument parsing (src/cli/orchard.ts), so a real process.
    const refused = await orchardProcess(['checkpoint', 'reset', 'fleet', ...args], env);
    assert.equal(refused.code, 2, `${args.join(' ')} is refused, not taken as a reset to the beginning`);
    assert.match(refused.err, /Usage: orchard checkpoint/);
  }
  assert.equal((await new ConnectorStateStore(redis, stream).read('fleet')).checkpoint?.since, '2026-01-02T03:04:05.000Z', 'nothing reset by the refused commands');
  const usage = await orchard(['checkpoint', 'drop', 'fleet'], env);
  assert.equal(usage.code, 2);
  assert.match(usage.err, /Usage: orchard checkpoint show\|reset/);
});
