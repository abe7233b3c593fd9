import type { RedisEndpoint } from './embedded-redis.ts';

// Which Redis Orchard connects to, as the configuration says: one Redis by URL (or the embedded one's
// endpoint), a primary found through Redis Sentinel, or a Redis Cluster. create-redis.ts builds the
// ioredis client for each; describeRedis (there) names it without a password.

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** TLS as the settings ask it: on or off, and the certificate authorities' PEM file to trust. */
export interface RedisTlsSettings {
  readonly caFile?: string;
}

/** One Redis by URL, with the password that ORCHARD_REDIS_PASSWORD gives when the URL carries none. */
export interface UrlTarget {
  readonly kind: 'url';
  readonly url: string;
  readonly password?: string;
  readonly tls?: RedisTlsSettings;
}

export interface SentinelTarget {
  readonly kind: 'sentinel';
  readonly sentinels: readonly HostPort[];
  /** The primary's name (`sentinel monitor <name> …`). */
  readonly name: string;
  readonly password?: string;
  readonly sentinelPassword?: string;
  /** TLS to the data nodes; `sentinelTls`: to the sentinels. */
  readonly tls?: RedisTlsSettings;
  readonly sentinelTls?: RedisTlsSettings;
}

export interface ClusterTarget {
  readonly kind: 'cluster';
  readonly nodes: readonly HostPort[];
  readonly password?: string;
  readonly tls?: RedisTlsSettings;
}

/** A URL string and an embedded endpoint are what tests and the embedded Redis pass as they are. */
export type RedisTarget = string | RedisEndpoint | UrlTarget | SentinelTarget | ClusterTarget;

/** The settings the target is built from (Config has them: redis_url, redis_sentinels, …). */
export interface RedisSettings {
  readonly redisUrl: string | undefined;
  /** Password of the data nodes (Sentinel, Cluster, or a REDIS_URL without one). */
  readonly redisPassword: string | undefined;
  /** Redis through Sentinel: the sentinels (`host:port`) and the primary's name. */
  readonly redisSentinels: readonly string[] | undefined;
  readonly redisSentinelName: string | undefined;
  readonly redisSentinelPassword: string | undefined;
  /** Redis Cluster: seed nodes (`host:port`). */
  readonly redisClusterNodes: readonly string[] | undefined;
  /** TLS to the data nodes found through Sentinel or the Cluster; to the sentinels; the CA file to trust. */
  readonly redisTls: boolean;
  readonly redisSentinelTls: boolean;
  readonly redisTlsCaFile: string | undefined;
}

/** `host:port` (an IPv6 host in brackets) as ioredis takes it; undefined when it is not one. */
export function parseHostPort(raw: string): HostPort | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(raw.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: (m[1] ?? m[2])!, port };
}

const hostPorts = (list: readonly string[]): HostPort[] => list.map((raw) => parseHostPort(raw)!);

/**
 * The Redis the settings name (validated already: config/redis-topology-check.ts); undefined when none
 * is named, and Orchard runs its embedded Redis.
 */
export function redisTargetFrom(s: RedisSettings): Exclude<RedisTarget, string | RedisEndpoint> | undefined {
  const tls = (on: boolean): RedisTlsSettings | undefined => (on ? { caFile: s.redisTlsCaFile } : undefined);
  if (s.redisSentinels) {
    return {
      kind: 'sentinel',
      sentinels: hostPorts(s.redisSentinels),
      name: s.redisSentinelName!,
      password: s.redisPassword,
      sentinelPassword: s.redisSentinelPassword,
      tls: tls(s.redisTls),
      sentinelTls: tls(s.redisSentinelTls),
    };
  }
  if (s.redisClusterNodes) return { kind: 'cluster', nodes: hostPorts(s.redisClusterNodes), password: s.redisPassword, tls: tls(s.redisTls) };
  if (s.redisUrl) return { kind: 'url', url: s.redisUrl, password: s.redisPassword, tls: s.redisUrl.startsWith('rediss:') ? { caFile: s.redisTlsCaFile } : undefined };
  return undefined;
}
