import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { orchardHere } from '../helpers/orchard-here.ts';
import { runOrchard } from '../helpers/orchard-process.ts';

// The first two tests run `node bin/orchard.js validate` as a user does (exit codes, nothing created);
// the others run the same main() in this process (orchardHere), with the same environment.

const dir = mkdtempSync(join(tmpdir(), 'orchard-validate-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(text: string): string {
  const path = join(dir, `orchard-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(path, text);
  return path;
}

async function validate(args: string[], env: Record<string, string> = {}, where: 'process' | 'here' = 'here') {
  const dataDir = join(dir, `data-${Math.random().toString(36).slice(2)}`);
  if (where === 'here') return { ...(await orchardHere({ ORCHARD_DATA_DIR: dataDir, ...env }, ['validate', ...args])), dataDir };
  const proc = runOrchard({ ORCHARD_DATA_DIR: dataDir, ...env }, ['validate', ...args]);
  const { code } = await proc.closed;
  return { code, out: proc.stdout.join('\n'), err: proc.stderr.join('\n'), dataDir };
}

const jumpcloud = (name: string, extra = '') => `  - name: ${name}\n    type: jumpcloud.directory_insights\n    api_key: \${JC_KEY}\n${extra}`;

test('a valid configuration: exit 0 and a summary naming the connectors; nothing is started or created', async () => {
  const r = await validate(['--config', file(`connectors:\n${jumpcloud('acme')}${jumpcloud('globex', '    enabled: false\n')}`)], { JC_KEY: 'k'.repeat(40) }, 'process');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /is valid: 2 connectors \(acme, globex \(disabled\)\), webhook authentication header, embedded Redis in /);
  assert.ok(!existsSync(r.dataDir), 'no data directory, no secret, no Redis');
});

test('an invalid configuration: exit 2 and every problem listed, in words, with entry numbers as the file counts them', async () => {
  const path = file(
    [
      'connectors:',
      jumpcloud('acme', '    interval: 15\n').trimEnd(),
      '  - name: acme',
      '    type: jumpcloud.system_users',
      '    api_key: ${ACME_KEY',
      '    interval: 5 minutes',
      '',
    ].join('\n'),
  );
  const r = await validate(['--config', path], { JC_KEY: 'k'.repeat(40), ORCHARD_STREAM_MAX_AGE: '7' }, 'process');
  assert.equal(r.code, 2, r.out);
  assert.match(r.err, /is invalid: 5 problems\./);
  assert.ok(r.err.includes(`line 8: "\${ACME_KEY" is not a complete reference to an environment variable: write \${NAME}`), r.err);
  assert.ok(r.err.includes('connectors #1 (acme).interval: 15 has no unit: give a duration such as 5m'), r.err);
  assert.ok(r.err.includes('connectors #2 (acme).interval: "5 minutes" is not a duration: give a duration such as'), r.err);
  assert.ok(r.err.includes('connectors #2 (acme).name: "acme" is used by an earlier connector'), r.err);
  assert.ok(r.err.includes('ORCHARD_STREAM_MAX_AGE (stream_max_age): 7 has no unit'), r.err);
});

test('without --config, ORCHARD_CONFIG is checked; an unreadable file is a problem, not a crash', async () => {
  const r = await validate([], { ORCHARD_CONFIG: join(dir, 'missing.yml') });
  assert.equal(r.code, 2);
  assert.match(r.err, /ORCHARD_CONFIG: cannot read .*missing\.yml: ENOENT/);
});

test('environment variables that look like settings but are not are warned about', async () => {
  const r = await validate([], { ORCHARD_WEBHOOK_SECRET: 'x'.repeat(20) });
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /warning: ORCHARD_WEBHOOK_SECRET is not an Orchard setting/);
});

test('what serve would need is checked too: the TLS files it names, and redis-server for the embedded Redis', async () => {
  const r = await validate([], { ORCHARD_TLS_CERT_FILE: join(dir, 'missing.crt'), ORCHARD_TLS_KEY_FILE: join(dir, 'missing.key'), PATH: dir });
  assert.equal(r.code, 2, r.out);
  assert.match(r.err, /is invalid: 3 problems\./);
  assert.match(r.err, /ORCHARD_TLS_CERT_FILE \(tls_cert_file\): cannot read .*missing\.crt: ENOENT/);
  assert.match(r.err, /ORCHARD_TLS_KEY_FILE \(tls_key_file\): cannot read .*missing\.key: ENOENT/);
  assert.match(r.err, /redis-server is not on PATH/);
  const withUrl = await validate([], { REDIS_URL: 'redis://127.0.0.1:6390', PATH: dir });
  assert.equal(withUrl.code, 0, withUrl.err);
});

test('Redis Cluster and Sentinel settings: the Redis named in the summary (no password), a stream without a hash tag refused', async () => {
  const cluster = await validate([], { ORCHARD_REDIS_CLUSTER_NODES: 'redis-a:6379,redis-b:6379', ORCHARD_STREAM: '{orchard}:events', ORCHARD_REDIS_PASSWORD: 'cluster-pass-secret', ORCHARD_WEBHOOK_SECRETS: 's'.repeat(20) });
  assert.equal(cluster.code, 0, cluster.err);
  assert.match(cluster.out, /Redis at cluster:\/\/redis-a:6379,redis-b:6379\./);
  const sentinel = await validate([], { ORCHARD_REDIS_SENTINELS: 's1:26379,s2:26379,s3:26379', ORCHARD_REDIS_SENTINEL_NAME: 'orchard', ORCHARD_WEBHOOK_SECRETS: 's'.repeat(20) });
  assert.equal(sentinel.code, 0, sentinel.err);
  assert.match(sentinel.out, /Redis at sentinel:\/\/s1:26379,s2:26379,s3:26379\/orchard\./);
  const untagged = await validate([], { ORCHARD_REDIS_CLUSTER_NODES: 'redis-a:6379', ORCHARD_WEBHOOK_SECRETS: 's'.repeat(20) });
  assert.equal(untagged.code, 2);
  assert.match(untagged.err, /ORCHARD_STREAM \(stream\) is "orchard:events", which has no hash tag.*ORCHARD_STREAM=\{orchard\}:events/);
  assert.doesNotMatch(cluster.out + cluster.err, /cluster-pass-secret/);
});
