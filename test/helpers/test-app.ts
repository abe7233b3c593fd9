import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { RedisClient } from '../../src/redis/redis-client.ts';
import type { Config } from '../../src/config/config-types.ts';
import { createLogger } from '../../src/logger.ts';
import { Metrics } from '../../src/metrics.ts';
import { createRedis } from '../../src/redis/create-redis.ts';
import { redisTargetFrom } from '../../src/redis/redis-target.ts';
import { buildServer } from '../../src/server/build-server.ts';
import type { Lifecycle } from '../../src/server/routes/operations-routes.ts';
import { webhookAuthFromConfig, type WebhookAuth } from '../../src/server/webhook-authenticator.ts';
import { sinksFromConfig, type RedisStreamSink } from '../../src/sink/redis-stream-sink.ts';
import { sightingOfRecord } from '../../src/sources/jamf-pro-webhooks/webhook-record.ts';
import { spoolingSinkFromConfig, type SpoolingSink } from '../../src/spool/spooling-sink.ts';
import { loadOrchardConfig } from '../../src/sources/index.ts';
import { after, before } from 'node:test';
import { TestRedis, type TestRedisOptions } from './redis-server.ts';
import { testStreamKey, type RedisUnderTest } from './redis-topologies.ts';

export const testSecret = 'test-secret-0123456789abcdef';

export interface TestApp {
  readonly app: FastifyInstance;
  readonly config: Config;
  /** The Redis sink (behind the spool when there is one). */
  readonly sink: RedisStreamSink;
  /** The spooling sink the routes use, when `env` says ORCHARD_SPOOL=on (with an ORCHARD_DATA_DIR of the test's). */
  readonly spooling: SpoolingSink | undefined;
  readonly metrics: Metrics;
  readonly lifecycle: Lifecycle;
  /** Orchard's own connection. */
  readonly redis: RedisClient;
  /** Every log line written, parsed. */
  readonly logs: Record<string, unknown>[];
  /** Every log line written, as text. */
  readonly logText: () => string;
  close(): Promise<void>;
}

/** Lines written by a pino logger, kept for assertions. */
export function captureLogs(): { destination: Writable; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(line);
      done();
    },
  });
  return { destination, lines };
}

export async function waitForReady(redis: RedisClient): Promise<void> {
  for (let i = 0; i < 200 && redis.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 25));
  if (redis.status !== 'ready') throw new Error(`Redis did not become ready (${redis.status})`);
}

/**
 * Orchard's server, not listening, on a real Redis: each test file gets its own stream keys so files
 * can share one redis-server. `env` holds settings as a user would give them. The routes write to
 * Redis alone unless `env` sets ORCHARD_SPOOL=on explicitly (then also give it an ORCHARD_DATA_DIR).
 */
export async function buildTestApp(server: RedisUnderTest, env: Record<string, string> = {}, auth?: WebhookAuth): Promise<TestApp> {
  const unique = `t${Math.random().toString(36).slice(2, 10)}`;
  const stream = testStreamKey(server, unique);
  const config = loadOrchardConfig({
    ...server.env,
    ORCHARD_STREAM: stream,
    ORCHARD_REJECTED_STREAM: stream.replace(/events$/, 'rejected'),
    ORCHARD_WEBHOOK_SECRETS: testSecret,
    LOG_LEVEL: 'debug',
    ...env,
  });
  const { destination, lines } = captureLogs();
  const logger = createLogger({ level: config.logLevel, secretHeader: config.webhookHeader, destination });
  const metrics = new Metrics({ defaultMetrics: false });
  const redis = createRedis(redisTargetFrom(config)!, logger, metrics);
  await waitForReady(redis);
  const sink = sinksFromConfig(config, redis, { metrics, logger }).events;
  const spooling = env.ORCHARD_SPOOL === 'on' ? await spoolingSinkFromConfig(config, { direct: sink, redis, metrics, logger, sightingOf: sightingOfRecord }) : undefined;
  spooling?.start();
  const lifecycle: Lifecycle = { accepting: true, startedAtMs: Date.now() };
  const resolvedAuth = auth ?? webhookAuthFromConfig(config)!;
  const status = () => ({ spool: spooling?.status() ?? { enabled: false } });
  const app = await buildServer({ config, sink: spooling ?? sink, metrics, logger, lifecycle, auth: resolvedAuth, status });
  await app.ready();
  return {
    app,
    config,
    sink,
    spooling,
    metrics,
    lifecycle,
    redis,
    get logs() {
      return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    logText: () => lines.join('\n'),
    async close() {
      await app.close();
      await sink.drain();
      await spooling?.close();
      redis.disconnect();
    },
  };
}

/** Stream entries as objects of strings. */
export async function readStream(redis: RedisClient, key: string): Promise<{ entry: string; fields: Record<string, string> }[]> {
  const rows = await redis.xrange(key, '-', '+');
  return rows.map(([entry, flat]) => {
    const fields: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
    return { entry, fields };
  });
}

/**
 * A redis-server and an app on it for the tests of one file (or describe block): started in
 * `before`, stopped in `after`. Read `server` and `t` inside tests, once `before` has run.
 */
export function useTestApp(env: Record<string, string> = {}, redisOptions: TestRedisOptions = {}): { readonly server: TestRedis; readonly t: TestApp } {
  let server: TestRedis | undefined;
  let app: TestApp | undefined;
  before(async () => {
    server = await TestRedis.start(redisOptions);
    app = await buildTestApp(server, env);
  });
  after(async () => {
    await app?.close();
    await server?.stop();
  });
  return {
    get server() {
      if (!server) throw new Error('useTestApp: read `server` inside a test');
      return server;
    },
    get t() {
      if (!app) throw new Error('useTestApp: read `t` inside a test');
      return app;
    },
  };
}
