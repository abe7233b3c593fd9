import type { RedisClient } from '../redis/redis-client.ts';
import { ReadAbandonedError } from '../errors.ts';

// The consumer's blocking reads (XREADGROUP … BLOCK) on a dedicated connection, with a watchdog:
// ioredis can leave a blocking command hanging after a reconnect (it re-sends it on a new socket, or a
// half-open socket never answers), so a read that has not returned within blockMs + a margin, or whose
// connection closed or started reconnecting, is abandoned: the connection is disconnected and a new one
// made for the next read. The caller reads its PEL again, in case Redis had served the abandoned read.

/** `[entry id, fields]`; fields null when the entry was deleted while pending. */
export type RawEntry = [string, string[] | null];
/**
 * XREADGROUP's answer for one stream: `[[stream, entries]]` over RESP2. Over RESP3 (ioredis 6's default
 * for a connection the caller made) it is a map, which ioredis's `call()` hands over flattened:
 * `[stream, entries]`.
 */
export type ReadReply = [string, RawEntry[]][] | [string, RawEntry[]] | null;

/** The entries of an XREADGROUP answer, whichever protocol carried it. */
export function entriesOf(reply: ReadReply): RawEntry[] {
  if (!reply || reply.length === 0) return [];
  return (typeof reply[0] === 'string' ? reply[1] : reply[0]![1]) as RawEntry[];
}

export class BlockingReader {
  readonly #create: () => RedisClient;
  readonly #signal: AbortSignal;
  readonly #watchdogMarginMs: number;
  #conn: RedisClient | undefined;
  #abandonRead: ((why: string) => void) | undefined;

  /** `signal`: the consumer's stop, which ends a wait for the connection. */
  constructor(create: () => RedisClient, signal: AbortSignal, watchdogMarginMs: number) {
    this.#create = create;
    this.#signal = signal;
    this.#watchdogMarginMs = watchdogMarginMs;
  }

  /**
   * XREADGROUP … BLOCK on the dedicated connection, abandoned (connection dropped) when it outlives
   * blockMs + the margin, when its connection closes or reconnects, or on stop.
   */
  async read(args: (string | number)[], blockMs: number): Promise<ReadReply> {
    const conn = await this.#connection(blockMs + this.#watchdogMarginMs);
    return new Promise<ReadReply>((resolve, reject) => {
      let settled = false;
      const finish = (then: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        for (const event of ['close', 'end', 'reconnecting'] as const) conn.off(event, onTrouble);
        this.#abandonRead = undefined;
        then();
      };
      const abandon = (why: string) =>
        finish(() => {
          this.#drop(conn);
          reject(new ReadAbandonedError(why));
        });
      const onTrouble = () => abandon('its connection was lost');
      const timer = setTimeout(() => abandon(`no answer within ${blockMs + this.#watchdogMarginMs} ms`), blockMs + this.#watchdogMarginMs);
      for (const event of ['close', 'end', 'reconnecting'] as const) conn.once(event, onTrouble);
      this.#abandonRead = abandon;
      conn.call('XREADGROUP', ...args).then(
        (reply) => finish(() => resolve(reply as ReadReply)),
        (err: unknown) =>
          finish(() => {
            this.#drop(conn);
            reject(err instanceof Error ? err : new Error(String(err)));
          }),
      );
    });
  }

  /** The blocking connection, created when missing; waits (bounded) until it is ready. */
  async #connection(timeoutMs: number): Promise<RedisClient> {
    let conn = this.#conn;
    if (!conn) {
      conn = this.#create();
      this.#conn = conn;
      if (conn.status === 'wait') conn.connect().catch(() => {});
    }
    if (conn.status === 'end') {
      this.#drop(conn);
      throw new ReadAbandonedError('the blocking connection had ended');
    }
    if (conn.status === 'ready') return conn;
    const ready = await new Promise<boolean>((resolve) => {
      const done = (value: boolean) => {
        clearTimeout(timer);
        conn.off('ready', onReady);
        this.#signal.removeEventListener('abort', onAbort);
        resolve(value);
      };
      const onReady = () => done(true);
      const onAbort = () => done(false);
      const timer = setTimeout(() => done(false), timeoutMs);
      conn.once('ready', onReady);
      this.#signal.addEventListener('abort', onAbort, { once: true });
    });
    if (!ready) throw new ReadAbandonedError(this.#signal.aborted ? 'the consumer is stopping' : `the blocking connection was not ready within ${timeoutMs} ms`);
    return conn;
  }

  #drop(conn: RedisClient | undefined = this.#conn): void {
    if (!conn) return;
    if (this.#conn === conn) this.#conn = undefined;
    conn.disconnect();
  }


  /** Gives the read in flight up (it rejects with ReadAbandonedError). */
  abandon(why: string): void {
    this.#abandonRead?.(why);
  }

  /** Disconnects the blocking connection. */
  close(): void {
    this.#drop();
  }
}
