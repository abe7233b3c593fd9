import type { RedisClient } from '../redis/redis-client.ts';
import type { Logger } from 'pino';
import { existsSync } from 'node:fs';
import type { Config } from '../config/load-config.ts';
import { dataDirHolder, lockDataDir } from '../data-dir.ts';
import { CliRedisError } from '../errors.ts';
import { createRedis, describeRedis, waitUntilReady } from '../redis/create-redis.ts';
import { EmbeddedRedis, embeddedRedisDir, embeddedSocketPath } from '../redis/embedded-redis.ts';
import { redisTargetFrom, type RedisTarget } from '../redis/redis-target.ts';
import { assertNotClusterNode } from '../redis/topology-check.ts';

/**
 * Runs `fn` with a Redis connection for a CLI command: REDIS_URL, the sentinels or the Cluster when set; else the embedded Redis of
 * a running Orchard (its unix socket in ORCHARD_DATA_DIR); else the data directory's embedded Redis,
 * started for the command and stopped after it. `target` lets a command open more connections (a
 * dedicated one for blocking reads).
 */
export async function withCliRedis<T>(config: Config, logger: Logger, fn: (redis: RedisClient, target: RedisTarget) => Promise<T>): Promise<T> {
  let target: RedisTarget;
  let embedded: EmbeddedRedis | undefined;
  let release: (() => void) | undefined;
  const external = redisTargetFrom(config);
  if (external) {
    target = external;
  } else {
    const holder = dataDirHolder(config.dataDir);
    const socket = embeddedSocketPath(config.dataDir);
    if (holder !== undefined) {
      if (!existsSync(socket)) throw new CliRedisError(`Orchard (pid ${holder}) runs with its embedded Redis, but its socket ${socket} is not there; set REDIS_URL to reach the Redis it uses.`);
      target = { path: socket };
    } else {
      // Never create a store just to find it empty: a wrong ORCHARD_DATA_DIR (or a forgotten REDIS_URL) is an error.
      if (!existsSync(embeddedRedisDir(config.dataDir))) {
        throw new CliRedisError(
          `No Orchard data in ORCHARD_DATA_DIR=${config.dataDir} (it holds no embedded Redis). Set ORCHARD_DATA_DIR to the directory Orchard runs with, or REDIS_URL when Orchard uses an external Redis.`,
        );
      }
      release = lockDataDir(config.dataDir);
      try {
        embedded = await EmbeddedRedis.start({ dataDir: config.dataDir, appendfsync: config.redisAppendfsync, logger });
      } catch (err) {
        release();
        throw err;
      }
      target = embedded.endpoint;
    }
  }
  const redis = createRedis(target, logger);
  try {
    if (!(await waitUntilReady(redis, 5000))) throw new CliRedisError(`Redis at ${describeRedis(target)} did not answer within 5 s (REDIS_URL, ORCHARD_REDIS_SENTINELS or ORCHARD_REDIS_CLUSTER_NODES).`);
    await assertNotClusterNode(redis);
    return await fn(redis, target);
  } finally {
    redis.disconnect();
    await embedded?.stop();
    release?.();
  }
}
