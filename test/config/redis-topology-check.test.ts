import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigInvalidError } from '../../src/errors.ts';
import { parseHostPort, redisTargetFrom } from '../../src/redis/redis-target.ts';
import { loadOrchardConfig } from '../../src/sources/index.ts';

const secret = { ORCHARD_WEBHOOK_SECRETS: 'test-secret-0123456789abcdef' };

/** The problems loading `env` reports (none: []). */
function problems(env: Record<string, string>): string[] {
  try {
    loadOrchardConfig({ ...secret, ...env });
    return [];
  } catch (err) {
    if (err instanceof ConfigInvalidError) return err.problems;
    throw err;
  }
}

test('Sentinel: the sentinels, the primary\'s name and both passwords become a sentinel target', () => {
  const config = loadOrchardConfig({ ...secret, ORCHARD_REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2:26379,[::1]:26380', ORCHARD_REDIS_SENTINEL_NAME: 'mymaster', ORCHARD_REDIS_PASSWORD: 'data-pass', ORCHARD_REDIS_SENTINEL_PASSWORD: 'sentinel-pass', ORCHARD_REDIS_TLS: 'true', ORCHARD_REDIS_SENTINEL_TLS: 'true' });
  assert.deepEqual(redisTargetFrom(config), {
    kind: 'sentinel',
    sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26379 }, { host: '::1', port: 26380 }],
    name: 'mymaster',
    password: 'data-pass',
    sentinelPassword: 'sentinel-pass',
    tls: { caFile: undefined },
    sentinelTls: { caFile: undefined },
  });
});

test('Cluster: seed nodes with a tagged stream; the rejected stream follows the tag', () => {
  const config = loadOrchardConfig({ ...secret, ORCHARD_REDIS_CLUSTER_NODES: 'redis-a:6379,redis-b:6379', ORCHARD_STREAM: '{orchard}:events', ORCHARD_REDIS_PASSWORD: 'p' });
  assert.deepEqual(redisTargetFrom(config), { kind: 'cluster', nodes: [{ host: 'redis-a', port: 6379 }, { host: 'redis-b', port: 6379 }], password: 'p', tls: undefined });
  assert.equal(config.rejectedStream, '{orchard}:rejected');
});

