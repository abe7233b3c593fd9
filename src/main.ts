import type { FastifyInstance } from 'fastify';
import type { RedisClient } from './redis/redis-client.ts';
import type { DestinationStream, Logger } from 'pino';
import type { Config } from './config/config-types.ts';
import { unknownEnvironmentSettings } from './config/env-overlay.ts';
import { configSchemaFor } from './config/load-config.ts';
import { ConnectorStateStore } from './connector-state/connector-state-store.ts';
import { lockDataDir } from './data-dir.ts';
import { RedisTopologyError, StartAbortedError } from './errors.ts';
import { checkPortFree, listenError } from './server/port-check.ts';
import { boundedLogDestination } from './log-destination.ts';
import { createLogger } from './logger.ts';
import { RequestNoise } from './server/request-noise.ts';
import { Metrics } from './metrics.ts';
import { createRedis, describeRedis, waitUntilReady } from './redis/create-redis.ts';
import { EmbeddedRedis } from './redis/embedded-redis.ts';
import { redisTargetFrom, type RedisTarget } from './redis/redis-target.ts';
import { assertNotClusterNode } from './redis/topology-check.ts';
import { buildAdminServer, buildServer } from './server/build-server.ts';
import { intakeStatus } from './server/intake-status.ts';
import type { Lifecycle } from './server/routes/operations-routes.ts';
import { webhookAuthFromConfig, type WebhookAuth } from './server/webhook-authenticator.ts';
import { headerAuthenticationJson, loadOrCreateWebhookSecret } from './server/webhook-secret-store.ts';
import { sinksFromConfig } from './sink/redis-stream-sink.ts';
import { spoolingSinkFromConfig, type SpoolingSink } from './spool/spooling-sink.ts';
import { ConnectorManager } from './connectors/connector-manager.ts';
import { readGroupLag } from './consumer/group-lag.ts';
import { StreamTrimmer, type TrimResult } from './consumer/stream-trimmer.ts';
import { defaultDeadLetterStream } from './redis/keyspace.ts';
import { redisFiguresReader } from './redis/redis-figures.ts';
import { withTimeout } from './redis/with-timeout.ts';
import { recentResult } from './recent-result.ts';
import { createSource, loadOrchardConfig, sourceDescriptors } from './sources/index.ts';
import { sightingOfRecord } from './sources/jamf-pro-webhooks/webhook-record.ts';

export interface RunningOrchard {
  readonly config: Config;
  readonly logger: Logger;
  readonly redis: RedisClient;
  readonly app: FastifyInstance;
  readonly admin: FastifyInstance | undefined;
  /** http(s)://host:port of the main listener. */
  readonly url: string;
  readonly adminUrl: string | undefined;
  readonly auth: WebhookAuth;
  /** Graceful: stop accepting, finish in-flight requests and appends, close Redis, stop an embedded Redis. */
  close(): Promise<void>;
  /** For an exit that cannot wait: asks the embedded Redis to stop and releases the data directory. */
  stopNow(): void;
  /**
   * SIGHUP: reads the configuration again and replaces the connectors by those it lists (each running
   * one finishes its page and releases its lease first). An invalid configuration throws
   * ConfigInvalidError and changes nothing. Other settings take effect at the next start.
   */
  reloadConnectors(): Promise<ConnectorReload>;
}

export interface ConnectorReload {
  readonly before: readonly string[];
  readonly after: readonly string[];
  /** Settings other than the connectors that differ from those Orchard started with (not applied). */
  readonly notApplied: readonly string[];
}

export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Where log lines go (stdout by default). */
  readonly logDestination?: DestinationStream;
  /** Where the generated-secret banner goes (stderr by default). */
  readonly announce?: (text: string) => void;
  /** Aborting it during start-up undoes what was started and rejects with StartAbortedError. */
  readonly signal?: AbortSignal;
}

async function listen(app: FastifyInstance, host: string, port: number, hostName: string, portName: string): Promise<string> {
  try {
    return await app.listen({ host, port, listenTextResolver: (address) => `Listening at ${address}.` });
  } catch (err) {
    throw listenError(err, host, port, hostName, portName);
  }
}

/** How long start-up waits for Redis before it listens anyway. */
const redisStartWaitMs = 5000;

