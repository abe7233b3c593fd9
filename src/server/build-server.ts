import { readFileSync } from 'node:fs';
import { createServer, STATUS_CODES, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
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
import { ConnectionGuard } from './connection-guard.ts';
import { installErrorHandler } from './error-handler.ts';
import { IntakeGate } from './intake-gate.ts';
import { RequestNoise, summarisedStatuses } from './request-noise.ts';
import { lazyRequestLoggers } from './lazy-request-logger.ts';
import { staticSecurityHeaders } from './static-security-headers.ts';
import { jamfProWebhookRoute } from './routes/jamf-pro-webhook-route.ts';
import { jamfProtectRoute } from './routes/jamf-protect-route.ts';
import { jamfProLogsRoute } from './routes/jamf-pro-logs-route.ts';
import { operationsRoutes, type Lifecycle } from './routes/operations-routes.ts';
import { createAuthenticator, type Authenticator, type WebhookAuth } from './webhook-authenticator.ts';

export interface ServerDependencies {
  readonly config: Config;
  readonly sink: EventSink;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly lifecycle: Lifecycle;
  readonly auth: WebhookAuth;
  readonly validator?: WebhookValidator;
  /** Where the summarised answers are counted (one per process); made here when not given. */
  readonly noise?: RequestNoise;
  /** Facts for /status beyond what the server knows. */
  readonly status?: () => Record<string, unknown> | Promise<Record<string, unknown>>;
}

/**
 * Answers what Node's HTTP parser refuses (timeouts, malformed requests) in Orchard's error format.
 * A timeout names the setting that fired: headers_timeout_ms while the request's headers were still
 * arriving, request_timeout_ms once they had all come (Node reports both as one error code).
 */
function clientErrorHandler(noise: RequestNoise | undefined) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const timeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const status = timeout ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const setting = IntakeGate.headersDone(socket) ? 'request_timeout_ms' : 'headers_timeout_ms';
    const what = setting === 'headers_timeout_ms' ? "The request's headers were" : 'The request was';
    const code = timeout ? 'ORCHARD_ERR_REQUEST_TIMEOUT' : 'ORCHARD_ERR_BAD_HTTP';
    const body = JSON.stringify({ code, message: timeout ? `${what} not received in time (${setting}).` : 'The request is not valid HTTP.', details: [] });
    if (timeout) noise?.count(status, code, socket.remoteAddress);
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  };
}

/** Node's http(s) server options. Node requires headersTimeout <= requestTimeout; requestTimeout is checked every second, not every 30 s. */
function serverTimeouts(config: Config) {
  return { headersTimeout: Math.min(config.headersTimeoutMs, config.requestTimeoutMs), requestTimeout: config.requestTimeoutMs, connectionsCheckingInterval: 1000 };
}

