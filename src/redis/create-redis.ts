import { readFileSync } from 'node:fs';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import type { RedisEndpoint } from './embedded-redis.ts';
import type { RedisClient } from './redis-client.ts';
import type { RedisTarget, RedisTlsSettings } from './redis-target.ts';

/**
 * ioredis's Redis and Cluster are generic in their reply mapping; Orchard's clients use "legacy"
 * (ioredis's default, the reply shapes Orchard reads). The constructors are given it explicitly, with
 * options whose type says it: left to inference from plain `RedisOptions` (any mapping), tsc compared
 * `Redis<…>` instantiations command by command, over a second per class in every typecheck.
 */
type LegacyRedisOptions = RedisOptions & { replyMapping?: 'legacy' };
type LegacyClusterOptions = ClusterOptions & { redisOptions?: LegacyRedisOptions };

const reconnectDelayMs = (times: number) => Math.min(50 * 2 ** Math.min(times, 4), 500);

/** Node TLS options for Redis TLS: the CA file's certificates when one is given, else the system's. */
function tlsOptions(tls: RedisTlsSettings | undefined): ConnectionOptions | undefined {
  if (!tls) return undefined;
  return tls.caFile ? { ca: readFileSync(tls.caFile) } : {};
}

/**
 * The Redis connection of the service. No offline queue: while Redis is away a command fails at once,
 * so a webhook goes to the spool (or is answered 503) fast instead of waiting. Reconnects forever, at
 * most 500 ms apart, and a Redis still loading its data is asked again every 100 ms rather than after
 * the wait Redis itself estimates (`loading_eta_seconds`, which ioredis honours up to
 * `maxLoadingRetryTime`, 10 s by default): both would keep appends off a Redis that already answers
 * (ioredis built/Redis.js `_readyCheck`).
 * RESP2 (ioredis 6 defaults to RESP3): `call()` and the pre-encoded script command (lua-script.ts)
 * bypass ioredis's reply reshaping, and over RESP3 Redis answers some commands in other shapes
 * (XREADGROUP: a map, not a list of [stream, entries]). RESP2 keeps every reply as the code reads it.
 *
 * Through Sentinel (https://redis.io/docs/latest/develop/reference/sentinel-clients/): ioredis asks
 * the sentinels for the primary, checks its ROLE, and asks again after a lost connection (a failover
 * closes every client connection of the old and the new primary). A former primary that came back as
 * a replica answers writes with READONLY: the connection is then dropped and made again to the
 * primary the sentinels name (`reconnectOnError`). ioredis's `failoverDetector` (+switch-master) stays
 * off: its disconnect can land while a reconnection is under way, which ends the client for good
 * ("Connection is closed." forever; seen in the failover tests, and reported as
 * https://github.com/redis/ioredis/issues/1683). Should a sentinel client end all the same without
 * Orchard closing it, it is connected again.
 * A Cluster (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/): ioredis
 * learns the slots from the seed nodes, sends each command to its slot's primary, follows MOVED/ASK,
 * and re-reads the slots when a primary fails and a replica takes over.
 */
export function createRedis(target: RedisTarget, logger: Logger, metrics?: Metrics): RedisClient {
  const options: LegacyRedisOptions = {
    protocol: 2,
    lazyConnect: true,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    retryStrategy: reconnectDelayMs,
    maxLoadingRetryTime: 100,
    connectionName: 'orchard',
    reconnectOnError: (err) => (/^READONLY/.test(err.message) ? 2 : false),
  };
  const redis = clientFor(target, options);
  let wasReady = false;
  redis.on('ready', () => {
    metrics?.redisUp.set(1);
    logger.info(wasReady ? 'Redis is back.' : 'Connected to Redis.');
    wasReady = true;
  });
  redis.on('close', () => metrics?.redisUp.set(0));
  redis.on('reconnecting', (delayMs: number) => {
    if (wasReady) logger.warn({ delayMs }, 'Lost the connection to Redis; reconnecting.');
  });
  redis.on('+node', () => logger.debug('A Redis Cluster node joined.'));
  let lastAuthError = '';
  redis.on('error', (err: NodeJS.ErrnoException) => {
    // A wrong password or missing permission will not fix itself: say so once, loudly.
    if (/WRONGPASS|NOAUTH|NOPERM|invalid password/i.test(err.message)) {
      if (err.message !== lastAuthError) logger.error({ message: err.message }, 'Redis refused Orchard\'s credentials: check the user and password in REDIS_URL or ORCHARD_REDIS_PASSWORD (ORCHARD_REDIS_SENTINEL_PASSWORD for the sentinels).');
      lastAuthError = err.message;
    } else {
      logger.debug({ code: err.code, message: err.message }, 'Redis connection error.');
    }
  });
  if (typeof target === 'object' && 'kind' in target && target.kind === 'sentinel') reconnectIfEnded(redis, logger);
  metrics?.redisUp.set(0);
  redis.connect().catch((err: Error) => {
    if (redis.status !== 'end') logger.warn({ message: err.message }, 'Redis is not reachable yet; retrying.');
  });
  return redis;
}

