import type { Config } from '../config/config-types.ts';
import type { Metrics } from '../metrics.ts';

// The push routes as /status shows them beside the connectors (docs/completeness.md): each route's
// freshness (when it last answered an event 202: appended or spooled) and a state with its reason. A
// route's state is about taking events, the one thing it does: ok; degraded while Redis is away and the
// local spool takes the events; failing when neither can (the answer is then 503). A route that hears
// nothing is not failing: nothing says Jamf should be sending (a connector can say so: expect_events_within).

export interface IntakeFacts {
  readonly redisReady: boolean;
  /** The spool: off, or its state (spooling-sink.ts). */
  readonly spool: { readonly enabled: boolean; readonly state?: string; readonly records?: number };
}

export interface IntakeStatus {
  readonly route: string;
  readonly source: string;
  readonly lastEventAt: string | null;
  readonly secondsSinceLastEvent: number | null;
  readonly health: { readonly state: 'ok' | 'degraded' | 'failing'; readonly reason: string };
}

function healthOf(facts: IntakeFacts): IntakeStatus['health'] {
  const { redisReady, spool } = facts;
  if (spool.enabled && spool.state === 'full') return { state: 'failing', reason: 'the local spool is full: events are answered 503 (spool_max_bytes)' };
  if (!redisReady && !spool.enabled) return { state: 'failing', reason: 'Redis is not connected and the spool is off: events are answered 503' };
  if (!redisReady) return { state: 'degraded', reason: 'Redis is not connected: events are taken into the local spool' };
  if (spool.enabled && (spool.records ?? 0) > 0) return { state: 'degraded', reason: `${spool.records} event(s) wait in the local spool to be drained into Redis` };
  return { state: 'ok', reason: 'taking events' };
}

/** Each push route's freshness and state. */
export function intakeStatus(config: Pick<Config, 'webhookPath' | 'protectPath' | 'logsPath'>, metrics: Metrics, facts: IntakeFacts, nowMs = Date.now()): IntakeStatus[] {
  const routes = [
    { route: config.webhookPath, source: 'jamf_pro.events' },
    { route: config.protectPath, source: 'jamf_protect.alerts' },
    { route: config.logsPath, source: 'jamf_pro.login, jamf_pro.change_management, jamf_pro.compliance_reporter' },
  ];
  const health = healthOf(facts);
  return routes.map(({ route, source }) => {
    const last = metrics.completeness.lastEventAt(route);
    return {
      route,
      source,
      lastEventAt: last === undefined ? null : new Date(last).toISOString(),
      secondsSinceLastEvent: last === undefined ? null : Math.round((nowMs - last) / 1000),
      health,
    };
  });
}
