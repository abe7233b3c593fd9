import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { orchardHere } from '../helpers/orchard-here.ts';
import { runOrchard } from '../helpers/orchard-process.ts';
import { MockJamfProtect } from '../mocks/jamf-protect-server.ts';

// `orchard test` for a jamf_protect.alerts connector: success, and Stellar Cyber's table of failures
// (400 configuration, 401 credentials, 403 permissions, 404 URL, 429 rate limit) each with its
// diagnosis, plus a GraphQL error in a 200 answer.

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'orchard-protect-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const password = 'orchard-test-protect-password';

/**
 * `orchard test protect`: in this process (orchardHere, the calls run() makes) unless `real`, then
 * `node bin/orchard.js` — for its exit code and its real stdout and stderr.
 */
async function orchardTest(mock: MockJamfProtect, entry: Record<string, unknown> = {}, env: Record<string, string> = {}, real = false) {
  const file = join(dir, `orchard-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(
    file,
    stringify({ connectors: [{ name: 'protect', type: 'jamf_protect.alerts', base_url: mock.url, client_id: 'orchard-test-protect-client', password: '${PROTECT_PASSWORD}', ...entry }] }),
  );
  const fullEnv = { ORCHARD_DATA_DIR: dir, ORCHARD_CONFIG: file, PROTECT_PASSWORD: password, ...env };
  if (!real) return orchardHere(fullEnv, ['test', 'protect']);
  const proc = runOrchard(fullEnv, ['test', 'protect']);
  const { code } = await proc.closed;
  return { code, out: proc.stdout.join('\n'), err: proc.stderr.join('\n') };
}

async function withMock<T>(fn: (mock: MockJamfProtect) => Promise<T>, options: ConstructorParameters<typeof MockJamfProtect>[0] = {}): Promise<T> {
  const mock = new MockJamfProtect(options);
  await mock.start();
  try {
    return await fn(mock);
  } finally {
    await mock.close();
  }
}

test('orchard test on Jamf Protect: token, listAlerts permission and a one-page dry run', async () => {
  await withMock(async (mock) => {
    const now = Date.now();
    mock.addAlerts(mock.generateAlerts({ count: 7, seed: 1, fromMs: now - 3_600_000, toMs: now }));
    const r = await orchardTest(mock);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /ok {4}credentials and permissions: The API client is accepted .*7 alerts/);
    assert.match(r.out, /ok {4}one-page dry run: 7 received, 7 record\(s\) made from the first page/);
    assert.match(r.out, /first record: id [0-9a-fA-F-]{36}, type GP\w+Event/);
    assert.ok(!(r.out + r.err).includes(password));
  });
});

// `real`: the row runs the real CLI (its exit code, and no password on its real stdout and stderr).
const table: { name: string; setup: (mock: MockJamfProtect) => void; entry?: (mock: MockJamfProtect) => Record<string, unknown>; env?: Record<string, string>; real?: boolean; category: RegExp; mentions: RegExp }[] = [
  { name: '400 from /token', setup: (m) => m.failNext('token', { status: 400 }), category: /diagnosis: configuration \(HTTP 400\)/, mentions: /Check/ },
  { name: '401: wrong password', setup: () => {}, env: { PROTECT_PASSWORD: 'wrong-password-123' }, real: true, category: /diagnosis: credentials \(HTTP 401\)/, mentions: /connectors\[protect\]\.client_id and connectors\[protect\]\.password/ },
  { name: '403 from /graphql', setup: (m) => m.failNext('graphql', { status: 403 }), category: /diagnosis: permissions \(HTTP 403\)/, mentions: /role/ },
  { name: '404: a path the API does not have', setup: () => {}, entry: (m) => ({ base_url: `${m.url}/api` }), category: /diagnosis: url \(HTTP 404\)/, mentions: /base_url/ },
  { name: '429 with a long Retry-After', setup: (m) => m.failNext('graphql', { status: 429, retryAfterSeconds: 3600 }), category: /diagnosis: rate_limit \(HTTP 429\)/, mentions: /interval/ },
  { name: 'GraphQL error in a 200 answer', setup: (m) => m.failNext('graphql', { graphqlError: 'Not Authorized to access listAlerts on type Query', errorType: 'Unauthorized' }), category: /diagnosis: permissions\n/, mentions: /GraphQL error to POST \/graphql/ },
];

for (const row of table) {
  test(`orchard test on Jamf Protect: ${row.name} gives its diagnosis and exit 1`, async () => {
    await withMock(async (mock) => {
      row.setup(mock);
      const r = await orchardTest(mock, row.entry?.(mock) ?? {}, row.env ?? {}, row.real);
      assert.equal(r.code, 1, r.out + r.err);
      assert.match(r.out, row.category);
      assert.match(r.out, row.mentions);
      assert.ok(!(r.out + r.err).includes(password) && !(r.out + r.err).includes('wrong-password-123'), 'no password in the output');
    });
  });
}