/** Connects again a client that ended without being closed by Orchard (disconnect() or quit()). */
function reconnectIfEnded(redis: RedisClient, logger: Logger): void {
  let closedByOrchard = false;
  const { disconnect, quit } = redis;
  redis.disconnect = ((reconnect?: boolean) => {
    if (!reconnect) closedByOrchard = true;
    return disconnect.call(redis, reconnect);
  }) as typeof redis.disconnect;
  redis.quit = ((...args: never[]) => {
    closedByOrchard = true;
    return (quit as (...a: never[]) => Promise<'OK'>).apply(redis, args);
  }) as typeof redis.quit;
  redis.on('end', () => {
    if (closedByOrchard) return;
    logger.warn('The Redis client ended without being closed; connecting again through the sentinels.');
    setTimeout(() => redis.connect().catch(() => {}), 500).unref();
  });
}

function clientFor(target: RedisTarget, options: LegacyRedisOptions): RedisClient {
  if (typeof target === 'string') return new Redis<'legacy'>(target, options);
  if (!('kind' in target)) return new Redis<'legacy'>({ ...target, ...options });
  switch (target.kind) {
    case 'url':
      return new Redis<'legacy'>(target.url, { ...options, ...(target.password === undefined ? {} : { password: target.password }), ...(target.tls ? { tls: tlsOptions(target.tls) } : {}) });
    case 'sentinel':
      return new Redis<'legacy'>({
        ...options,
        sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
        name: target.name,
        role: 'master',
        password: target.password,
        sentinelPassword: target.sentinelPassword,
        // ioredis: `tls` with `enableTLSForSentinelMode` for the primary it is sent to, `sentinelTLS` for the sentinels.
        tls: tlsOptions(target.tls),
        enableTLSForSentinelMode: target.tls !== undefined,
        sentinelTLS: tlsOptions(target.sentinelTls),
        sentinelRetryStrategy: reconnectDelayMs,
        failoverDetector: false,
      });
    case 'cluster': {
      const { retryStrategy: _ignored, enableOfflineQueue: _alsoIgnored, lazyConnect: _lazy, ...nodeOptions } = options;
      const clusterOptions: LegacyClusterOptions = {
        lazyConnect: true,
        enableOfflineQueue: false,
        clusterRetryStrategy: reconnectDelayMs,
        // A failed primary's slots answer CLUSTERDOWN or refuse connections until a replica is promoted
        // (about cluster-node-timeout): ioredis retries after these delays, up to maxRedirections times,
        // re-reading the slot map. An append still unanswered at append_timeout_ms goes to the spool.
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        retryDelayOnTryAgain: 100,
        maxRedirections: 16,
        slotsRefreshTimeout: 2000,
        scaleReads: 'master',
        redisOptions: { ...nodeOptions, password: target.password, tls: tlsOptions(target.tls) },
        // TLS certificates name the host as configured: keep it rather than the resolved address.
        ...(target.tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
      };
      return new Cluster<'legacy'>(target.nodes.map(({ host, port }) => ({ host, port })), clusterOptions);
    }
  }
}

/**
 * Resolves true once the connection is ready, false after `timeoutMs` or when `signal` aborts (the
 * connection keeps trying in the background).
 */
export async function waitUntilReady(redis: RedisClient, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise((resolve) => {
    const finish = (ready: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      signal?.removeEventListener('abort', onAbort);
      resolve(ready);
    };
    const onReady = () => finish(true);
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    redis.once('ready', onReady);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The endpoint without its password, for log lines and /status. */
export function describeRedis(target: RedisTarget): string {
  if (typeof target !== 'string') {
    if (!('kind' in target)) return describeEndpoint(target);
    const list = (nodes: readonly { host: string; port: number }[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
    if (target.kind === 'sentinel') return `sentinel://${list(target.sentinels)}/${target.name}`;
    if (target.kind === 'cluster') return `cluster://${list(target.nodes)}`;
    return describeRedis(target.url);
  }
  try {
    const url = new URL(target);
    if (url.password) url.password = '***';
    if (url.username) url.username = url.username ? '***' : '';
    return url.toString();
  } catch {
    return '(unparseable REDIS_URL)';
  }
}

function describeEndpoint(endpoint: RedisEndpoint): string {
  return 'path' in endpoint ? `unix:${endpoint.path}` : `redis://${endpoint.host}:${endpoint.port}`;
}
