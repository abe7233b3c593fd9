import type { ServerResponse } from 'node:http';

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