test('the same names in the YAML file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orchard-redis-yaml-'));
  try {
    const file = join(dir, 'orchard.yml');
    writeFileSync(file, 'redis_cluster_nodes: [redis-a:6379]\nstream: "{acme}:events"\nredis_tls: true\nredis_password: ${REDIS_PASS}\n');
    const config = loadOrchardConfig({ ...secret, ORCHARD_CONFIG: file, REDIS_PASS: 'from-env' });
    assert.deepEqual(redisTargetFrom(config), { kind: 'cluster', nodes: [{ host: 'redis-a', port: 6379 }], password: 'from-env', tls: { caFile: undefined } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('REDIS_URL with ORCHARD_REDIS_PASSWORD: the password goes with the URL; none set: the embedded Redis', () => {
  assert.deepEqual(redisTargetFrom(loadOrchardConfig({ ...secret, REDIS_URL: 'redis://r:6379', ORCHARD_REDIS_PASSWORD: 'p' })), { kind: 'url', url: 'redis://r:6379', password: 'p', tls: undefined });
  assert.equal(redisTargetFrom(loadOrchardConfig(secret)), undefined);
});

test('a Cluster stream without a hash tag is refused, and {orchard}:events suggested', () => {
  assert.deepEqual(problems({ ORCHARD_REDIS_CLUSTER_NODES: 'r:6379' }), [
    'ORCHARD_STREAM (stream) is "orchard:events", which has no hash tag: in a Redis Cluster (ORCHARD_REDIS_CLUSTER_NODES) every key of a stream must share its hash slot; name it with a tag, such as ORCHARD_STREAM={orchard}:events',
  ]);
  assert.match(problems({ ORCHARD_REDIS_CLUSTER_NODES: 'r:6379', ORCHARD_STREAM: 'acme:events' })[0]!, /such as ORCHARD_STREAM=\{acme\}:events$/);
});

test('a Cluster rejected stream with another tag than the stream\'s is refused', () => {
  assert.match(problems({ ORCHARD_REDIS_CLUSTER_NODES: 'r:6379', ORCHARD_STREAM: '{orchard}:events', ORCHARD_REJECTED_STREAM: 'orchard:rejected' }).join('\n'), /ORCHARD_REJECTED_STREAM \(rejected_stream\) is "orchard:rejected", whose hash tag is not \{orchard\}.*\{orchard\}:rejected/);
  assert.deepEqual(problems({ ORCHARD_REDIS_CLUSTER_NODES: 'r:6379', ORCHARD_STREAM: '{orchard}:events', ORCHARD_REJECTED_STREAM: '{orchard}:refused' }), []);
});

test('each mistake is reported at start, naming the setting, never quoting a password', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ REDIS_URL: 'redis://r:6379', ORCHARD_REDIS_SENTINELS: 's:26379', ORCHARD_REDIS_SENTINEL_NAME: 'm' }, /REDIS_URL \(redis_url\) and ORCHARD_REDIS_SENTINELS \(redis_sentinels\) are both set: choose one Redis/],
    [{ ORCHARD_REDIS_SENTINELS: 's:26379', ORCHARD_REDIS_CLUSTER_NODES: 'r:6379', ORCHARD_STREAM: '{o}:e' }, /ORCHARD_REDIS_SENTINELS \(redis_sentinels\) and ORCHARD_REDIS_CLUSTER_NODES \(redis_cluster_nodes\) are both set/],
    [{ ORCHARD_REDIS_SENTINELS: 's:26379' }, /ORCHARD_REDIS_SENTINELS \(redis_sentinels\) is set without ORCHARD_REDIS_SENTINEL_NAME/],
    [{ ORCHARD_REDIS_SENTINEL_NAME: 'm', REDIS_URL: 'redis://r' }, /ORCHARD_REDIS_SENTINEL_NAME \(redis_sentinel_name\) is set without ORCHARD_REDIS_SENTINELS/],
    [{ ORCHARD_REDIS_SENTINELS: 's:26379,s2', ORCHARD_REDIS_SENTINEL_NAME: 'm' }, /ORCHARD_REDIS_SENTINELS \(redis_sentinels\): "s2" is not host:port/],
    [{ ORCHARD_REDIS_CLUSTER_NODES: 'r:99999', ORCHARD_STREAM: '{o}:e' }, /ORCHARD_REDIS_CLUSTER_NODES \(redis_cluster_nodes\): "r:99999" is not host:port/],
    [{ REDIS_URL: 'redis://r', ORCHARD_REDIS_TLS: 'true' }, /ORCHARD_REDIS_TLS \(redis_tls\) applies to Redis reached through.*for REDIS_URL write rediss:\/\/ instead/],
    [{ ORCHARD_REDIS_TLS: 'yes' }, /ORCHARD_REDIS_TLS/],
    [{ ORCHARD_REDIS_PASSWORD: 'hunter2-secret' }, /ORCHARD_REDIS_PASSWORD \(redis_password\) is set, but Orchard runs its own embedded Redis/],
    [{ REDIS_URL: 'redis://:hunter2-secret@r', ORCHARD_REDIS_PASSWORD: 'other-secret' }, /ORCHARD_REDIS_PASSWORD \(redis_password\) and the password in REDIS_URL \(redis_url\) are both set/],
    [{ REDIS_URL: 'rediss://r', ORCHARD_REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' }, /ORCHARD_REDIS_TLS_CA_FILE \(redis_tls_ca_file\): no file at \/nonexistent\/ca.pem/],
  ];
  for (const [env, expected] of cases) {
    const found = problems(env);
    assert.match(found.join('\n'), expected, JSON.stringify(env));
    assert.doesNotMatch(found.join('\n'), /hunter2|other-secret/, 'no password quoted');
  }
});

test('host:port parsing: names, IPv4, bracketed IPv6; no port, port 0 or above 65535 refused', () => {
  assert.deepEqual(parseHostPort('redis-0.redis:6379'), { host: 'redis-0.redis', port: 6379 });
  assert.deepEqual(parseHostPort(' 10.1.2.3:7000 '), { host: '10.1.2.3', port: 7000 });
  assert.deepEqual(parseHostPort('[fe80::1]:6379'), { host: 'fe80::1', port: 6379 });
  for (const bad of ['redis', 'redis:', ':6379', 'redis:0', 'redis:65536', 'fe80::1:6379', 'redis:63 79']) assert.equal(parseHostPort(bad), undefined, bad);
});
