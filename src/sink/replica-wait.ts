import type { Redis } from 'ioredis';
import { SinkUnavailableError } from '../errors.ts';

/**
 * What `redis_wait_replicas` asks of every write before it is acknowledged to the sender: WAIT until
 * that many replicas have it, at most `timeoutMs`. Killing a primary whose replica lags loses
 * acknowledged writes; this is what keeps a failover from losing them. Shared by the push sink, the
 * page sink and the import.
 */
export class ReplicaWait {
  constructor(
    private readonly redis: Redis,
    /** Replicas that must acknowledge; 0: no wait. */
    readonly replicas: number,
    readonly timeoutMs: number,
  ) {}

  /** Resolves once enough replicas have the writes sent so far on this connection; else SinkUnavailableError. */
  async wait(): Promise<void> {
    if (this.replicas === 0) return;
    const acked = await this.redis.wait(this.replicas, this.timeoutMs);
    if (acked < this.replicas) {
      throw new SinkUnavailableError(`Only ${acked} of ${this.replicas} Redis replicas acknowledged within ${this.timeoutMs} ms (redis_wait_replicas).`);
    }
  }
}
