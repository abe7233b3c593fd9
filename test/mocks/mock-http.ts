import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

// What the vendor mocks share: one base class for the server's start, close and lifecycle, the log
// of requests, sleeps that close() cancels, answers and connection resets, and the count of
// requests in flight.

/** Sleeps that are cancelled (never resolved) when the mock closes. */
export class MockTimers {
  readonly #timers = new Set<NodeJS.Timeout>();

  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.add(t);
    });
  }

  clear(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}

/** Answers with `body` and notes the status on the request's log entry (unless the socket is gone). */
export function sendBody(res: ServerResponse, entry: { status: number }, status: number, body: string | Buffer, contentType: string, headers: Record<string, string> = {}): void {
  entry.status = status;
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

/**
 * A vendor mock: a real `node:http` server on a free port of 127.0.0.1, keep-alive like a vendor's
 * load balancer, each request to `handle`. Subclasses add the vendor's routes and data.
 */
export abstract class MockVendorServer<Entry extends { status: number }> {
  /** Every request received, in order, with the status it was answered (0: connection reset). */
  readonly requests: Entry[] = [];
  /** Latencies and scripted delays: cancelled by close(), their requests never answered. */
  protected readonly timers = new MockTimers();
  readonly #name: string;
  readonly #contentType: string;
  readonly #server: Server;
  #url: string | undefined;
  #started = false;
  #closed = false;
  #inFlight = 0;
  #maxInFlight = 0;

  /** `name` for errors; `contentType` of the vendor's JSON answers. */
  protected constructor(name: string, contentType: string) {
    this.#name = name;
    this.#contentType = contentType;
    this.#server = createServer((req, res) => void this.handle(req, res));
    this.#server.keepAliveTimeout = 5_000;
  }

  /** Answers one request. */
  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;

  /** Listens on a free port of 127.0.0.1. */
  async start(): Promise<void> {
    if (this.#started) throw new Error(`${this.#name}: already started`);
    this.#started = true;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(0, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Cancels the sleeps under way, then closes the server and every connection still open. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.timers.clear();
    if (!this.#started) return;
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  /** `http://127.0.0.1:<port>`, the base of the vendor's API paths. */
  get url(): string {
    if (this.#url === undefined) throw new Error(`${this.#name}: not started`);
    return this.#url;
  }

  /** Highest number of counted requests (see countInFlight) in flight at the same time. */
  protected get maxInFlight(): number {
    return this.#maxInFlight;
  }

  /** Counts the request as in flight until its response closes. */
  protected countInFlight(res: ServerResponse): void {
    this.#inFlight++;
    this.#maxInFlight = Math.max(this.#maxInFlight, this.#inFlight);
    res.once('close', () => this.#inFlight--);
  }

  /** Answers with `body` in the vendor's JSON content type (unless `headers` says otherwise) and logs the status. */
  protected send(res: ServerResponse, entry: Entry, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
    sendBody(res, entry, status, body, this.#contentType, headers);
  }

  /** Resets the request's connection (RST where Node can, else a close); logged as status 0. */
  protected resetConnection(req: IncomingMessage, entry: Entry): void {
    entry.status = 0;
    const socket = req.socket as Socket & { resetAndDestroy?: () => void };
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
  }
}
