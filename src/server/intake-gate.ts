import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import proxyAddr from '@fastify/proxy-addr';
import type { Metrics } from '../metrics.ts';
import type { AuthFailureThrottle } from './auth-failure-throttle.ts';
import type { ConnectionGuard } from './connection-guard.ts';
import type { RequestNoise } from './request-noise.ts';
import type { Authenticator } from './webhook-authenticator.ts';

// The front door of the main listener, ahead of Fastify: what a flood of hostile requests costs is
// decided here. Every request passes through `handle` first; most go on to Fastify untouched. Two kinds
// are answered here, from prepared bytes, without routing, hooks, a request object or a log line:
//
//   - a request to a push route without valid credentials: 401 (or 429 once its address failed too
//     often), the same answer the route's own onRequest hook gives;
//   - a request for a path the listener does not serve: 404, as Fastify's not-found handler answers.
//
// Both close the connection (`Connection: close`), and so does any answer on a connection that has not
// authenticated: an attacker pipelining hundreds of requests on one connection gets one answer for it,
// and must open a new connection for the next — which the connection guard (connection-guard.ts)
// bounds per address. A request with valid credentials marks
// its connection (and its address) as a legitimate sender's. Counted as every request is: in
// orchard_http_requests_total and orchard_auth_failures_total, and in the summary log lines
// (request-noise.ts). Measured on this machine: 256 connections pipelining unauthenticated webhooks
// took legitimate webhooks to a p99 of 13.6 s before; the figures after are in docs/operations.md (Under attack).

const kAuthenticated = Symbol('orchard.authenticated');
const kResponse = Symbol('orchard.response');
const kRefused = Symbol('orchard.closing');
const kTenant = Symbol('orchard.tenant');
type GateSocket = Socket & { [kAuthenticated]?: boolean; [kResponse]?: ServerResponse; [kRefused]?: boolean };
type GateRequest = IncomingMessage & { [kTenant]?: string };

export interface GateRoute {
  readonly path: string;
  readonly methods: readonly string[];
  readonly authenticate: Authenticator;
}

export interface IntakeGateOptions {
  readonly routes: readonly GateRoute[];
  /** Every path the listener serves (any method): others are answered 404 here. */
  readonly knownPaths: ReadonlySet<string>;
  readonly throttle: AuthFailureThrottle;
  readonly metrics: Metrics;
  readonly noise: RequestNoise;
  readonly guard: ConnectionGuard;
  /** Headers every answer of the listener carries (helmet's, computed once). */
  readonly securityHeaders: Readonly<Record<string, string>>;
  /** Fastify's trust_proxy, so that the client address is the one Fastify's req.ip gives. */
  readonly trustProxy: boolean | readonly string[];
}

/** The body of an error answer, as the error handler writes it. */
function errorBody(code: string, message: string): string {
  return JSON.stringify({ code, message, details: [] });
}

export class IntakeGate {
  readonly #routes = new Map<string, GateRoute>();
  readonly #o: IntakeGateOptions;
  readonly #clientAddress: (req: IncomingMessage) => string | undefined;
  readonly #unauthorized: string;
  readonly #tallies = new Map<string, Map<string, Map<number, { inc(): void }>>>();

  constructor(options: IntakeGateOptions) {
    this.#o = options;
    for (const route of options.routes) this.#routes.set(route.path, route);
    const trust = options.trustProxy;
    if (trust === false || (Array.isArray(trust) && trust.length === 0)) {
      this.#clientAddress = (req) => req.socket.remoteAddress;
    } else {
      const fn = trust === true ? () => true : proxyAddr.compile([...(trust as readonly string[])]);
      this.#clientAddress = (req) => proxyAddr(req, fn);
    }
    this.#unauthorized = errorBody('ORCHARD_ERR_INTAKE_UNAUTHORIZED', 'Missing or wrong webhook credentials.');
  }

