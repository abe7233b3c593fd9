// The HTTP layer every pull connector shares: one undici Pool per vendor origin (or a dispatcher the
// caller passes, e.g. a test's Agent), at most `maxConnections` requests in flight, bounded retries
// with full-jitter backoff for network failures, 5xx and 429 (honouring Retry-After), one token
// refresh on a 401, and every response body read to the end so keep-alive sockets are reused.
// Whether a failure is retried is decided by `isRetryable` (diagnosis.ts), the same function the
// connector loop uses; secrets never reach an error message, a body excerpt or `onAttempt`.

import { isAscii } from 'node:buffer';
import type { ConnectorConfig } from '../../config/load-config.ts';
import type { Dispatcher, Pool } from 'undici';
import { VendorHttpError, VendorNetworkError, VendorResponseError, VendorResponseTooLargeError } from '../../errors.ts';
import { fullJitterDelayMs, parseRetryAfterMs } from '../../backoff.ts';
import { isRetryable, isTlsErrorCode, networkErrorCode } from '../../connectors/diagnosis.ts';
import { readDeprecationHeaders, type DeprecationHeaders } from './deprecation-headers.ts';
import { redact, secretHeaderValues } from './redact.ts';
import { sleep, Slots } from './slots.ts';

export interface TokenProvider {
  /** A valid access token; fetches one when none is cached. */
  token(signal?: AbortSignal): Promise<string>;
  /** Forget the cached token: the vendor answered 401 with it. */
  invalidate(): void;
}

export type QueryValue = string | number | readonly (string | number)[] | undefined;

export interface VendorRequest {
  method: 'GET' | 'POST' | 'PUT';
  /** Relative to the base URL (which may carry a path prefix); may start with "/". */
  path: string;
  /** Arrays become repeated parameters (section=GENERAL&section=HARDWARE); undefined values are left out. */
  query?: Record<string, QueryValue>;
  headers?: Record<string, string>;
  /** Sent as is; content-type defaults to application/json. */
  body?: string;
  /** Ask the TokenProvider for a token before each attempt and send it (see `authorize`). */
  auth?: boolean;
}

export interface VendorResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The body parsed as JSON; throws VendorResponseError (ORCHARD_ERR_VENDOR_BAD_RESPONSE) when it is not JSON. */
  json<T = unknown>(): T;
}

/** What `onAttempt` reports after each attempt. */
export interface VendorAttempt {
  method: string;
  /** Path without query string. */
  path: string;
  /** The status the vendor answered, when it answered. */
  status?: number;
  durationMs: number;
  /** 1 for the first attempt of a request. */
  attempt: number;
  /** The network error code when the attempt failed without a response; TOO_LARGE when the answer was over maxResponseBytes. */
  error?: string;
  /** The answer carried Deprecation or Sunset headers: the vendor will remove this path. */
  deprecation?: DeprecationHeaders;
}

export interface VendorHttpClientOptions {
  /** e.g. https://example.jamfcloud.com or https://example.com/prefix */
  baseUrl: string;
  /** The connector's name, for errors and logs. */
  connector: string;
  /** Connections to the vendor and requests in flight at once; more wait in a queue. Default 5 (what Jamf asks of API clients). */
  maxConnections?: number;
  /** Time allowed for the response headers, and between chunks of the body, per attempt. Default 30000. */
  timeoutMs?: number;
  /** Time allowed to open a connection (TCP and TLS). Only applies to the pool this client creates. Default 10000. */
  connectTimeoutMs?: number;
  /** Attempts per request for retryable failures (network, 429, 5xx), the first included; the one retry after a 401 and a token refresh comes on top. Default 5. */
  maxAttempts?: number;
  /** Ceiling of the first backoff delay; doubles per retry. Default 500. */
  retryBaseDelayMs?: number;
  /** Largest backoff ceiling. Default 30000. */
  retryMaxDelayMs?: number;
  /** A Retry-After longer than this fails the request at once (VendorHttpError 429 with retryAfterMs) rather than stalling. Default 120000. */
  maxRetryAfterMs?: number;
  /** Needed by requests with `auth: true`; can also be given later with `setTokens` (a provider that uses this client). */
  tokens?: TokenProvider;
  /** Headers that carry a token. Default `{ authorization: 'Bearer ' + token }`. */
  authorize?: (token: string) => Record<string, string>;
  /** Values to blank out of error excerpts besides tokens and credential headers (a client secret, an API key). */
  secrets?: readonly string[];
  /** Used instead of a Pool of the client's own, and not closed by `close()`. */
  dispatcher?: Dispatcher;
  random?: () => number;
  /** Waits between attempts; must reject when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Called after every attempt, for statistics, metrics and logs. */
  onAttempt?: (info: VendorAttempt) => void;
  /** A larger 2xx answer fails the request (VendorResponseTooLargeError) rather than filling memory. Default 256 MiB. */
  maxResponseBytes?: number;
}

