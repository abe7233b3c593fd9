import type { Logger } from 'pino';
import { hostname } from 'node:os';
import type { Config, ConnectorConfig } from '../config/config-types.ts';
import type { ConnectorStateStore } from '../connector-state/connector-state-store.ts';
import type { WindowStore } from '../connector-state/window-store.ts';
import type { Metrics } from '../metrics.ts';
import type { PageSink } from '../sink/event-sink.ts';
import { ConnectorRunner, type ConnectorStatus } from './connector-runner.ts';
import type { DeprecationNotices } from './deprecation-notices.ts';
import type { SourceInfo } from './diagnosis.ts';
import type { PullSource } from './pull-source.ts';

/** How a connector entry becomes its source: the sources' registry (src/sources/index.ts), passed in by main.ts. */
export type SourceFactory = (config: ConnectorConfig, metrics: Metrics | undefined) => { source: PullSource; info: SourceInfo; deprecations?: DeprecationNotices };

export interface ConnectorManagerOptions {
  readonly config: Config;
  readonly createSource: SourceFactory;
  readonly sink: PageSink;
  readonly state: ConnectorStateStore;
  /** The connectors' window counts (docs/completeness.md). */
  readonly windows?: WindowStore;
  readonly logger: Logger;
  readonly metrics?: Metrics;
}

/** Every configured connector's loop: started after Orchard listens, stopped first on shutdown. */
export class ConnectorManager {
  readonly #runners: ConnectorRunner[] = [];
  readonly #skipped: { name: string; type: string; reason: string }[] = [];

  constructor(options: ConnectorManagerOptions) {
    const { config, logger, metrics } = options;
    const holder = `${hostname()}:${process.pid}`;
    // The tenants the Jamf Pro webhook route writes: its own (webhook_tenant) and those of its tenant secrets.
    const webhookTenants = [config.webhookTenant, ...(config.webhookTenantSecrets ?? []).map((t) => t.tenant)];
    for (const c of config.connectors) {
      if (!c.enabled) {
        this.#skipped.push({ name: c.name, type: c.type, reason: 'disabled (enabled: false)' });
        logger.info({ connector: c.name, type: c.type }, 'Connector disabled in the configuration; not run.');
        continue;
      }
      metrics?.connectorInfo.set({ connector: c.name, type: c.type, tenant: c.tenant }, 1);
      metrics?.connectorInterval.set({ connector: c.name }, c.intervalMs / 1000);
      const { source, info, deprecations } = options.createSource(c, metrics);
      this.#runners.push(
        new ConnectorRunner({ config: c, source, sourceInfo: info, deprecations, sink: options.sink, state: options.state, windows: options.windows, webhookTenants, leaseTtlMs: config.connectorLeaseTtlMs, holder, logger, metrics }),
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
