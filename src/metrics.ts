import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CompletenessMetrics } from './completeness-metrics.ts';
import { CounterTally, HistogramTally } from './metric-tallies.ts';
import { orchardVersion } from './process-info.ts';

export { CounterTally, HistogramTally, labelCache } from './metric-tallies.ts';

/** What the per-group gauges show of a consumer group (src/consumer/group-lag.ts). */
export interface GroupFigures {
  readonly group: string;
  readonly pending: number;
  readonly lag: number;
  readonly oldestPendingAgeMs: number | null;
  readonly deadLettered: number;
}

/** What the spool gauges show (src/spool/spooling-sink.ts). */
export interface SpoolFigures {
  readonly bytes: number;
  readonly maxBytes: number;
  readonly records: number;
  readonly oldestRecordAgeMs: number | null;
  readonly quarantinedBytes: number;
}

/** What the Redis gauges show, read at scrape time (src/redis/redis-figures.ts). */
export interface RedisFigures {
  /** Length of each stream Orchard writes (events, rejected, dead letters), by key. */
  readonly streams: readonly { readonly stream: string; readonly length: number }[];
  /** INFO memory's used_memory and maxmemory (0: no limit); undefined when Redis refuses INFO. */
  readonly usedMemoryBytes?: number;
  readonly maxMemoryBytes?: number;
}

/**
 * Orchard's Prometheus metrics, on a registry of their own (so several instances can live in one
 * process, as tests do). Label values are bounded: routes are route patterns, event types are the
 * known ones or `unknown`.
 */
export class Metrics {
  readonly registry = new Registry();

  readonly httpRequests: Counter<'route' | 'method' | 'status'> = new Counter({
    name: 'orchard_http_requests_total',
    help: 'HTTP requests answered, by route pattern, method and status code.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
    collect: () => this.httpRequestTally.flush(),
  });

  /** httpRequests, counted on every request: see CounterTally. */
  readonly httpRequestTally: CounterTally<'route' | 'method' | 'status'> = new CounterTally(this.httpRequests);

  /** Observed through `child({ route })` on every request Fastify answers (not the gate's refusals). */
  readonly httpRequestDuration: HistogramTally<'route'> = new HistogramTally({
    name: 'orchard_http_request_duration_seconds',
    help: 'Time from a request arriving to its answer being written, by route pattern (Jamf Pro gives up after 2 s).',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [this.registry],
  });

  readonly buildInfo = new Gauge({
    name: 'orchard_build_info',
    help: 'Always 1; its labels say which Orchard (version) runs on which Node.js.',
    labelNames: ['version', 'node'] as const,
    registers: [this.registry],
  });

  readonly eventsAppended: Counter<'source' | 'type'> = new Counter({
    name: 'orchard_events_appended_total',
    help: 'Events appended to the stream, by source and type.',
    labelNames: ['source', 'type'] as const,
    registers: [this.registry],
    collect: () => this.eventsAppendedTally.flush(),
  });

  /** eventsAppended, counted on every webhook: see CounterTally. */
  readonly eventsAppendedTally: CounterTally<'source' | 'type'> = new CounterTally(this.eventsAppended);

  readonly duplicates = new Counter({
    name: 'orchard_events_duplicate_total',
    help: 'Events not appended because their id was already appended within the dedup window.',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });

  readonly rejected = new Counter({
    name: 'orchard_events_rejected_total',
    help: 'Requests or events rejected, by source and reason code.',
    labelNames: ['source', 'reason'] as const,
    registers: [this.registry],
  });

  readonly unknownWebhookEvents = new Counter({
    name: 'orchard_webhook_unknown_events_total',
    help: 'Webhooks accepted whose webhookEvent Orchard has no schema for (validated against the envelope only).',
    registers: [this.registry],
  });

  readonly authFailures = new Counter({
    name: 'orchard_auth_failures_total',
    help: 'Requests refused for missing or wrong credentials, by route pattern.',
    labelNames: ['route'] as const,
    registers: [this.registry],
  });

  readonly connectionsRefused = new Counter({
    name: 'orchard_connections_refused_total',
    help: 'Connections closed when accepted because their address held too many unauthenticated ones (unauthenticated_connections_per_address).',
    registers: [this.registry],
  });

