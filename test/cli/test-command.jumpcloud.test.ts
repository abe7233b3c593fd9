import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { stringify } from 'yaml';
import { orchardHere } from '../helpers/orchard-here.ts';
import { runOrchard } from '../helpers/orchard-process.ts';
import { MockJumpCloud, type MockJumpCloudOptions } from '../mocks/jumpcloud-server.ts';

// `orchard test` for a JumpCloud connector with a Service Account: it tells a bad credential from a
// missing grant, says when JumpCloud reports an expiry, and says which secret of a rotation works.

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'orchard-jc-cli-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const account = { clientId: 'sa-cli-0123', secrets: ['cli-secret-one-0123456789', 'cli-secret-two-0123456789'] };

/**
 * `orchard test jc`: in this process (orchardHere, the calls run() makes) unless `real`, then
 * `node bin/orchard.js` — for its exit code and its real stdout and stderr.
 */
async function orchardTest(mock: MockJumpCloud, secrets: string[], real = false) {
  const file = join(dir, `orchard-${Math.random().toString(36).slice(2)}.yml`);
  const client_secret = secrets.map((_s, i) => `\${JC_SECRET_${i}}`);
  writeFileSync(file, stringify({ connectors: [{ name: 'jc', type: 'jumpcloud.directory_insights', base_url: mock.url, client_id: account.clientId, client_secret, token_url: `${mock.url}/oauth2/token` }] }));
  const env = Object.fromEntries(secrets.map((s, i) => [`JC_SECRET_${i}`, s]));
  let code: number | null;
  let out: string;
  if (real) {
    const proc = runOrchard({ ORCHARD_DATA_DIR: dir, ORCHARD_CONFIG: file, ...env }, ['test', 'jc']);
    ({ code } = await proc.closed);
    out = proc.stdout.join('\n') + proc.stderr.join('\n');
  } else {
    const r = await orchardHere({ ORCHARD_DATA_DIR: dir, ORCHARD_CONFIG: file, ...env }, ['test', 'jc']);
    code = r.code;
    out = r.out + r.err;
  }
  for (const s of secrets) assert.ok(!out.includes(s), 'no secret in the output');
  return { code, out };
}

async function withMock<T>(options: MockJumpCloudOptions, fn: (mock: MockJumpCloud) => Promise<T>): Promise<T> {
  const mock = await MockJumpCloud.start(options);
  try {
    return await fn(mock);
  } finally {
    await mock.close();
  }
}

test('orchard test with a Service Account: accepted, and which secret of a rotation is in use', async () => {
  await withMock({ serviceAccount: account }, async (mock) => {
    const ok = await orchardTest(mock, [account.secrets[0]!]);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /ok {4}credentials and permissions: The service account \(token from the token URL, using its client secret\) is accepted; reading Directory Insights events \(all\) is permitted/);
    // The real CLI: exit code 0, and neither secret of the rotation on its real stdout and stderr.
    const rotated = await orchardTest(mock, ['revoked-secret-0123456789', account.secrets[1]!], true);
    assert.equal(rotated.code, 0, rotated.out);
    assert.match(rotated.out, /using the second of its 2 client secrets/);
    assert.match(rotated.out, /refused the first client_secret \(HTTP 401\)/);
  });
});

test('orchard test tells a bad credential (401) from a missing grant (403), and says when JumpCloud reports an expiry', async () => {
  await withMock({ serviceAccount: account }, async (mock) => {
    const bad = await orchardTest(mock, ['wrong-secret-0123456789']);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /diagnosis: credentials \(HTTP 401\)/);
    assert.match(bad.out, /connectors\[jc\]\.client_id, connectors\[jc\]\.client_secret and connectors\[jc\]\.token_url/);
    mock.failNext('token', { status: 401, body: '{"error":"invalid_client","error_description":"The client secret has expired."}' });
    const expired = await orchardTest(mock, [account.secrets[0]!]);
    assert.equal(expired.code, 1);
    assert.match(expired.out, /reports that the credentials of connector jc expired .*The client secret has expired/);
    assert.match(expired.out, /Create a new secret or key/);
  });
  await withMock({ serviceAccount: { ...account, grantDenied: true } }, async (mock) => {
    const denied = await orchardTest(mock, [account.secrets[0]!]);
    assert.equal(denied.code, 1);
    assert.match(denied.out, /diagnosis: permissions \(HTTP 403\)/);
    assert.match(denied.out, /accepted the credentials of connector jc but does not grant them a token/);
  });
});
