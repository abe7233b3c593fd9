import type { RedisClient } from '../redis/redis-client.ts';
import { randomBytes } from 'node:crypto';
import { leaseReleaseScript, leaseRenewScript } from '../redis/scripts/connector-state-scripts.ts';
import { withTimeout } from '../redis/with-timeout.ts';

// A connector runs on one replica at a time: the replica holding its lease. The lease is a Redis key
// set with NX and an expiry, renewed by its holder every third of the expiry and deleted on shutdown;
// renewal and release only touch the key while it still holds this replica's token, so a replica
// that lost the lease (a long pause, Redis unreachable) can never extend or delete another's.

export interface LeaseOptions {
  readonly redis: RedisClient;
  readonly key: string;
  readonly ttlMs: number;
  /** Who holds it, for `orchard checkpoint show` and /status: host and pid. */
  readonly holder: string;
}

export class ConnectorLease {
  readonly #redis: RedisClient;
  readonly #key: string;
  readonly #ttlMs: number;
  /** The value stored in the key: holder description and a random part unique to this lease object. */
  readonly token: string;
  #held = false;

  constructor(options: LeaseOptions) {
    this.#redis = options.redis;
    this.#key = options.key;
    this.#ttlMs = options.ttlMs;
    this.token = `${options.holder} ${randomBytes(9).toString('base64url')}`;
  }

  get held(): boolean {
    return this.#held;
  }

  get ttlMs(): number {
    return this.#ttlMs;
  }

  #timeout<T>(promise: Promise<T>): Promise<T> {
    return withTimeout(promise, Math.max(1000, this.#ttlMs / 3), `Redis did not answer the lease command within ${Math.max(1000, this.#ttlMs / 3)} ms.`);
  }

  /** Takes the lease when nobody holds it (or this object already does). */
  async acquire(): Promise<boolean> {
    if (this.#held) return this.renew();
    const reply = await this.#timeout(this.#redis.set(this.#key, this.token, 'PX', this.#ttlMs, 'NX'));
    this.#held = reply === 'OK';
    return this.#held;
  }

  /** Extends the lease; false (and no longer held) when it expired or someone else has it. */
  async renew(): Promise<boolean> {
    const renewed = await this.#timeout(leaseRenewScript.run<number>(this.#redis, [this.#key], [this.token, this.#ttlMs]));
    this.#held = Number(renewed) === 1;
    return this.#held;
  }

  /** Gives the lease up so another replica can take the connector at once. */
  async release(): Promise<void> {
    if (!this.#held) return;
    this.#held = false;
    await this.#timeout(leaseReleaseScript.run<number>(this.#redis, [this.#key], [this.token]));
  }

  /** Marks the lease lost without asking Redis (a renewal failed). */
  lost(): void {
    this.#held = false;
  }
}