const defaultMaxResponseBytes = 256 * 1024 * 1024;
/** What is kept of an oversized answer that is not 2xx: enough for an error's excerpt. */
const errorBodyKeptBytes = 64 * 1024;

function decodeText(bytes: Buffer): string {
  if (isAscii(bytes)) return bytes.toString('latin1');
  const start = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return bytes.toString('utf8', start);
}

/** The client of a connector entry: its base URL, connection limit, timeout and attempts; `secrets` are redacted from error excerpts. */
export function vendorClientFor(
  config: ConnectorConfig,
  options: { onAttempt?: (attempt: VendorAttempt) => void; secrets: readonly string[]; authorize?: (token: string) => Record<string, string> },
): VendorHttpClient {
  return new VendorHttpClient({
    authorize: options.authorize,
    baseUrl: config.baseUrl,
    connector: config.name,
    maxConnections: config.maxConnections,
    timeoutMs: config.timeoutMs,
    maxAttempts: config.maxAttempts,
    onAttempt: options.onAttempt,
    secrets: options.secrets,
  });
}

export class VendorHttpClient {
  /** The connector's name, as given. */
  readonly connector: string;
  /** Attempts made (HTTP requests sent or tried). */
  requests = 0;
  /** Attempts that repeated an earlier one. */
  retries = 0;

  readonly #origin: string;
  readonly #prefix: string;
  /** The caller's dispatcher, or this client's own Pool (opened with the first request, see ./undici.ts). */
  readonly #dispatcher: () => Promise<Dispatcher>;
  #ownPool: Promise<Pool> | undefined;
  #closed = false;
  readonly #slots: Slots;
  readonly #timeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #maxAttempts: number;
  readonly #retryBaseDelayMs: number;
  readonly #retryMaxDelayMs: number;
  readonly #maxRetryAfterMs: number;
  #tokens: TokenProvider | undefined;
  readonly #authorize: (token: string) => Record<string, string>;
  readonly #secrets: readonly string[];
  readonly #random: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #onAttempt: ((info: VendorAttempt) => void) | undefined;

  constructor(options: VendorHttpClientOptions) {
    const base = new URL(options.baseUrl);
    if (base.protocol !== 'https:' && base.protocol !== 'http:') {
      throw new TypeError(`${options.connector}: the base URL must start with https:// or http://.`);
    }
    if (base.username !== '' || base.password !== '' || base.search !== '' || base.hash !== '') {
      throw new TypeError(`${options.connector}: the base URL must not carry credentials, a query or a fragment.`);
    }
    const maxConnections = positiveInteger(options.maxConnections ?? 5, 'maxConnections');
    this.connector = options.connector;
    this.#origin = base.origin;
    this.#prefix = base.pathname.replace(/\/+$/, '');
    this.#timeoutMs = positiveInteger(options.timeoutMs ?? 30_000, 'timeoutMs');
    this.#maxResponseBytes = positiveInteger(options.maxResponseBytes ?? defaultMaxResponseBytes, 'maxResponseBytes');
    this.#maxAttempts = positiveInteger(options.maxAttempts ?? 5, 'maxAttempts');
    this.#retryBaseDelayMs = options.retryBaseDelayMs ?? 500;
    this.#retryMaxDelayMs = options.retryMaxDelayMs ?? 30_000;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 120_000;
    this.#tokens = options.tokens;
    this.#authorize = options.authorize ?? ((token) => ({ authorization: `Bearer ${token}` }));
    this.#secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
    this.#random = options.random ?? Math.random;
    this.#sleep = options.sleep ?? sleep;
    this.#onAttempt = options.onAttempt;
    this.#slots = new Slots(maxConnections);
    if (options.dispatcher) {
      const dispatcher = options.dispatcher;
      this.#dispatcher = async () => dispatcher;
    } else {
      const poolOptions: Pool.Options = {
        connections: maxConnections,
        connectTimeout: positiveInteger(options.connectTimeoutMs ?? 10_000, 'connectTimeoutMs'),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      };
      this.#dispatcher = () =>
        (this.#ownPool ??= import('./undici.ts').then(async ({ Pool }) => {
          const pool = new Pool(this.#origin, poolOptions);
          if (this.#closed) await pool.close(); // closed before its first request: it fails as a closed pool does
          return pool;
        }));
    }
  }

