import { sumOf, type MetricSample } from './prometheus-text.ts';

// What `orchard top` shows, as plain text: a pure function of two samples of /status and /metrics
// (the rates are their differences), so that a test renders it against a running Orchard and reads
// the screen. Laid out like `vector top`: a header line, then one table per part.

/** The parts of /status that top reads (src/main.ts builds it; unknown fields are ignored). */
export interface TopStatus {
  readonly webhook?: { readonly path: string };
  readonly protect?: { readonly path: string };
  readonly logs?: { readonly path: string };
  readonly accepting?: boolean;
  readonly uptimeSeconds?: number;
  readonly redis?: { readonly status?: string; readonly embedded?: boolean };
  readonly spool?: { readonly enabled: boolean; readonly state?: string; readonly records?: number; readonly bytes?: number; readonly maxBytes?: number; readonly oldestRecordAgeMs?: number | null };
  readonly connectors?: readonly TopConnector[];
  readonly streamState?: { readonly length?: number; readonly error?: string; readonly groups?: readonly { group: string; consumers: number; pending: number; lag: number; oldestPendingAgeMs: number | null }[] };
  readonly stream?: string;
}

interface TopConnector {
  readonly name: string;
  readonly type: string;
  readonly state: string;
  readonly reason?: string;
  readonly lastRun?: { readonly endedAt: string | null; readonly startedAt: string; readonly outcome: string; readonly eventsPerSecond: number } | null;
  readonly totals?: { readonly appended: number };
  readonly nextRunAt?: string | null;
  readonly lastError?: { readonly message: string } | null;
}

export interface TopSample {
  readonly atMs: number;
  readonly status: TopStatus;
  readonly metrics: readonly MetricSample[];
}

/** 1234567 → "1.2M"; small numbers as they are. */
function count(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), (i += 1);
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

