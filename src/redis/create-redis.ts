import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.ts';
import type { RedisEndpoint } from './embedded-redis.ts';

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
 */
export function createRedis(target: string | RedisEndpoint, logger: Logger, metrics?: Metrics): Redis {
  const options: RedisOptions = {
    protocol: 2,
    lazyConnect: true,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 4), 500),
    maxLoadingRetryTime: 100,
    connectionName: 'orchard',
  };
  const redis = typeof target === 'string' ? new Redis(target, options) : new Redis({ ...target, ...options });
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
  let lastAuthError = '';
  redis.on('error', (err: NodeJS.ErrnoException) => {
    // A wrong password or missing permission will not fix itself: say so once, loudly.
    if (/WRONGPASS|NOAUTH|NOPERM|invalid password/i.test(err.message)) {
      if (err.message !== lastAuthError) logger.error({ message: err.message }, 'Redis refused Orchard\'s credentials: check the user and password in REDIS_URL.');
      lastAuthError = err.message;
    } else {
      logger.debug({ code: err.code, message: err.message }, 'Redis connection error.');
    }
  });
  metrics?.redisUp.set(0);
  redis.connect().catch((err: Error) => {
    if (redis.status !== 'end') logger.warn({ message: err.message }, 'Redis is not reachable yet; retrying.');
  });
  return redis;
}

/**
 * Resolves true once the connection is ready, false after `timeoutMs` or when `signal` aborts (the
 * connection keeps trying in the background).
 */
export async function waitUntilReady(redis: Redis, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
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
export function describeRedis(target: string | RedisEndpoint): string {
  if (typeof target !== 'string') return 'path' in target ? `unix:${target.path}` : `redis://${target.host}:${target.port}`;
  try {
    const url = new URL(target);
    if (url.password) url.password = '***';
    if (url.username) url.username = url.username ? '***' : '';
    return url.toString();
  } catch {
    return '(unparseable REDIS_URL)';
  }
}