  async request(req: VendorRequest, signal?: AbortSignal): Promise<VendorResponse> {
    signal?.throwIfAborted();
    if (req.auth && !this.#tokens) throw new TypeError(`${this.connector}: an auth request needs a TokenProvider.`);
    const pathOnly = this.#joinPath(req.path);
    const fullPath = pathOnly + queryString(req.path, req.query);
    let failures = 0;
    let refreshed = false;

    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) this.retries += 1;
      const headers = this.#headers(req);
      const secrets = [...this.#secrets, ...secretHeaderValues(headers)];
      if (req.auth) {
        const token = await this.#tokens!.token(signal).catch((err: unknown) => {
          throw signal?.aborted ? signal.reason : err;
        });
        const authHeaders = this.#authorize(token);
        Object.assign(headers, lowerCaseKeys(authHeaders));
        secrets.push(token, ...Object.values(authHeaders));
      }

      let answer: Answer;
      try {
        answer = await this.#attempt(req.method, pathOnly, fullPath, headers, req.body, attempt, signal);
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        const errorCode = networkErrorCode(err);
        if (errorCode === undefined) throw err;
        const networkError = new VendorNetworkError({
          connector: this.connector,
          method: req.method,
          path: pathOnly,
          errorCode,
          tls: isTlsErrorCode(errorCode),
          cause: err,
        });
        failures += 1;
        if (!isRetryable(networkError) || failures >= this.#maxAttempts) throw networkError;
        await this.#pause(this.#backoffMs(failures), signal);
        continue;
      }

      if (answer.status >= 200 && answer.status < 300) return this.#response(req.method, pathOnly, answer);

      const retryAfterMs = parseRetryAfterMs(firstHeader(answer.headers['retry-after']));
      const httpError = new VendorHttpError({
        connector: this.connector,
        method: req.method,
        path: pathOnly,
        status: answer.status,
        bodyExcerpt: redact(answer.body, secrets),
        retryAfterMs,
      });
      if (answer.status === 401 && req.auth && !refreshed) {
        refreshed = true;
        this.#tokens!.invalidate();
        continue;
      }
      failures += 1;
      if (!isRetryable(httpError) || failures >= this.#maxAttempts) throw httpError;
      if (retryAfterMs !== undefined && (answer.status === 429 || answer.status === 503)) {
        if (retryAfterMs > this.#maxRetryAfterMs) throw httpError;
        await this.#pause(retryAfterMs, signal);
      } else {
        await this.#pause(this.#backoffMs(failures), signal);
      }
    }
  }

  /** Sets the TokenProvider, for a provider that itself sends its token requests through this client. */
  setTokens(tokens: TokenProvider): void {
    this.#tokens = tokens;
  }

  /** Closes the pool this client created; a dispatcher passed in stays open. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#ownPool) await (await this.#ownPool).close();
  }

  async #attempt(
    method: 'GET' | 'POST' | 'PUT',
    pathOnly: string,
    fullPath: string,
    headers: Record<string, string>,
    body: string | undefined,
    attempt: number,
    signal: AbortSignal | undefined,
  ): Promise<Answer> {
    await this.#slots.acquire(signal);
    const startedAt = performance.now();
    this.requests += 1;
    try {
      const res = await (await this.#dispatcher()).request({
        origin: this.#origin,
        path: fullPath,
        method,
        headers,
        body: body ?? null,
        signal,
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
      });
      // Read to the end whatever the status: an unread body holds its socket.
      const text = await this.#readBody(res.body, res.statusCode, method, pathOnly);
      const deprecation = readDeprecationHeaders(res.headers);
      this.#onAttempt?.({ method, path: pathOnly, status: res.statusCode, durationMs: performance.now() - startedAt, attempt, ...(deprecation ? { deprecation } : {}) });
      return { status: res.statusCode, headers: res.headers, body: text };
    } catch (err) {
      const durationMs = performance.now() - startedAt;
      if (err instanceof VendorResponseTooLargeError) {
        this.#onAttempt?.({ method, path: pathOnly, status: err.status, durationMs, attempt, error: 'TOO_LARGE' });
      } else {
        const error = signal?.aborted ? 'ABORTED' : (networkErrorCode(err) ?? 'INTERNAL');
        this.#onAttempt?.({ method, path: pathOnly, durationMs, attempt, error });
      }
      throw err;
    } finally {
      this.#slots.release();
    }
  }

  /**
   * The body as text, UTF-8 with a leading byte-order mark dropped (as undici's text()), at most
   * maxResponseBytes. Beyond that, a 2xx answer fails with VendorResponseTooLargeError; any other
   * answer keeps its first 64 KiB, enough for the error's excerpt, and is judged by its status. A body
   * of ASCII alone (the usual vendor JSON) is copied as Latin-1: the same text, and about three times
   * cheaper to decode than UTF-8 for a 10 MB page.
   */
  async #readBody(body: Dispatcher.ResponseData['body'], status: number, method: string, path: string): Promise<string> {
    // An error answer is only ever shown as an excerpt: past its first 64 KiB it is read and dropped.
    const keep = status >= 200 && status < 300 ? Number.POSITIVE_INFINITY : errorBodyKeptBytes;
    const chunks: Buffer[] = [];
    let kept = 0;
    let length = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      length += chunk.length;
      if (length > this.#maxResponseBytes) {
        body.destroy();
        if (keep === Number.POSITIVE_INFINITY) {
          throw new VendorResponseTooLargeError(this.connector, { method, path, status, limitBytes: this.#maxResponseBytes });
        }
        break;
      }
      if (kept < keep) {
        chunks.push(chunk);
        kept += chunk.length;
      }
    }
    const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, kept);
    return decodeText(kept > keep ? all.subarray(0, keep) : all);
  }