  readonly logLinesDropped = new Counter({
    name: 'orchard_log_lines_dropped_total',
    help: 'Log lines dropped because the log reader did not keep up and the log buffer (log_buffer_bytes) was full.',
    registers: [this.registry],
  });

  readonly appendDuration = new Histogram({
    name: 'orchard_append_duration_seconds',
    help: 'Time from a batch of appends being sent to Redis until it was acknowledged.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly appendBatchSize = new Histogram({
    name: 'orchard_append_batch_size',
    help: 'Records per batch sent to Redis.',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });

  readonly appendFailures = new Counter({
    name: 'orchard_append_failures_total',
    help: 'Appends that failed (Redis unavailable, slow or refusing), by error code.',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly redisUp = new Gauge({
    name: 'orchard_redis_up',
    help: '1 when the Redis connection is ready, else 0.',
    registers: [this.registry],
  });

  readonly connectorInfo = new Gauge({
    name: 'orchard_connector_info',
    help: 'Always 1 for each configured connector; its labels give its type and tenant (join on connector to break other connector metrics down by tenant).',
    labelNames: ['connector', 'type', 'tenant'] as const,
    registers: [this.registry],
  });

  readonly connectorInterval = new Gauge({
    name: 'orchard_connector_interval_seconds',
    help: 'Each connector\'s interval (time from the end of one run to the start of the next): a connector silent for several intervals is stuck.',
    labelNames: ['connector'] as const,
    registers: [this.registry],
  });

  readonly connectorRuns = new Counter({
    name: 'orchard_connector_runs_total',
    help: 'Pull connector runs ended, by connector and outcome (success, failed, interrupted).',
    labelNames: ['connector', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly connectorRunDuration = new Histogram({
    name: 'orchard_connector_run_duration_seconds',
    help: 'Duration of pull connector runs, by connector.',
    labelNames: ['connector'] as const,
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [this.registry],
  });

  readonly connectorEvents = new Counter({
    name: 'orchard_connector_events_total',
    help: 'Events handled by pull connectors, by connector and result (received from the vendor, duplicate dropped, appended).',
    labelNames: ['connector', 'result'] as const,
    registers: [this.registry],
  });

  readonly connectorPages = new Counter({
    name: 'orchard_connector_pages_total',
    help: 'Pages written (records and checkpoint in one step), by connector.',
    labelNames: ['connector'] as const,
    registers: [this.registry],
  });

  readonly connectorRequests = new Counter({
    name: 'orchard_connector_requests_total',
    help: 'Vendor HTTP requests (each attempt), by connector and status code (or "error" for network failures).',
    labelNames: ['connector', 'status'] as const,
    registers: [this.registry],
  });

  readonly connectorErrors = new Counter({
    name: 'orchard_connector_errors_total',
    help: 'Failed runs, by connector and diagnosis category (credentials, permissions, url, rate_limit, vendor, network, tls, redis, …).',
    labelNames: ['connector', 'category'] as const,
    registers: [this.registry],
  });

  readonly connectorLastSuccess = new Gauge({
    name: 'orchard_connector_last_success_timestamp_seconds',
    help: 'When each connector last finished a run successfully (Unix time).',
    labelNames: ['connector'] as const,
    registers: [this.registry],
  });

  readonly connectorState = new Gauge({
    name: 'orchard_connector_state',
    help: '1 for the state each connector is in (standby, idle, running, retrying, parked, …), 0 for the others.',
    labelNames: ['connector', 'state'] as const,
    registers: [this.registry],
  });

  readonly connectorDeprecatedAnswers = new Counter({
    name: 'orchard_connector_deprecated_answers_total',
    help: 'Vendor answers that carried a Deprecation or Sunset header, by connector and API path: the vendor will remove that path (see /status for the date and the path to move to).',
    labelNames: ['connector', 'path'] as const,
    registers: [this.registry],
  });

  readonly connectorSunset = new Gauge({
    name: 'orchard_connector_api_sunset_timestamp_seconds',
    help: 'When the vendor says a deprecated API path a connector uses stops answering (its Sunset header, Unix time; 0 when it gave no date).',
    labelNames: ['connector', 'path'] as const,
    registers: [this.registry],
  });

  /** The windows checked against the vendors' counts, missed webhooks and the sources' freshness (docs/completeness.md). */
  readonly completeness: CompletenessMetrics = new CompletenessMetrics(this.registry);

  readonly streamTrimmed = new Counter({
    name: 'orchard_stream_trimmed_total',
    help: 'Entries removed from the events stream by retention (only entries every consumer group has acknowledged).',
    registers: [this.registry],
  });

  readonly streamTrimHeld = new Gauge({
    name: 'orchard_stream_trim_held_entries',
    help: 'Entries retention would remove but keeps because a consumer group has not read or acknowledged them (at the last trim).',
    registers: [this.registry],
  });

  readonly spoolSpooled = new Counter({
    name: 'orchard_spool_records_spooled_total',
    help: 'Records (events and refused bodies) written to the local spool because Redis could not take them.',
    registers: [this.registry],
  });

  readonly spoolDrained = new Counter({
    name: 'orchard_spool_records_drained_total',
    help: 'Records drained from the local spool into Redis (duplicates included).',
    registers: [this.registry],
  });

  /** Read at each scrape for the spool gauges (see `spoolWith`). */
  #spool: (() => SpoolFigures) | undefined;

  readonly spoolBytes: Gauge = this.#spoolGauge('orchard_spool_bytes', 'Bytes of the local spool\'s segment files on disk.', (f) => f.bytes);
  readonly spoolMaxBytes: Gauge = this.#spoolGauge('orchard_spool_max_bytes', 'Disk the local spool may take (spool_max_bytes); past it, pushed events are answered 503.', (f) => f.maxBytes);
  readonly spoolRecords: Gauge = this.#spoolGauge('orchard_spool_records', 'Records waiting in the local spool to be drained into Redis.', (f) => f.records);
  readonly spoolOldestAge: Gauge = this.#spoolGauge('orchard_spool_oldest_record_age_seconds', 'Age of the oldest record waiting in the local spool (0 when none).', (f) => (f.oldestRecordAgeMs ?? 0) / 1000);
  readonly spoolQuarantined: Gauge = this.#spoolGauge('orchard_spool_quarantined_bytes', 'Bytes of damaged spool records moved aside (never drained) since the start.', (f) => f.quarantinedBytes);

  /** Where the spool gauges come from (the spooling sink's status). */
  spoolWith(read: () => SpoolFigures): void {
    this.#spool = read;
  }

  #spoolGauge(name: string, help: string, value: (f: SpoolFigures) => number): Gauge {
    const read = () => this.#spool;
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      collect(this: Gauge) {
        const figures = read()?.();
        if (figures) this.set(value(figures));
      },
    });
  }

  /** Read at each scrape (see `readGroupsWith`) for the four per-group gauges below. */
  #readGroups: (() => Promise<readonly GroupFigures[]>) | undefined;

  readonly streamGroupPending: Gauge<'group'> = new Gauge({
    name: 'orchard_stream_group_pending',
    help: 'Entries delivered to each consumer group of the events stream and not yet acknowledged.',
    labelNames: ['group'] as const,
    registers: [this.registry],
    collect: (): Promise<void> => this.#collectGroups(this.streamGroupPending, (g) => g.pending),
  });

  readonly streamGroupLag: Gauge<'group'> = new Gauge({
    name: 'orchard_stream_group_lag',
    help: 'Entries of the events stream not yet delivered to each consumer group.',
    labelNames: ['group'] as const,
    registers: [this.registry],
    collect: (): Promise<void> => this.#collectGroups(this.streamGroupLag, (g) => g.lag),
  });

  readonly streamGroupOldestPending: Gauge<'group'> = new Gauge({
    name: 'orchard_stream_group_oldest_pending_seconds',
    help: 'Age of the oldest entry each consumer group has been delivered and not acknowledged (0 when none).',
    labelNames: ['group'] as const,
    registers: [this.registry],
    collect: (): Promise<void> => this.#collectGroups(this.streamGroupOldestPending, (g) => (g.oldestPendingAgeMs ?? 0) / 1000),
  });

  readonly streamGroupDeadLettered: Gauge<'group'> = new Gauge({
    name: 'orchard_stream_group_dead_lettered_entries',
    help: 'Entries of each consumer group moved to the dead-letter stream, ever.',
    labelNames: ['group'] as const,
    registers: [this.registry],
    collect: (): Promise<void> => this.#collectGroups(this.streamGroupDeadLettered, (g) => g.deadLettered),
  });

  /** Where the per-group gauges come from (Redis, at scrape time). */
  readGroupsWith(read: () => Promise<readonly GroupFigures[]>): void {
    this.#readGroups = read;
  }

  /** Sets one per-group gauge at scrape time; the four gauges share one read (the reader caches it briefly). */
  async #collectGroups(gauge: Gauge<'group'>, value: (g: GroupFigures) => number): Promise<void> {
    if (!this.#readGroups) return;
    let groups: readonly GroupFigures[];
    try {
      groups = await this.#readGroups();
    } catch {
      return; // Redis unavailable: the scrape still answers, orchard_redis_up says why.
    }
    gauge.reset();
    for (const g of groups) gauge.set({ group: g.group }, value(g));
  }

  /** Read at each scrape (see `readRedisWith`) for the stream length and Redis memory gauges. */
  #readRedis: (() => Promise<RedisFigures>) | undefined;

  readonly streamLength: Gauge<'stream'> = new Gauge({
    name: 'orchard_stream_length',
    help: 'Entries in each stream Orchard writes (events, rejected, dead letters), read from Redis at scrape time (XLEN).',
    labelNames: ['stream'] as const,
    registers: [this.registry],
    collect: (): Promise<void> =>
      this.#collectRedis((f) => {
        this.streamLength.reset();
        for (const s of f.streams) this.streamLength.set({ stream: s.stream }, s.length);
      }),
  });

