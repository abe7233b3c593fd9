import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { MalformedJsonError, SchemaViolationError } from '../../errors.ts';
import { alertRecord, asPushed, checkAlert, protectSource } from '../../sources/jamf-protect-alerts/alert-record.ts';
import { lineBatchRoute, type LineBatchRouteOptions } from '../line-batch-intake.ts';

// POST /jamf-protect-events: Jamf Protect's "Remote Alert Collection Endpoint". The agents post one
// alert, or a batch of newline-delimited alerts. Every alert is checked against
// schemas/jamf-protect/alert.schema.json; the valid ones are appended together in one atomic step
// (all or none, each once: `id` = `input.match.uuid`, the key the pull connector dedups on too), the
// invalid lines go to the rejected stream with their reason, and the answer says which is which
// (line-batch-intake.ts).

export type JamfProtectRouteOptions = Omit<LineBatchRouteOptions, 'source' | 'parse' | 'expected'>;

export async function jamfProtectRoute(scope: FastifyInstance, options: JamfProtectRouteOptions): Promise<void> {
  await lineBatchRoute(scope, {
    ...options,
    source: protectSource,
    expected: 'Jamf Protect sends one alert, or newline-delimited alerts',
    parse: ({ line, text }, { receivedMs, body, single }) => {
      let document: unknown;
      try {
        document = asPushed(JSON.parse(text));
      } catch (err) {
        return { ok: false, error: new MalformedJsonError(err, single ? 'Body' : `Line ${line}`) };
      }
      const check = checkAlert(document);
      if (!check.ok) {
        const shown = check.details.slice(0, 3).map((d) => `${d.path} ${d.message}`).join('; ');
        return { ok: false, error: new SchemaViolationError(`Line ${line} is not a Jamf Protect alert: ${shown}`, check.details) };
      }
      // A single-alert body that is not valid UTF-8 is kept byte for byte; lines are text.
      const payload = single && !isUtf8(body) ? body : text;
      return { ok: true, record: alertRecord({ document, uuid: check.uuid, payload, tenant: '', connector: 'webhook', receivedMs }) };
    },
  });
}
