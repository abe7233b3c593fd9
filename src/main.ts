import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { DestinationStream, Logger } from 'pino';
import { loadConfig, type Config } from './config/load-config.ts';
import { createLogger } from './logger.ts';
import { Metrics } from './metrics.ts';
import { createRedis, describeRedis, waitUntilReady } from './redis/create-redis.ts';
import { EmbeddedRedis, type RedisEndpoint } from './redis/embedded-redis.ts';
import { buildAdminServer, buildServer } from './server/build-server.ts';
import type { Lifecycle } from './server/routes/operations-routes.ts';
import { webhookAuthFromConfig, type WebhookAuth } from './server/webhook-authenticator.ts';
import { headerAuthenticationJson, loadOrCreateWebhookSecret } from './server/webhook-secret-store.ts';
import { sinkFromConfig } from './sink/redis-stream-sink.ts';

export interface RunningOrchard {
  readonly config: Config;
  readonly logger: Logger;
  readonly redis: Redis;
  readonly app: FastifyInstance;
  readonly admin: FastifyInstance | undefined;
  /** http(s)://host:port of the main listener. */
  readonly url: string;
  readonly adminUrl: string | undefined;
  readonly auth: WebhookAuth;
  /** Graceful: stop accepting, finish in-flight requests and appends, close Redis, stop an embedded Redis. */
  close(): Promise<void>;
}

export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Where log lines go (stdout by default). */
  readonly logDestination?: DestinationStream;
  /** Where the generated-secret banner goes (stderr by default). */
  readonly announce?: (text: string) => void;
}

/** How long start-up waits for Redis before it listens anyway. */
const redisStartWaitMs = 5000;

/** Decides webhook authentication, generating and keeping a secret when header mode has none. */
function resolveAuth(config: Config, logger: Logger, announce: (text: string) => void): WebhookAuth {
  const configured = webhookAuthFromConfig(config);
  if (configured?.mode === 'none') {
    logger.warn({ path: config.webhookPath }, 'Webhook authentication is OFF (ORCHARD_WEBHOOK_AUTH=none): anyone who reaches this port can write events.');
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
  const config = loadConfig(options.env ?? process.env, options.cwd);
  const logger = createLogger({ level: config.logLevel, secretHeader: config.webhookHeader, destination: options.logDestination });
  const announce = options.announce ?? ((text: string) => process.stderr.write(`${text}\n`));
  const metrics = new Metrics();
  const lifecycle: Lifecycle = { accepting: false, startedAtMs: Date.now() };

  const auth = resolveAuth(config, logger, announce);
  const embedded = config.redisUrl
    ? undefined
    : await EmbeddedRedis.start({ dataDir: config.dataDir, appendfsync: config.redisAppendfsync, logger });
  const target: string | RedisEndpoint = config.redisUrl ?? embedded!.endpoint;
  const redis = createRedis(target, logger, metrics);
  const sink = sinkFromConfig(config, redis, { metrics, logger });
  const status = () => ({ redis: { endpoint: describeRedis(target), embedded: embedded !== undefined, status: redis.status } });
  const deps = { config, sink, metrics, logger, lifecycle, auth, status };

  let app: FastifyInstance | undefined;
  let admin: FastifyInstance | undefined;
  const stopAll = async () => {
    await app?.close();
    await admin?.close();
    await sink.drain();
    await redis.quit().catch(() => redis.disconnect());
    await embedded?.stop();
  };
  try {
    // Listen once Redis answers, so the first webhooks are not refused; a Redis that stays away is
    // reported and waited for in the background (/readyz says 503 meanwhile).
    if (!(await waitUntilReady(redis, redisStartWaitMs))) {
      logger.warn({ redis: describeRedis(target), waitedMs: redisStartWaitMs }, 'Redis is not reachable; listening anyway, answering 503 until it is.');
    }
    app = await buildServer(deps);
    admin = config.adminPort === undefined ? undefined : await buildAdminServer(deps);
    const url = await app.listen({ host: config.host, port: config.port, listenTextResolver: (address) => `Listening at ${address}.` });
    const adminUrl = admin ? await admin.listen({ host: config.adminHost, port: config.adminPort, listenTextResolver: (address) => `Listening at ${address}.` }) : undefined;
    lifecycle.accepting = true;

    logger.info(
      {
        url,
        adminUrl,
        webhookPath: config.webhookPath,
        auth: auth.mode,
        stream: config.stream,
        redis: describeRedis(target),
        configFile: config.configFile,
      },
      'Orchard is listening.',
    );
    for (const c of config.connectors) {
      logger.warn({ connector: c.name, type: c.type }, 'Pull connectors are not available in this version yet; this connector is not run.');
    }

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        lifecycle.accepting = false;
        logger.info('Shutting down: finishing in-flight requests.');
        await stopAll();
        logger.info('Orchard stopped.');
      })());
    return { config, logger, redis, app, admin, url, adminUrl, auth, close };
  } catch (err) {
    await stopAll().catch(() => {});
    throw err;
  }
}