  readonly redisMemoryUsed: Gauge = new Gauge({
    name: 'orchard_redis_memory_used_bytes',
    help: 'Memory Redis uses (INFO memory used_memory), read at scrape time.',
    registers: [this.registry],
    collect: (): Promise<void> => this.#collectRedis((f) => f.usedMemoryBytes !== undefined && this.redisMemoryUsed.set(f.usedMemoryBytes)),
  });

  readonly redisMemoryMax: Gauge = new Gauge({
    name: 'orchard_redis_memory_max_bytes',
    help: 'Redis maxmemory (0: no limit), read at scrape time. With noeviction, Redis refuses writes past it.',
    registers: [this.registry],
    collect: (): Promise<void> => this.#collectRedis((f) => f.maxMemoryBytes !== undefined && this.redisMemoryMax.set(f.maxMemoryBytes)),
  });

  /** Where the Redis gauges come from (Redis, at scrape time; the reader caches its answer briefly). */
  readRedisWith(read: () => Promise<RedisFigures>): void {
    this.#readRedis = read;
  }

  async #collectRedis(apply: (figures: RedisFigures) => unknown): Promise<void> {
    if (!this.#readRedis) return;
    try {
      apply(await this.#readRedis());
    } catch {
      // Redis unavailable: the scrape still answers with the last values, orchard_redis_up says why.
    }
  }

  static readonly connectorStates = ['starting', 'standby', 'idle', 'running', 'retrying', 'parked', 'stopped'] as const;

  setConnectorState(connector: string, state: string): void {
    for (const s of Metrics.connectorStates) this.connectorState.set({ connector, state: s }, s === state ? 1 : 0);
  }

  recordPage(connector: string, received: number, duplicates: number, appended: number): void {
    this.connectorPages.inc({ connector });
    this.connectorEvents.inc({ connector, result: 'received' }, received);
    this.connectorEvents.inc({ connector, result: 'duplicate' }, duplicates);
    this.connectorEvents.inc({ connector, result: 'appended' }, appended);
  }

  /** An answer to `path` said the vendor will remove it. Numeric path segments count as one path (`/{id}`), so labels stay bounded. */
  recordDeprecation(connector: string, path: string, sunsetAtMs: number | undefined): void {
    const labels = { connector, path: path.replace(/\/\d+(?=\/|$)/g, '/{id}') };
    this.connectorDeprecatedAnswers.inc(labels);
    this.connectorSunset.set(labels, sunsetAtMs === undefined ? 0 : sunsetAtMs / 1000);
  }

  recordRun(connector: string, outcome: string, durationSeconds: number): void {
    this.connectorRuns.inc({ connector, outcome });
    this.connectorRunDuration.observe({ connector }, durationSeconds);
    if (outcome === 'success') this.connectorLastSuccess.set({ connector }, Date.now() / 1000);
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    this.buildInfo.set({ version: orchardVersion(), node: process.versions.node }, 1);
  }
}