function baseOptions(config: Config, logger: Logger, noise?: RequestNoise) {
  return {
    clientErrorHandler: clientErrorHandler(noise),
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

/**
 * One log line per answered request at most: 5xx at error, 4xx at info, successes at debug; the answers
 * that come by the thousand (401, 404, 408, 429, 503) are counted into one summary line per interval
 * instead (request-noise.ts), and a probe of /readyz saying "not ready" is debug.
 */
function logResponses(app: FastifyInstance, metrics: Metrics, logger: Logger, noise: RequestNoise): void {
  const debug = logger.isLevelEnabled('debug');
  // Route patterns, methods and statuses are bounded sets. Looked up one after the other rather than
  // by a key built per request: hashing a new string on every request showed on the webhook path.
  const requests = labelCache((route: string) =>
    labelCache((method: string) => labelCache((status: number) => metrics.httpRequestTally.labels({ route, method, status: String(status) }))),
  );
  const latency = labelCache((route: string) => metrics.httpRequestDuration.child({ route }));
  app.addHook('onResponse', (req, reply, done) => {
    const status = reply.statusCode;
    const route = req.routeOptions.url ?? 'unmatched';
    requests(route)(req.method)(status).inc();
    latency(route).observe(reply.elapsedTime / 1000);
    // Only the push routes answer 202 (taken: appended or spooled): their freshness.
    if (status === 202) metrics.completeness.sawEvent(route);
    if (status < 400 && !debug) return done();
    const line = { method: req.method, route, status, code: req.errorCode, remote: req.ip, ms: Math.round(reply.elapsedTime) };
    if (status === 503 && route === '/readyz') req.log.debug(line, 'Request answered.');
    else if (summarisedStatuses.has(status)) noise.count(status, req.errorCode, req.ip);
    else if (status >= 500) req.log.error(line, 'Request answered.');
    else if (status >= 400) req.log.info(line, 'Request answered.');
    else req.log.debug(line, 'Request answered.');
    done();
  });
}

/** The main listener: the intake routes and, unless an admin port is configured, the operations routes. */
export async function buildServer(deps: ServerDependencies): Promise<FastifyInstance> {
  const { config, sink, metrics, logger } = deps;
  const noise = deps.noise ?? new RequestNoise(logger, config.logSummaryIntervalMs);
  const tls = config.tlsCertFile && config.tlsKeyFile ? readTls(config.tlsCertFile, config.tlsKeyFile) : undefined;
  const guard = new ConnectionGuard({ perAddress: config.unauthenticatedConnectionsPerAddress, trusted: config.trustedAddresses, onRefused: () => metrics.connectionsRefused.inc() });
  // The gate in front of Fastify (intake-gate.ts), made once the routes are known.
  let gate: IntakeGate | undefined;
  const serverFactory = (handler: RequestListener) => {
    const listener = (req: IncomingMessage, res: ServerResponse) => {
      if (!gate?.handle(req, res)) handler(req, res);
    };
    const server = tls ? createHttpsServer({ ...serverTimeouts(config), ...tls }, listener) : createServer(serverTimeouts(config), listener);
    // What Fastify sets on a server it makes itself.
    server.keepAliveTimeout = config.keepAliveTimeoutMs;
    server.requestTimeout = config.requestTimeoutMs;
    server.setTimeout(config.requestTimeoutMs + config.headersTimeoutMs);
    guard.attach(server, config.maxConnections);
    return server;
  };
  const app = Fastify({ ...baseOptions(config, logger, noise), ...(tls ? { https: tls } : {}), serverFactory }) as unknown as FastifyInstance;
  const served = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const methods = served.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) methods.add(method);
    served.set(route.url, methods);
  });
  installErrorHandler(app);
  logResponses(app, metrics, logger, noise);
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
    // Off by default (rate_limit_per_minute 0): Jamf Cloud posts from few addresses and never retries,
    // so a 429 to an authenticated sender loses the event. Unauthenticated requests never get this far
    // on a listening server: the gate (intake-gate.ts) refuses them and throttles the address.
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
      tenant: config.webhookTenant,
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
  const intakeRoute = (path: string, auth: Authenticator) => ({ path, methods: [...(served.get(path) ?? [])], authenticate: auth });
  gate = new IntakeGate({
    routes: [intakeRoute(config.webhookPath, authenticate), intakeRoute(config.protectPath, authenticatorFor(protectAuth)), intakeRoute(config.logsPath, authenticatorFor(logsAuth))],
    knownPaths: new Set(served.keys()),
    throttle,
    metrics,
    noise,
    guard,
    securityHeaders: staticSecurityHeaders(),
    trustProxy: config.trustProxy,
  });
  return app;
}

/** A push route's authentication (Jamf Protect, logs): its own header and secrets when configured, else the webhook's. */
export function routeAuthFrom(header: string | undefined, secrets: readonly string[] | undefined, config: Config, webhookAuth: WebhookAuth): WebhookAuth {
  if (!secrets?.length) return webhookAuth;
  return { mode: 'header', header: header ?? config.webhookHeader, secrets };
}

/** A separate plain-HTTP listener for the operations routes, when admin_port is set. */
export async function buildAdminServer(deps: ServerDependencies): Promise<FastifyInstance> {
  const noise = deps.noise ?? new RequestNoise(deps.logger, deps.config.logSummaryIntervalMs);
  const app = Fastify(baseOptions(deps.config, deps.logger, noise)) as unknown as FastifyInstance;
  installErrorHandler(app);
  logResponses(app, deps.metrics, deps.logger, noise);
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
      webhook: { path: config.webhookPath, auth: deps.auth.mode, header: deps.auth.mode === 'header' ? config.webhookHeader : undefined, tenants: deps.auth.mode === 'header' ? (deps.auth.tenantSecrets ?? []).map((t) => t.tenant) : [] },
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