  /** True when the gate answered the request itself; false: Fastify handles it. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const socket = req.socket as GateSocket;
    // Pipelined behind an answer that closes the connection: the connection ends before an answer to it
    // could be written, so it costs nothing more (and is not counted: it is never answered).
    if (socket[kRefused]) return true;
    // The answer in progress, for headersDone: kept on the connection rather than followed with a
    // 'finish' listener, a closure and two listener calls a request on the webhook path.
    socket[kResponse] = res;
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    const path = query === -1 ? url : url.slice(0, query);
    const route = this.#routes.get(path);
    if (route && route.methods.includes(req.method ?? '')) {
      const tenant = route.authenticate(req.headers);
      if (tenant !== undefined) {
        (req as GateRequest)[kTenant] = tenant;
        if (!socket[kAuthenticated]) {
          socket[kAuthenticated] = true;
          this.#o.guard.authenticated(socket);
        }
        return false;
      }
      this.#refuseCredentials(req, res, route.path);
      return true;
    }
    // A path the listener does not serve, or a push route with another method (GET /jamf-pro-events):
    // 404 here, as Fastify's not-found handler words it.
    if (route || !this.#o.knownPaths.has(path)) {
      const body = errorBody('ORCHARD_ERR_NOT_FOUND', `No route for ${req.method} ${path}.`);
      this.#answer(req, res, 404, 'unmatched', 'ORCHARD_ERR_NOT_FOUND', body);
      return true;
    }
    // An operations route (/healthz, /metrics, … when no admin port is set) for a connection that never
    // authenticated: Fastify answers it, and the connection closes after that one answer, so pipelining
    // /status or /metrics buys a stranger no more than a new connection each (which the connection
    // guard budgets). A legitimate sender's connection stays open.
    if (!socket[kAuthenticated]) {
      res.setHeader('connection', 'close');
      socket[kRefused] = true;
    }
    return false;
  }

  /** Whether the request in progress on this connection has had all its headers (for the 408's wording): its answer is not finished. */
  static headersDone(socket: Socket): boolean {
    const res = (socket as GateSocket)[kResponse];
    return res !== undefined && !res.writableFinished;
  }

  /**
   * The tenant of a request this gate authenticated and passed on (undefined: it did not), so that the
   * route's own onRequest check (for what does not come through the gate: app.inject) need not hash
   * the secret a second time.
   */
  static passedTenant(req: IncomingMessage): string | undefined {
    return (req as GateRequest)[kTenant];
  }

  #refuseCredentials(req: IncomingMessage, res: ServerResponse, route: string): void {
    const { throttle, metrics } = this.#o;
    metrics.authFailures.labels(route).inc();
    const address = this.#clientAddress(req) ?? '';
    const retryAfter = throttle.retryAfterSeconds(address);
    if (retryAfter > 0) {
      const body = errorBody('ORCHARD_ERR_INTAKE_AUTH_THROTTLED', `Too many failed authentication attempts from this address; retry in ${retryAfter} s.`);
      this.#answer(req, res, 429, route, 'ORCHARD_ERR_INTAKE_AUTH_THROTTLED', body, address, { 'retry-after': String(retryAfter) });
      return;
    }
    throttle.recordFailure(address);
    this.#answer(req, res, 401, route, 'ORCHARD_ERR_INTAKE_UNAUTHORIZED', this.#unauthorized, address);
  }

  #answer(req: IncomingMessage, res: ServerResponse, status: number, route: string, code: string, body: string, address?: string, extra?: Record<string, string>): void {
    this.#tally(route, req.method ?? '', status).inc();
    this.#o.noise.count(status, code, address ?? this.#clientAddress(req));
    res.writeHead(status, {
      ...this.#o.securityHeaders,
      ...extra,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    // Connection: close makes Node end the connection once this answer is written; answers to what
    // the client pipelined after it are never sent.
    res.end(body);
    (req.socket as GateSocket)[kRefused] = true;
  }

  /** The tally of one route, method and status (a bounded set), looked up without building a key string. */
  #tally(route: string, method: string, status: number): { inc(): void } {
    let byMethod = this.#tallies.get(route);
    if (!byMethod) this.#tallies.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (!byStatus) byMethod.set(method, (byStatus = new Map()));
    let tally = byStatus.get(status);
    if (!tally) byStatus.set(status, (tally = this.#o.metrics.httpRequestTally.labels({ route, method, status: String(status) })));
    return tally;
  }
}
