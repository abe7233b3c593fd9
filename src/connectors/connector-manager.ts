import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { hostname } from 'node:os';
import type { Config } from '../config/load-config.ts';
import type { Metrics } from '../metrics.ts';
import type { PageSink } from '../sink/redis-stream-sink.ts';
import { ConnectorRunner, type ConnectorStatus } from './connector-runner.ts';
import { createSource } from './source-registry.ts';

/** Every configured connector's loop: started after Orchard listens, stopped first on shutdown. */
export class ConnectorManager {
  readonly #runners: ConnectorRunner[] = [];
  readonly #skipped: { name: string; type: string; reason: string }[] = [];

  constructor(options: { config: Config; redis: Redis; sink: PageSink; logger: Logger; metrics?: Metrics }) {
    const { config, logger, metrics } = options;
    const holder = `${hostname()}:${process.pid}`;
    for (const c of config.connectors) {
      if (!c.enabled) {
        this.#skipped.push({ name: c.name, type: c.type, reason: 'disabled (enabled: false)' });
        logger.info({ connector: c.name, type: c.type }, 'Connector disabled in the configuration; not run.');
        continue;
      }
      const source = createSource(c, { metrics, stream: config.stream, protectDedupWindowSeconds: config.protectDedupWindowSeconds });
      if (!source) {
        this.#skipped.push({ name: c.name, type: c.type, reason: 'type not available in this version' });
        logger.warn({ connector: c.name, type: c.type }, 'This connector type is not available in this version yet; the connector is not run.');
        continue;
      }
      this.#runners.push(
        new ConnectorRunner({ config: c, source, sink: options.sink, redis: options.redis, stream: config.stream, leaseTtlMs: config.connectorLeaseTtlMs, holder, logger, metrics }),
      );
    }
  }

  start(): void {
    for (const runner of this.#runners) runner.start();
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.#runners.map((r) => r.stop()));
  }

  status(): { connectors: (ConnectorStatus | { name: string; type: string; state: 'not_run'; reason: string })[] } {
    return {
      connectors: [...this.#runners.map((r) => r.status()), ...this.#skipped.map((s) => ({ ...s, state: 'not_run' as const }))],
    };
  }
}