/** 75000 → "1m15s"; "-" for none. */
export function age(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) ? `${Math.floor((s % 86400) / 3600)}h` : ''}`;
}

/** Rows under a header, columns padded to their widest cell; numbers right-aligned. */
function table(header: readonly string[], rows: readonly (readonly string[])[], numeric: ReadonlySet<number>): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const cell = (text: string, i: number) => (numeric.has(i) ? text.padStart(widths[i]!) : text.padEnd(widths[i]!));
  return [header, ...rows].map((r) => r.map(cell).join('  ').trimEnd());
}

function rate(now: TopSample, before: TopSample | undefined, value: (s: TopSample) => number): string {
  if (!before || now.atMs <= before.atMs) return '-';
  const perSecond = Math.max(0, (value(now) - value(before)) / ((now.atMs - before.atMs) / 1000));
  return perSecond >= 100 ? count(perSecond) : perSecond.toFixed(1);
}

function routesTable(now: TopSample, before: TopSample | undefined): string[] {
  const routes = [now.status.webhook?.path, now.status.protect?.path, now.status.logs?.path].filter((p): p is string => typeof p === 'string');
  const requests = (s: TopSample, route: string, status?: (code: string) => boolean) =>
    sumOf(s.metrics, 'orchard_http_requests_total', { route }, (l) => status === undefined || status(l.status ?? ''));
  const rows = routes.map((route) => [
    route,
    rate(now, before, (s) => requests(s, route)),
    count(requests(now, route, (c) => c.startsWith('2'))),
    count(requests(now, route, (c) => c.startsWith('4'))),
    count(requests(now, route, (c) => c === '503')),
    count(requests(now, route, (c) => c.startsWith('5') && c !== '503')),
    count(sumOf(now.metrics, 'orchard_auth_failures_total', { route })),
  ]);
  return table(['ROUTE', 'REQ/S', '2XX', '4XX', '503', '5XX', 'AUTH FAILED'], rows, new Set([1, 2, 3, 4, 5, 6]));
}

function connectorsTable(now: TopSample, before: TopSample | undefined): string[] {
  const connectors = now.status.connectors ?? [];
  if (connectors.length === 0) return ['No connectors configured.'];
  const previous = new Map((before?.status.connectors ?? []).map((c) => [c.name, c]));
  const rows = connectors.map((c) => {
    const was = previous.get(c.name);
    const events = was?.totals && c.totals && before ? rate(now, before, (s) => (s === now ? c.totals!.appended : was.totals!.appended)) : '-';
    const last = c.lastRun ? `${c.lastRun.outcome} ${age(now.atMs - Date.parse(c.lastRun.endedAt ?? c.lastRun.startedAt))} ago` : '-';
    const next = c.nextRunAt ? `in ${age(Date.parse(c.nextRunAt) - now.atMs)}` : '-';
    const errors = sumOf(now.metrics, 'orchard_connector_errors_total', { connector: c.name });
    // Lag: how old the connector's newest data can be, the time since its last successful run ended.
    const lastSuccessSeconds = now.metrics.find((m) => m.name === 'orchard_connector_last_success_timestamp_seconds' && m.labels.connector === c.name)?.value;
    const lag = lastSuccessSeconds ? age(now.atMs - lastSuccessSeconds * 1000) : '-';
    const note = c.lastError?.message ?? c.reason ?? '';
    return [c.name, c.type, c.state, events, count(c.totals?.appended ?? 0), count(errors), last, lag, next, note.length > 60 ? `${note.slice(0, 59)}…` : note];
  });
  return table(['CONNECTOR', 'TYPE', 'STATE', 'EVENTS/S', 'APPENDED', 'ERRORS', 'LAST RUN', 'LAG', 'NEXT RUN', 'LAST ERROR'], rows, new Set([3, 4, 5]));
}

function spoolLine(status: TopStatus): string {
  const spool = status.spool;
  if (!spool?.enabled) return 'Spool: off';
  return `Spool: ${spool.state ?? '?'}, ${count(spool.records ?? 0)} records, ${bytes(spool.bytes ?? 0)} of ${bytes(spool.maxBytes ?? 0)}, oldest ${age(spool.oldestRecordAgeMs)}`;
}

function streamLines(status: TopStatus): string[] {
  const state = status.streamState;
  if (!state) return [];
  if (state.error !== undefined) return [`Stream ${status.stream ?? ''}: ${state.error}`];
  const lines = [`Stream ${status.stream ?? ''}: ${count(state.length ?? 0)} entries`];
  const groups = state.groups ?? [];
  if (groups.length === 0) return [...lines, 'No consumer groups.'];
  const rows = groups.map((g) => [g.group, String(g.consumers), count(g.pending), count(g.lag), age(g.oldestPendingAgeMs)]);
  return [...lines, ...table(['GROUP', 'CONSUMERS', 'PENDING', 'LAG', 'OLDEST PENDING'], rows, new Set([1, 2, 3]))];
}

/** The whole screen for one refresh: `before` is the previous sample (rates need two). */
export function renderTop(now: TopSample, before: TopSample | undefined, url: string): string {
  const s = now.status;
  const redis = s.redis ? `Redis ${s.redis.status ?? '?'}${s.redis.embedded ? ' (embedded)' : ''}` : 'Redis ?';
  const header = `Orchard ${url}  up ${age((s.uptimeSeconds ?? 0) * 1000)}  ${s.accepting ? 'accepting' : 'NOT accepting'}  ${redis}  ${new Date(now.atMs).toISOString().slice(11, 19)} UTC`;
  return [header, '', ...routesTable(now, before), '', ...connectorsTable(now, before), '', spoolLine(s), ...streamLines(s), '', 'q or Ctrl-C to quit'].join('\n');
}

/** The screen while Orchard cannot be reached. */
export function renderUnreachable(url: string, reason: string, atMs: number): string {
  return [
    `Cannot reach Orchard at ${url}: ${reason}`,
    '',
    'Is it running? With an admin port (ORCHARD_ADMIN_PORT), /status and /metrics are served there:',
    'give --url http://<host>:<admin port>.',
    `Trying again every second (last try ${new Date(atMs).toISOString().slice(11, 19)} UTC). q or Ctrl-C to quit.`,
  ].join('\n');
}
