import { SinkUnavailableError } from '../errors.ts';
import { waitReplicas, type RedisClient } from '../redis/redis-client.ts';

/**
 * What `redis_wait_replicas` asks of every write before it is acknowledged to the sender: WAIT until
 * that many replicas have it, at most `timeoutMs`. Killing a primary whose replica lags loses
 * acknowledged writes; this is what keeps a failover from losing them. Shared by the push sink, the
 * page sink and the import. On a Redis Cluster the WAIT goes to the primary that took the writes (the
 * one holding the written key's slot), and counts its replicas.
 */
export class ReplicaWait {
  constructor(
    private readonly redis: RedisClient,
    /** Replicas that must acknowledge; 0: no wait. */
    readonly replicas: number,
    readonly timeoutMs: number,
  ) {}

  /**
   * Resolves once enough replicas have the writes sent so far on this connection (to the primary of
   * `key`'s slot, on a Cluster); else SinkUnavailableError.
   */
  async wait(key: string): Promise<void> {
    if (this.replicas === 0) return;
    const acked = await waitReplicas(this.redis, key, this.replicas, this.timeoutMs);
    if (acked < this.replicas) {
      throw new SinkUnavailableError(`Only ${acked} of ${this.replicas} Redis replicas acknowledged within ${this.timeoutMs} ms (redis_wait_replicas).`);
    }
  }
}