/** Decides webhook authentication, generating and keeping a secret when header mode has none. */
function resolveAuth(config: Config, logger: Logger, announce: (text: string) => void): WebhookAuth {
  const configured = webhookAuthFromConfig(config);
  if (configured?.mode === 'none') {
    const ignored = config.webhookSecrets?.length ? ' ORCHARD_WEBHOOK_SECRETS is set and ignored.' : '';
    logger.warn({ path: config.webhookPath }, `Webhook authentication is OFF (ORCHARD_WEBHOOK_AUTH=none): anyone who reaches this port can write events.${ignored}`);
  }
  if (configured) return configured;
  const { secret, file, created } = loadOrCreateWebhookSecret(config.dataDir);
  if (created) {
    announce(
      [
        '',
        `Orchard generated a webhook secret and keeps it in ${file} (mode 0600).`,
        'In Jamf Pro (Settings > Global > Webhooks), for each webhook choose Authentication Type',
        '"Header Authentication" and paste this JSON:',
        '',
        `    ${headerAuthenticationJson(config.webhookHeader, secret)}`,
        '',
        ...(config.protectSecrets?.length ? [] : [`Jamf Protect's Remote Alert Collection Endpoint (POST ${config.protectPath}) takes the same header: ${config.webhookHeader}: <the value above>.`]),
        ...(config.logsSecrets?.length ? [] : [`So does the log intake (POST ${config.logsPath}) for Jamf Pro Log Stream and Compliance Reporter.`]),
        'Print it again at any time with: npx orchard secret',
        '',
      ].join('\n'),
    );
  }
  logger.info({ file, header: config.webhookHeader }, created ? 'Generated the webhook secret.' : 'Using the webhook secret kept in the data directory (npx orchard secret prints it).');
  return { mode: 'header', header: config.webhookHeader, secrets: [secret] };
}

