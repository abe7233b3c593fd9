import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

// What the vendor mocks share: timers that `close()` can cancel, and answering a request while
// recording its status in the mock's request log.

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

/** An HTTP server for a mock: keep-alive like a vendor's load balancer, each request to `handle`. */
export function mockServer(handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Server {
  const server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 5_000;
  return server;
}

/** Listens on a free port of 127.0.0.1; resolves with the base URL. */
export async function listenOnLoopback(server: Server): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes the server and every connection still open. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
