import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics.ts';
import type { EventSink } from '../../sink/event-sink.ts';

/** What /readyz and /status report beyond Redis: whether the process takes work, and a summary. */
export interface Lifecycle {
  /** False once shutdown started (and before start-up finished). */
  accepting: boolean;
  readonly startedAtMs: number;
  /** Set when the Redis reached cannot take appends whatever is retried (a Cluster node through REDIS_URL): /readyz says why. */
  redisRefused?: string;
}

export interface OperationsRoutesOptions {
  readonly sink: EventSink;
  readonly metrics: Metrics;
  readonly lifecycle: Lifecycle;
  /** Static facts for /status; never a secret. */
  readonly status: () => Record<string, unknown> | Promise<Record<string, unknown>>;
  readonly readyTimeoutMs?: number;
}

const noRateLimit = { rateLimit: false } as const;

/** /healthz, /readyz, /metrics, /status. None needs credentials; none is rate limited. */
export async function operationsRoutes(scope: FastifyInstance, options: OperationsRoutesOptions): Promise<void> {
  const { sink, metrics, lifecycle } = options;
  const readyTimeoutMs = options.readyTimeoutMs ?? 1000;

  scope.get('/healthz', { config: noRateLimit }, async () => ({ status: 'ok' }));

  scope.get('/readyz', { config: noRateLimit }, async (_req, reply) => {
    if (!lifecycle.accepting) return reply.code(503).send({ status: 'not_ready', reason: 'shutting down' });
    if (lifecycle.redisRefused) return reply.code(503).send({ status: 'not_ready', reason: lifecycle.redisRefused });
    try {
      // Ready, also when degraded: with Redis away the local spool still takes every event durably.
      const health = await sink.ping(readyTimeoutMs);
      return health ? { status: 'ready', degraded: health.degraded } : { status: 'ready' };
    } catch (err) {
      return reply.code(503).send({ status: 'not_ready', reason: (err as Error).message });
    }
  });

  scope.get('/metrics', { config: noRateLimit }, async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  scope.get('/status', { config: noRateLimit }, async () => ({
    ...(await options.status()),
    accepting: lifecycle.accepting,
    uptimeSeconds: Math.round((Date.now() - lifecycle.startedAtMs) / 1000),
  }));
}
