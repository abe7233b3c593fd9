import { readFileSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/load-config.ts';
import { ListenError, RateLimitedError } from '../errors.ts';
import { labelCache, type Metrics } from '../metrics.ts';
import type { EventSink } from '../sink/event-sink.ts';
import { WebhookValidator } from '../sources/jamf-pro-webhooks/webhook-validator.ts';
import { AuthFailureThrottle } from './auth-failure-throttle.ts';
import { installErrorHandler } from './error-handler.ts';
import { lazyRequestLoggers } from './lazy-request-logger.ts';
import { staticSecurityHeaders } from './static-security-headers.ts';
import { jamfProWebhookRoute } from './routes/jamf-pro-webhook-route.ts';
import { jamfProtectRoute } from './routes/jamf-protect-route.ts';
import { jamfProLogsRoute } from './routes/jamf-pro-logs-route.ts';
import { operationsRoutes, type Lifecycle } from './routes/operations-routes.ts';
import { createAuthenticator, type WebhookAuth } from './webhook-authenticator.ts';

export interface ServerDependencies {
  readonly config: Config;
  readonly sink: EventSink;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly lifecycle: Lifecycle;
  readonly auth: WebhookAuth;
  readonly validator?: WebhookValidator;
  /** Facts for /status beyond what the server knows. */
  readonly status?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
}

/** Answers what Node's HTTP parser refuses (timeouts, malformed requests) in Orchard's error format. */
function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
  const status = timeout ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const body = JSON.stringify({
    code: timeout ? 'ORCHARD_ERR_REQUEST_TIMEOUT' : 'ORCHARD_ERR_BAD_HTTP',
    message: timeout ? 'The request was not received in time (request_timeout_ms).' : 'The request is not valid HTTP.',
    details: [],
  });
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** Node's http(s) server options. Node requires headersTimeout <= requestTimeout; requestTimeout is checked every second, not every 30 s. */
function serverTimeouts(config: Config) {
  return { headersTimeout: Math.min(config.headersTimeoutMs, config.requestTimeoutMs), requestTimeout: config.requestTimeoutMs, connectionsCheckingInterval: 1000 };
}

function baseOptions(config: Config, logger: Logger) {
  return {
    clientErrorHandler,
    loggerInstance: logger,
    childLoggerFactory: lazyRequestLoggers,
    logController: new LogController({ disableRequestLogging: true }),
    requestIdHeader: false as const,
    trustProxy: config.trustProxy,
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.requestTimeoutMs,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    connectionTimeout: config.requestTimeoutMs + config.headersTimeoutMs,
    return503OnClosing: true,
    forceCloseConnections: 'idle' as const,
    http: serverTimeouts(config),
  };
}

function readTls(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  try {
    return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  } catch (err) {
    throw new ListenError(`Cannot read the TLS certificate or key (ORCHARD_TLS_CERT_FILE, ORCHARD_TLS_KEY_FILE): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} for ${(err as NodeJS.ErrnoException).path ?? certFile}.`, err);
  }
}

/** One log line per answered request at most: 5xx at error (503 at warn), 4xx at info, successes at debug. */
function logResponses(app: FastifyInstance, metrics: Metrics, logger: Logger): void {
  const debug = logger.isLevelEnabled('debug');
  // Route patterns, methods and statuses are bounded sets. Looked up one after the other rather than
  // by a key built per request: hashing a new string on every request showed on the webhook path.
  const requests = labelCache((route: string) =>
    labelCache((method: string) => labelCache((status: number) => metrics.httpRequestTally.labels({ route, method, status: String(status) }))),
  );
  app.addHook('onResponse', (req, reply, done) => {
    const status = reply.statusCode;
    const route = req.routeOptions.url ?? 'unmatched';
    requests(route)(req.method)(status).inc();
    if (status < 400 && !debug) return done();
    const line = { method: req.method, route, status, code: req.errorCode, remote: req.ip, ms: Math.round(reply.elapsedTime) };
    // 503 is an expected answer (Redis away, shutting down): a warning, not an error; a probe of
    // /readyz saying "not ready" is not even that.
    if (status >= 500 && status !== 503) req.log.error(line, 'Request answered.');
    else if (status === 503 && route === '/readyz') req.log.debug(line, 'Request answered.');
    else if (status === 503) req.log.warn(line, 'Request answered.');
    else if (status >= 400) req.log.info(line, 'Request answered.');
    else req.log.debug(line, 'Request answered.');
    done();
  });
}

/** The main listener: the intake routes and, unless an admin port is configured, the operations routes. */
export async function buildServer(deps: ServerDependencies): Promise<FastifyInstance> {
  const { config, sink, metrics, logger } = deps;
  const https = config.tlsCertFile && config.tlsKeyFile ? { https: { ...serverTimeouts(config), ...readTls(config.tlsCertFile, config.tlsKeyFile) } } : {};
  const app = Fastify({ ...baseOptions(config, logger), ...https }) as unknown as FastifyInstance;
  installErrorHandler(app);
  logResponses(app, metrics, logger);
  // helmet's headers on every answer of this listener (intake routes, 404s). @fastify/helmet itself
  // is registered only around the operations routes: its per-request hooks cost the webhook path
  // about a tenth of its CPU even on routes that opt out.
  addStaticSecurityHeaders(app);

  const validator = deps.validator ?? new WebhookValidator();
  const throttle = new AuthFailureThrottle(config.authFailureLimit);
  const authenticate = createAuthenticator(deps.auth);
  const protectAuth = routeAuthFrom(config.protectHeader, config.protectSecrets, config, deps.auth);
  const logsAuth = routeAuthFrom(config.logsHeader, config.logsSecrets, config, deps.auth);
  const authenticatorFor = (auth: WebhookAuth) => (auth === deps.auth ? authenticate : createAuthenticator(auth));

  await app.register(async (intake) => {
    if (config.rateLimitPerMinute > 0) {
      await intake.register(rateLimit, {
        global: true,
        max: config.rateLimitPerMinute,
        timeWindow: 60_000,
        cache: 10_000,
        errorResponseBuilder: (_req, context) => new RateLimitedError(Math.ceil(context.ttl / 1000)),
      });
    }
    await intake.register(jamfProWebhookRoute, {
      path: config.webhookPath,
      authenticate,
      throttle,
      metrics,
      sink,
      validator,
      bodyLimitBytes: config.bodyLimitBytes,
    });
    await intake.register(jamfProtectRoute, {
      path: config.protectPath,
      authenticate: authenticatorFor(protectAuth),
      throttle,
      metrics,
      sink,
      bodyLimitBytes: config.bodyLimitBytes,
      decodedBodyLimitBytes: config.decodedBodyLimitBytes,
      dedupWindowSeconds: config.protectDedupWindowSeconds,
      logsPath: config.logsPath,
    });
    await intake.register(jamfProLogsRoute, {
      path: config.logsPath,
      authenticate: authenticatorFor(logsAuth),
      throttle,
      metrics,
      sink,
      bodyLimitBytes: config.bodyLimitBytes,
      decodedBodyLimitBytes: config.decodedBodyLimitBytes,
      dedupWindowSeconds: config.dedupWindowSeconds,
    });
  });

  if (config.adminPort === undefined) await registerOperations(app, deps);
  return app;
}

/** A push route's authentication (Jamf Protect, logs): its own header and secrets when configured, else the webhook's. */
export function routeAuthFrom(header: string | undefined, secrets: readonly string[] | undefined, config: Config, webhookAuth: WebhookAuth): WebhookAuth {
  if (!secrets?.length) return webhookAuth;
  return { mode: 'header', header: header ?? config.webhookHeader, secrets };
}

/** A separate plain-HTTP listener for the operations routes, when admin_port is set. */
export async function buildAdminServer(deps: ServerDependencies): Promise<FastifyInstance> {
  const app = Fastify(baseOptions(deps.config, deps.logger)) as unknown as FastifyInstance;
  installErrorHandler(app);
  logResponses(app, deps.metrics, deps.logger);
  await registerOperations(app, deps);
  return app;
}

async function registerOperations(app: FastifyInstance, deps: ServerDependencies): Promise<void> {
  const { config } = deps;
  await app.register(async (ops) => {
    await ops.register(helmet, { global: true });
    await ops.register(operationsRoutes, {
    sink: deps.sink,
    metrics: deps.metrics,
    lifecycle: deps.lifecycle,
    status: async () => ({
      service: 'orchard',
      stream: config.stream,
      rejectedStream: config.rejectedStream,
      webhook: { path: config.webhookPath, auth: deps.auth.mode, header: deps.auth.mode === 'header' ? config.webhookHeader : undefined },
      protect: routeStatus(config.protectPath, routeAuthFrom(config.protectHeader, config.protectSecrets, config, deps.auth), deps.auth),
      logs: routeStatus(config.logsPath, routeAuthFrom(config.logsHeader, config.logsSecrets, config, deps.auth), deps.auth),
      connectors: [],
      ...(await deps.status?.()),
    }),
    });
  });
}

function routeStatus(path: string, auth: WebhookAuth, webhookAuth: WebhookAuth): Record<string, unknown> {
  return { path, auth: auth.mode, header: auth.mode === 'header' ? auth.header : undefined, ownSecrets: auth !== webhookAuth };
}

function addStaticSecurityHeaders(app: FastifyInstance): void {
  const headers = staticSecurityHeaders();
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (!reply.hasHeader('content-security-policy')) reply.headers(headers);
    done(null, payload);
  });
}