  #response(method: string, path: string, answer: Answer): VendorResponse {
    const { connector } = this;
    let parsed: { value: unknown } | undefined;
    return {
      status: answer.status,
      headers: answer.headers,
      body: answer.body,
      json<T = unknown>(): T {
        if (!parsed) {
          try {
            parsed = { value: JSON.parse(answer.body) };
          } catch (cause) {
            throw new VendorResponseError(connector, `the body is not JSON (${answer.body.length} characters)`, {
              method,
              path,
              cause,
            });
          }
        }
        return parsed.value as T;
      },
    };
  }

  #headers(req: VendorRequest): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'orchard' };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    return Object.assign(headers, lowerCaseKeys(req.headers ?? {}));
  }

  #joinPath(path: string): string {
    const end = path.search(/[?#]/);
    const relative = (end === -1 ? path : path.slice(0, end)).replace(/^\/+/, '');
    return `${this.#prefix}/${relative}`;
  }

  #backoffMs(failures: number): number {
    return fullJitterDelayMs(failures - 1, this.#retryBaseDelayMs, this.#retryMaxDelayMs, this.#random);
  }

  async #pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
    await this.#sleep(ms, signal);
    signal?.throwIfAborted();
  }
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function queryString(path: string, query: VendorRequest['query']): string {
  const parts: string[] = [];
  const inline = path.indexOf('?');
  if (inline !== -1) {
    const hash = path.indexOf('#', inline);
    const text = path.slice(inline + 1, hash === -1 ? undefined : hash);
    if (text !== '') parts.push(text);
  }
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    const values: readonly (string | number)[] = Array.isArray(value) ? value : [value as string | number];
    for (const v of values) parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

function lowerCaseKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

/** The first value of a response header (undici gives an array when it came more than once). */
export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new TypeError(`${name} must be a positive integer, got ${value}.`);
  return value;
}
