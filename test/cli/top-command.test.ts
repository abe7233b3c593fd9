import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { request } from 'undici';
import { readTopSample, topCommand, type TopTerminal } from '../../src/cli/top-command.ts';
import { renderTop } from '../../src/cli/top-screen.ts';
import { loadOrchardConfig } from '../../src/sources/index.ts';
import { fixtureBytes } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/free-port.ts';
import { orchardHere } from '../helpers/orchard-here.ts';
import { killOrchard, runOrchard, startOrchardProcess, type OrchardProcess } from '../helpers/orchard-process.ts';
import { TestRedis } from '../helpers/redis-server.ts';

// `orchard top` against a running Orchard (a process with an admin port and a real Redis): the
// screen's text is what is checked.

const secret = 'top-test-secret-0123456789';
const checkIn = fixtureBytes('jamf_pro/webhook-templates-camelcase/ComputerCheckIn.json');
let redis: TestRedis;
let orchard: OrchardProcess & { url: string };
let adminUrl: string;
let dir: string;

before(async () => {
  redis = await TestRedis.start();
  dir = mkdtempSync(join(tmpdir(), 'orchard-top-'));
  const config = join(dir, 'orchard.yml');
  writeFileSync(config, `connectors:\n  - name: acme-users\n    type: jumpcloud.system_users\n    api_key: ${'k'.repeat(40)}\n    enabled: false\n`);
  orchard = await startOrchardProcess({
    REDIS_URL: redis.url,
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
    ORCHARD_ADMIN_PORT: String(await freePort()),
    ORCHARD_ADMIN_HOST: '127.0.0.1',
    ORCHARD_DATA_DIR: join(dir, 'data'),
    ORCHARD_WEBHOOK_SECRETS: secret,
    ORCHARD_CONFIG: config,
  });
  adminUrl = orchard.adminUrl!;
});
after(async () => {
  await killOrchard(orchard);
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

const post = async () => {
  const res = await request(`${orchard.url}/jamf-pro-events`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-orchard-secret': secret }, body: checkIn });
  await res.body.dump();
  return res.statusCode;
};

test('orchard top, run without a terminal, prints one screen of the running Orchard: routes with their answers, connectors, spool, stream', async () => {
  assert.equal(await post(), 202);
  const proc = runOrchard({}, ['top', '--url', adminUrl]);
  const { code } = await proc.closed;
  assert.equal(code, 0, proc.stderr.join('\n'));
  const screen = proc.stdout.join('\n');
  assert.match(screen, new RegExp(`^Orchard ${adminUrl.replace(/[.]/g, '\\.')}  up \\S+  accepting  Redis ready`));
  assert.match(screen, /^ROUTE\s+REQ\/S\s+2XX\s+4XX\s+503\s+5XX\s+AUTH FAILED$/m);
  assert.match(screen, /^\/jamf-pro-events\s+-\s+1\s+0\s+0\s+0\s+0$/m, screen);
  assert.match(screen, /^\/jamf-protect-events\s/m);
  assert.match(screen, /^acme-users\s+jumpcloud\.system_users\s+not_run\s.*disabled \(enabled: false\)$/m, screen);
  assert.match(screen, /^Spool: empty, 0 records, 0 B of 1\.0 GiB, oldest -$/m, screen);
  assert.match(screen, /^Stream orchard:events: \d+ entries$/m, screen);
});

test('the rates are the difference of two samples: requests per second per route', async () => {
  const first = await readTopSample(adminUrl);
  for (let i = 0; i < 3; i++) assert.equal(await post(), 200, 'the same check-in again: a duplicate, answered 200');
  const second = await readTopSample(adminUrl);
  const screen = renderTop(second, first, adminUrl);
  const row = screen.split('\n').find((l) => l.startsWith('/jamf-pro-events'))!;
  const rate = Number(row.split(/\s+/)[1]);
  assert.ok(rate > 0, row);
});

test('on a terminal the screen is redrawn until q, cut to its width; the terminal is given back', async () => {
  const frames: string[] = [];
  let quit = () => {};
  let undone = false;
  const terminal: TopTerminal = {
    isTTY: true,
    columns: 60,
    onQuit: (callback) => {
      quit = callback;
      return () => void (undone = true);
    },
  };
  const io = {
    out: (text: string) => {
      frames.push(text);
      if (frames.filter((f) => f.includes('ROUTE')).length === 2) quit();
    },
    err: (text: string) => assert.fail(text),
  };
  const code = await topCommand({ url: adminUrl, interval: '100ms' }, io, () => assert.fail('no configuration needed with --url'), terminal);
  assert.equal(code, 0);
  assert.ok(undone);
  const drawn = frames.filter((f) => f.includes('ROUTE'));
  assert.ok(drawn.every((f) => f.startsWith('\u001b[H\u001b[2J')), 'each frame clears the screen first');
  assert.match(drawn[1]!, /\/jamf-pro-events\s+\d+\.\d/, 'the second frame has a rate');
  assert.ok(drawn.every((f) => f.slice('\u001b[H\u001b[2J'.length).split('\r\n').every((line) => line.length <= 60)), 'lines cut at the terminal width');
  assert.equal(frames.at(-1), '\u001b[?25h\u001b[?1049l', 'cursor and screen restored');
});

test('when Orchard cannot be reached, top says so clearly (exit 1 without a terminal)', async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const r = await orchardHere({}, ['top', '--url', url]);
  assert.equal(r.code, 1);
  assert.match(r.err, new RegExp(`Cannot reach Orchard at ${url.replace(/[.]/g, '\\.')}: ECONNREFUSED`));
});

test('without --url, top reads the admin port from the configuration', async () => {
  const { topUrlFrom } = await import('../../src/cli/top-command.ts');
  const config = loadOrchardConfig({ PORT: '9202', ORCHARD_ADMIN_PORT: '9203' }, dir);
  assert.equal(topUrlFrom(config), 'http://127.0.0.1:9203');
  assert.equal(topUrlFrom(loadOrchardConfig({ PORT: '9300', HOST: '10.0.0.5' }, dir)), 'http://10.0.0.5:9300');
});