/** The composition root: config → logger → redis → sink → server → listen, and the way back down. */
export async function startOrchard(options: StartOptions = {}): Promise<RunningOrchard> {
  const config = loadOrchardConfig(options.env ?? process.env, options.cwd);
  const metrics = new Metrics();
  // stdout through a bounded buffer unless the caller gives a destination (log-destination.ts).
  const bounded = options.logDestination ? undefined : boundedLogDestination({ maxBufferBytes: config.logBufferBytes });
  let droppedSinceNotice = 0;
  bounded?.onDrop((lines) => {
    metrics.logLinesDropped.inc(lines);
    // Said once the reader had a chance to catch up (the line itself may be dropped too: the metric is what counts).
    if (droppedSinceNotice++ === 0) {
      setTimeout(() => {
        logger.warn({ droppedLines: droppedSinceNotice }, 'Log lines were dropped: the log reader did not keep up with Orchard (log_buffer_bytes); orchard_log_lines_dropped_total counts them.');
        droppedSinceNotice = 0;
      }, config.logSummaryIntervalMs).unref();
    }
  });
  const logger = createLogger({ level: config.logLevel, secretHeader: config.webhookHeader, moreSecretHeaders: [config.protectHeader, config.logsHeader], destination: options.logDestination ?? bounded!.stream });
  const noise = new RequestNoise(logger, config.logSummaryIntervalMs);
  const announce = options.announce ?? ((text: string) => process.stderr.write(`${text}\n`));
  const lifecycle: Lifecycle = { accepting: false, startedAtMs: Date.now() };

  for (const warning of unknownEnvironmentSettings(options.env ?? process.env, configSchemaFor(sourceDescriptors).properties)) logger.warn(warning);
  // A port in use is said before anything is generated, created or started (secret, data directory, embedded Redis).
  await checkPortFree(config.host, config.port, 'HOST', 'PORT');
  if (config.adminPort !== undefined) await checkPortFree(config.adminHost, config.adminPort, 'ORCHARD_ADMIN_HOST', 'ORCHARD_ADMIN_PORT');
  const external = redisTargetFrom(config);
  const releaseDataDir = external ? undefined : lockDataDir(config.dataDir);
  let embedded: EmbeddedRedis | undefined;
  let auth: WebhookAuth;
  try {
    auth = resolveAuth(config, logger, announce);
    embedded = external ? undefined : await EmbeddedRedis.start({ dataDir: config.dataDir, appendfsync: config.redisAppendfsync, logger });
  } catch (err) {
    releaseDataDir?.();
    throw err;
  }
  const target: RedisTarget = external ?? embedded!.endpoint;
  const redis = createRedis(target, logger, metrics);
  // A Redis Cluster node named by REDIS_URL: refused at start (below); when Redis was away at start and
  // turns out to be one, /readyz says so until Orchard is configured with ORCHARD_REDIS_CLUSTER_NODES.
  redis.on('ready', () => {
    assertNotClusterNode(redis).catch((err: unknown) => {
      if (!(err instanceof RedisTopologyError)) return; // a connection lost again: asked again on the next 'ready'
      lifecycle.redisRefused = err.message;
      logger.error({ code: err.code }, err.message);
    });
  });
  const { events: direct, pages } = sinksFromConfig(config, redis, { metrics, logger });
  // The local spool (src/spool/): recovered before anything listens; with ORCHARD_SPOOL=off, Redis alone.
  let spooling: SpoolingSink | undefined;
  try {
    spooling = config.spool === 'on' ? await spoolingSinkFromConfig(config, { direct, redis, metrics, logger, sightingOf: sightingOfRecord }) : undefined;
  } catch (err) {
    redis.disconnect();
    await embedded?.stop();
    releaseDataDir?.();
    throw err;
  }
  const sink = spooling ?? direct;
  // Built inside the try below, so that a failure is undone by the same stopAll as any other.
  let connectors: ConnectorManager | undefined;
  // Retention that never trims what a consumer group has not acknowledged (src/consumer/stream-trimmer.ts).
  let lastTrim: (TrimResult & { at: string }) | undefined;
  const trimmer =
    config.streamMaxLen !== undefined || config.streamMaxAgeMs !== undefined
      ? new StreamTrimmer({
          redis,
          stream: config.stream,
          maxLen: config.streamMaxLen,
          maxAgeMs: config.streamMaxAgeMs,
          intervalMs: config.streamTrimIntervalMs,
          trimWithoutGroups: config.streamTrimWithoutGroups,
          logger,
          onStatus: (result) => {
            lastTrim = { ...result, at: new Date().toISOString() };
            if (result.reason === 'error') return;
            metrics.streamTrimmed.inc(result.trimmed);
            metrics.streamTrimHeld.set(result.held);
          },
        })
      : undefined;
  // Consumer groups as /status and /metrics show them, read at most once a second.
  const readGroups = recentResult(1000, () => withTimeout(readGroupLag(redis, config.stream), 2000, 'Redis did not answer XINFO GROUPS in time.'));
  metrics.readGroupsWith(readGroups);
  metrics.readRedisWith(redisFiguresReader(redis, [config.stream, config.rejectedStream, defaultDeadLetterStream(config.stream)]));
  // /status may be asked by anyone who can reach the listener: the stream's figures cost Redis an
  // XLEN and an XINFO GROUPS, so they are read at most once a second and shared by concurrent askers.
  const streamStatus = recentResult(1000, async () => {
    const retention = {
      maxLen: config.streamMaxLen ?? null,
      maxAge: config.streamMaxAge ?? null,
      withoutGroups: config.streamTrimWithoutGroups,
      lastTrim: lastTrim ?? null,
    };
    try {
      const [length, groups] = await Promise.all([withTimeout(redis.xlen(config.stream), 2000, 'Redis did not answer XLEN in time.'), readGroups()]);
      return { length, retention, groups };
    } catch (err) {
      return { retention, error: (err as Error).message };
    }
  });
  const status = async () => {
    const spool = spooling?.status() ?? { enabled: false };
    const pulled = connectors?.status();
    const intake = intakeStatus(config, metrics, { redisReady: redis.status === 'ready', spool });
    // Every source's state in one list: ok, degraded, silent or failing, with the reason (docs/completeness.md).
    const sources = [
      ...(pulled?.connectors ?? []).map((c) => ({ source: c.name, kind: 'connector', ...('health' in c ? c.health : { state: 'ok', reason: c.reason }) })),
      ...intake.map((r) => ({ source: r.route, kind: 'route', ...r.health })),
    ];
    return { redis: { endpoint: describeRedis(target), embedded: embedded !== undefined, status: redis.status }, spool, sources, intake, ...pulled, streamState: await streamStatus() };
  };
  const deps = { config, sink, metrics, logger, lifecycle, auth, status, noise };

  let app: FastifyInstance | undefined;
  let admin: FastifyInstance | undefined;
  const stopAll = async () => {
    // Connections still open near the deadline (a client trickling its body) are cut, so shutdown
    // ends in time; nothing on them was acknowledged.
    const cut = setTimeout(() => {
      app?.server.closeAllConnections();
      admin?.server.closeAllConnections();
    }, Math.max(config.shutdownTimeoutMs - 3000, config.shutdownTimeoutMs / 2));
    try {
      // Connectors finish the page they are writing and release their leases while requests drain.
      await Promise.all([connectors?.stop(), trimmer?.stop(), app?.close(), admin?.close()]);
    } finally {
      clearTimeout(cut);
    }
    await sink.drain();
    // What is still spooled is drained while Redis answers, briefly; the rest waits on disk for the next start.
    await spooling?.close(Math.min(2000, config.shutdownTimeoutMs / 4));
    // QUIT waits for Redis's answer; a frozen Redis must not hold shutdown up.
    await Promise.race([redis.quit().catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
    redis.disconnect();
    await embedded?.stop();
    releaseDataDir?.();
    noise.flush();
  };
  const stopNow = () => {
    embedded?.stopNow();
    releaseDataDir?.();
  };
  const checkAborted = () => {
    if (options.signal?.aborted) throw new StartAbortedError();
  };
  const state = new ConnectorStateStore(redis, config.stream);
  const connectorManager = (from: Config) =>
    new ConnectorManager({ config: from, createSource: (c, m) => createSource(c, from, { metrics: m }), sink: pages, state, windows: state.windows(), logger, metrics });
  try {
    const manager = connectorManager(config);
    connectors = manager;
    checkAborted();
    // Listen once Redis answers, so the first webhooks are not refused; a Redis that stays away is
    // reported and waited for in the background (/readyz says 503 meanwhile).
    if (!(await waitUntilReady(redis, redisStartWaitMs, options.signal))) {
      checkAborted();
      const meanwhile = config.spool === 'on' ? 'events go to the local spool until it is' : 'answering 503 until it is';
      logger.warn({ redis: describeRedis(target), waitedMs: redisStartWaitMs }, `Redis is not reachable; listening anyway, ${meanwhile}.`);
    } else {
      await assertNotClusterNode(redis);
    }
    app = await buildServer(deps);
    admin = config.adminPort === undefined ? undefined : await buildAdminServer(deps);
    checkAborted();
    const url = await listen(app, config.host, config.port, 'HOST', 'PORT');
    const adminUrl = admin ? await listen(admin, config.adminHost, config.adminPort!, 'ORCHARD_ADMIN_HOST', 'ORCHARD_ADMIN_PORT') : undefined;
    checkAborted();
    lifecycle.accepting = true;

    logger.info(
      {
        url,
        adminUrl,
        webhookPath: config.webhookPath,
        protectPath: config.protectPath,
        logsPath: config.logsPath,
        auth: auth.mode,
        stream: config.stream,
        redis: describeRedis(target),
        configFile: config.configFile,
      },
      'Orchard is listening.',
    );
    manager.start();
    let closing: Promise<void> | undefined;
    // SIGHUP (src/cli/serve-command.ts): reloads run one after the other, and never once shutdown began.
    let reloading: Promise<unknown> = Promise.resolve();
    let currentNames = config.connectors.map((c) => c.name);
    const reloadConnectors = () => {
      const next = reloading.then(async (): Promise<ConnectorReload> => {
        const fresh = loadOrchardConfig(options.env ?? process.env, options.cwd);
        const before = currentNames;
        if (closing) return { before, after: before, notApplied: [] };
        // Built before the running ones stop: a connector that cannot be built leaves them running.
        const replacement = connectorManager(fresh);
        await connectors?.stop();
        connectors = replacement;
        replacement.start();
        currentNames = fresh.connectors.map((c) => c.name);
        return { before, after: currentNames, notApplied: changedSettings(config, fresh) };
      });
      reloading = next.catch(() => {});
      return next;
    };
    trimmer?.start();
    spooling?.start();

    const close = () =>
      (closing ??= (async () => {
        lifecycle.accepting = false;
        logger.info('Shutting down: finishing in-flight requests.');
        await reloading;
        await stopAll();
        logger.info('Orchard stopped.');
        // The last lines get a second to reach a slow log reader; then Orchard exits without them.
        await bounded?.close(1000);
      })());
    return { config, logger, redis, app, admin, url, adminUrl, auth, close, stopNow, reloadConnectors };
  } catch (err) {
    await stopAll().catch(() => {});
    await bounded?.close(1000);
    throw err;
  }
}

/** The settings (other than connectors) whose values differ between two configurations. */
function changedSettings(was: Config, now: Config): string[] {
  const keys = new Set([...Object.keys(was), ...Object.keys(now)]);
  keys.delete('connectors');
  return [...keys].filter((k) => JSON.stringify((was as unknown as Record<string, unknown>)[k]) !== JSON.stringify((now as unknown as Record<string, unknown>)[k]));
}
