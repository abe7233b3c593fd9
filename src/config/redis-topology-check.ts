import { existsSync } from 'node:fs';
import { hashTagOf, hasHashTag } from '../redis/keyspace.ts';
import { parseHostPort } from '../redis/redis-target.ts';

// Step 6 of loading the configuration, for the Redis settings: which Redis (REDIS_URL, Sentinel, a
// Cluster, or the embedded one), their addresses, their passwords and TLS, and the hash tag a Cluster
// needs on the stream key. Each problem names the setting as the user set it; none quotes a password.

/** Adds to `problems` what the Redis settings get wrong, alone or together. `named(key)` names the setting (its variable and file key). */
export function checkRedisTopology(s: Record<string, any>, named: (key: string) => string, problems: string[]): void {
  const chosen = ['redis_url', 'redis_sentinels', 'redis_cluster_nodes'].filter((k) => s[k] !== undefined);
  if (chosen.length > 1) problems.push(`${chosen.map(named).join(' and ')} are both set: choose one Redis (a URL, Sentinel, or a Cluster)`);
  for (const key of ['redis_sentinels', 'redis_cluster_nodes']) {
    if (!Array.isArray(s[key])) continue;
    for (const entry of s[key] as string[]) {
      if (!parseHostPort(entry)) problems.push(`${named(key)}: "${entry}" is not host:port (such as 10.0.0.5:26379, or [::1]:6379)`);
    }
  }
  const sentinel = s.redis_sentinels !== undefined;
  const cluster = s.redis_cluster_nodes !== undefined;
  if (sentinel && s.redis_sentinel_name === undefined) problems.push(`${named('redis_sentinels')} is set without ORCHARD_REDIS_SENTINEL_NAME (redis_sentinel_name): name the primary as the sentinels know it (sentinel monitor <name> …)`);
  if (!sentinel) {
    for (const key of ['redis_sentinel_name', 'redis_sentinel_password']) {
      if (s[key] !== undefined) problems.push(`${named(key)} is set without ORCHARD_REDIS_SENTINELS (redis_sentinels): give the sentinels' addresses too`);
    }
    if (s.redis_sentinel_tls === true) problems.push(`${named('redis_sentinel_tls')} is set without ORCHARD_REDIS_SENTINELS (redis_sentinels)`);
  }
  if (s.redis_tls === true && !sentinel && !cluster) {
    problems.push(`${named('redis_tls')} applies to Redis reached through ORCHARD_REDIS_SENTINELS or ORCHARD_REDIS_CLUSTER_NODES; ${s.redis_url === undefined ? 'the embedded Redis needs no TLS' : 'for REDIS_URL write rediss:// instead'}`);
  }
  if (s.redis_password !== undefined && chosen.length === 0) problems.push(`${named('redis_password')} is set, but Orchard runs its own embedded Redis (no REDIS_URL, ORCHARD_REDIS_SENTINELS or ORCHARD_REDIS_CLUSTER_NODES), which has no password`);
  if (s.redis_password !== undefined && typeof s.redis_url === 'string') {
    let urlPassword = '';
    try {
      urlPassword = new URL(s.redis_url).password;
    } catch {
      // reported by the URL check
    }
    if (urlPassword !== '') problems.push(`${named('redis_password')} and the password in ${named('redis_url')} are both set: give the password once`);
  }
  if (typeof s.redis_tls_ca_file === 'string' && !existsSync(s.redis_tls_ca_file)) problems.push(`${named('redis_tls_ca_file')}: no file at ${s.redis_tls_ca_file}`);
  if (cluster) checkClusterKeys(s, named, problems);
}

/**
 * In a Redis Cluster every script touches the keys of one stream at once, so they must share a hash
 * slot: the stream key must carry a hash tag, and a rejected stream set by hand must carry the same one
 * (the import writes both in one step). https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags
 */
function checkClusterKeys(s: Record<string, any>, named: (key: string) => string, problems: string[]): void {
  const stream = String(s.stream);
  if (!hasHashTag(stream)) {
    const suggestion = stream === 'orchard:events' ? '{orchard}:events' : `{${stream.split(':')[0] || 'orchard'}}:${stream.split(':').slice(1).join(':') || 'events'}`;
    problems.push(
      `${named('stream')} is "${stream}", which has no hash tag: in a Redis Cluster (ORCHARD_REDIS_CLUSTER_NODES) every key of a stream must share its hash slot; name it with a tag, such as ORCHARD_STREAM=${suggestion}`,
    );
    return;
  }
  if (typeof s.rejected_stream === 'string' && hashTagOf(s.rejected_stream) !== hashTagOf(stream)) {
    problems.push(
      `${named('rejected_stream')} is "${s.rejected_stream}", whose hash tag is not ${hashTagOf(stream)} (the stream's): in a Redis Cluster the import writes both in one step; leave it unset (${hashTagOf(stream)}:rejected) or give it the tag ${hashTagOf(stream)}`,
    );
  }
}
