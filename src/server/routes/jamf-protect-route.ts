import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { MalformedJsonError, SchemaViolationError, WrongRouteError } from '../../errors.ts';
import { alertRecord, asPushed, checkAlert, protectSource } from '../../sources/jamf-protect-alerts/alert-record.ts';
import { protectDataKind } from '../../sources/jamf-protect-alerts/protect-data-kind.ts';
import { lineBatchRoute, type LineBatchRouteOptions } from '../line-batch-intake.ts';

// POST (or PUT) /jamf-protect-events: the HTTP data endpoint of a Jamf Protect action configuration.
// The agents send one alert, or a batch of alerts separated by the endpoint's event delimiter (a
// newline by default), with the method the configuration names (Jamf-Concepts/terraform-provider-jamfprotect
// docs/resources/action_configuration.md: POST or PUT among others). Every alert is checked against
// schemas/jamf-protect/alert.schema.json; the valid ones are appended together in one atomic step (all
// or none, each once: `id` = `input.match.uuid`, the key the pull connector dedups on too), the invalid
// lines go to the rejected stream with their reason, and the answer says which is which
// (line-batch-intake.ts). Telemetry sent to this endpoint is refused with the route that takes it.

export type JamfProtectRouteOptions = Omit<LineBatchRouteOptions, 'source' | 'parse' | 'expected' | 'methods'> & {
  /** The logs route, which takes Jamf Protect's telemetry (the Compliance Reporter format). */
  readonly logsPath: string;
};

export async function jamfProtectRoute(scope: FastifyInstance, options: JamfProtectRouteOptions): Promise<void> {
  await lineBatchRoute(scope, {
    ...options,
    methods: ['POST', 'PUT'],
    source: protectSource,
    expected: 'Jamf Protect sends one alert, or newline-delimited alerts',
    parse: ({ line, text }, { receivedMs, body, single, tenant }) => {
      let document: unknown;
      try {
        document = asPushed(JSON.parse(text));
      } catch (err) {
        return { ok: false, error: new MalformedJsonError(err, single ? 'Body' : `Line ${line}`) };
      }
      const which = single ? 'The body' : `Line ${line}`;
      const kind = protectDataKind(document);
      if (kind.kind === 'telemetry') {
        return { ok: false, error: new WrongRouteError(`${which} is Jamf Protect telemetry (header.event_name ${kind.eventName}), not an alert: send telemetry to ${options.logsPath} (ORCHARD_LOGS_PATH), which records it as jamf_pro.compliance_reporter. In Jamf Protect, give "Collect logs: telemetry" an HTTP data endpoint of its own with that URL, and keep this one for alerts.`) };
      }
      if (kind.kind === 'telemetry_es') {
        return { ok: false, error: new WrongRouteError(`${which} is Jamf Protect telemetry in the Endpoint Security format (event ${kind.event}), not an alert: no Orchard route takes this format. In Jamf Protect, untick "Collect logs: telemetry" for this endpoint.`) };
      }
      if (kind.kind === 'unified_log') {
        return { ok: false, error: new WrongRouteError(`${which} is a bare unified log entry, not an alert (it has no input.match): no Orchard route takes these. In Jamf Protect, untick "Collect logs: unified logs" for this endpoint; unified log filter matches sent as alerts (input.eventType GPUnifiedLogEvent) are taken here.`) };
      }
      const check = checkAlert(document);
      if (!check.ok) {
        const shown = check.details.slice(0, 3).map((d) => `${d.path} ${d.message}`).join('; ');
        return { ok: false, error: new SchemaViolationError(`Line ${line} is not a Jamf Protect alert: ${shown}`, check.details) };
      }
      // A single-alert body that is not valid UTF-8 is kept byte for byte; lines are text.
      const payload = single && !isUtf8(body) ? body : text;
      return { ok: true, record: alertRecord({ document, uuid: check.uuid, payload, tenant, connector: 'webhook', receivedMs }) };
    },
  });
}
