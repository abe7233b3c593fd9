import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClient } from '../../src/redis/redis-client.ts';
import { stringify } from 'yaml';
import type { Config } from '../../src/config/config-types.ts';
import { ConnectorStateStore } from '../../src/connector-state/connector-state-store.ts';
import { ConnectorRunner, type ConnectorStatus } from '../../src/connectors/connector-runner.ts';
import { createSource, loadOrchardConfig } from '../../src/sources/index.ts';
import { createLogger } from '../../src/logger.ts';
import { Metrics } from '../../src/metrics.ts';
import { createRedis } from '../../src/redis/create-redis.ts';
import { redisTargetFrom } from '../../src/redis/redis-target.ts';
import type { PageSink } from '../../src/sink/event-sink.ts';
import type { RedisPageSink } from '../../src/sink/redis-page-sink.ts';
import { sinksFromConfig } from '../../src/sink/redis-stream-sink.ts';
import { testStreamKey, type RedisUnderTest } from './redis-topologies.ts';
import { captureLogs, readStream, waitForReady } from './test-app.ts';

/** A configuration with the given connector entries, loaded the way a user's file is. */
export function configWithConnectors(entries: Record<string, unknown>[], env: Record<string, string> = {}): Config {
  const dir = mkdtempSync(join(tmpdir(), 'orchard-config-'));
  try {
    const file = join(dir, 'orchard.yml');
    writeFileSync(file, stringify({ connectors: entries }));
    return loadOrchardConfig({ ORCHARD_CONFIG: file, ORCHARD_WEBHOOK_SECRETS: 'unused-secret-0123456789', ...env });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ConnectorHarness {
  readonly config: Config;
  readonly runner: ConnectorRunner;
  readonly redis: RedisClient;
  /** The page sink the runner writes through (before any wrapSink). */
  readonly sink: RedisPageSink;
  /** The connector's checkpoint, lease and versions. */
  readonly state: ConnectorStateStore;
  readonly metrics: Metrics;
  readonly stream: string;
  logs(): Record<string, unknown>[];
  status(): ConnectorStatus;
  /** Resolves once the runner has ended `runs` runs in total (any outcome), or rejects after timeoutMs. */
  waitForRuns(runs: number, timeoutMs?: number): Promise<ConnectorStatus>;
  waitFor(predicate: (s: ConnectorStatus) => boolean, what: string, timeoutMs?: number): Promise<ConnectorStatus>;
  /** The ids in the stream, in order; with `type`, only of the entries of that type (an inventory's `computer`s, without its snapshot markers). */
  ids(type?: string): Promise<string[]>;
  stop(): Promise<void>;
}

/** One connector's runner on a real Redis, with its own stream keys; started at once. */
export async function startConnector(
  server: RedisUnderTest,
  entry: Record<string, unknown>,
  options: { stream?: string; leaseTtlMs?: number; retryBaseDelayMs?: number; wrapSink?: (sink: RedisPageSink, state: ConnectorStateStore) => PageSink; env?: Record<string, string> } = {},
): Promise<ConnectorHarness> {
  const stream = options.stream ?? testStreamKey(server, `c${Math.random().toString(36).slice(2, 10)}`);
  const config = configWithConnectors([entry], {
    ...server.env,
    ORCHARD_STREAM: stream,
    ORCHARD_REJECTED_STREAM: `${stream}:rejected`,
    ORCHARD_CONNECTOR_LEASE_TTL_MS: String(options.leaseTtlMs ?? 5000),
    LOG_LEVEL: 'debug',
    ...options.env,
  });
  const { destination, lines } = captureLogs();
  const logger = createLogger({ level: 'debug', secretHeader: config.webhookHeader, destination });
  const metrics = new Metrics({ defaultMetrics: false });
  const redis = createRedis(redisTargetFrom(config)!, logger, metrics);
  await waitForReady(redis);
  const sink = sinksFromConfig(config, redis, { metrics, logger }).pages;
  const state = new ConnectorStateStore(redis, stream);
  const connector = config.connectors[0]!;
  const { source, info, deprecations } = createSource(connector, config, { metrics });
  const runner = new ConnectorRunner({
    config: connector,
    source,
    sourceInfo: info,
    deprecations,
    sink: options.wrapSink ? options.wrapSink(sink, state) : sink,
    state,
    windows: state.windows(),
    webhookTenants: [config.webhookTenant, ...(config.webhookTenantSecrets ?? []).map((t) => t.tenant)],
    leaseTtlMs: config.connectorLeaseTtlMs,
    holder: 'test',
    logger,
    metrics,
    retryBaseDelayMs: options.retryBaseDelayMs ?? 50,
  });
  runner.start();
  const waitFor = async (predicate: (s: ConnectorStatus) => boolean, what: string, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = runner.status();
      if (predicate(s)) return s;
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}; status: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  let stopped = false;
  // Assertions read through a client of their own, still open after the runner stopped.
  const reader = server.client();
  return {
    config,
    runner,
    redis,
    sink,
    state,
    metrics,
    stream,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    status: () => runner.status(),
    waitFor,
    waitForRuns: (runs, timeoutMs) => waitFor((s) => s.totals.runs >= runs && s.lastRun?.outcome !== 'running', `${runs} run(s)`, timeoutMs),
    ids: async (type) => (await readStream(reader, stream)).filter((e) => type === undefined || e.fields.type === type).map((e) => e.fields.id!),
    async stop() {
      if (stopped) return;
      stopped = true;
      await runner.stop();
      redis.disconnect();
    },
  };
}
