import type { FastifyInstance } from 'fastify';
import { OrchardError } from '../../errors.ts';
import { unknownLogSource } from '../../sources/jamf-pro-logs/log-kinds.ts';
import { logRecord } from '../../sources/jamf-pro-logs/log-records.ts';
import { lineBatchRoute, type LineBatchRouteOptions } from '../line-batch-intake.ts';

// POST /jamf-pro-logs: Jamf Pro Log Stream's HTTPS delivery (access and change-management lines, raw
// or wrapped as {"time","message"}) and Jamf Compliance Reporter events, as NDJSON, a JSON array or
// plain lines, optionally gzip-encoded. Each line becomes a jamf_pro.login, jamf_pro.change_management
// or jamf_pro.compliance_reporter record (log-records.ts; `id` = sha256 of the line as received, so a
// batch sent again within the dedup window lands once), or goes to the rejected stream with its reason.

export type JamfProLogsRouteOptions = Omit<LineBatchRouteOptions, 'source' | 'parse' | 'expected'>;

export async function jamfProLogsRoute(scope: FastifyInstance, options: JamfProLogsRouteOptions): Promise<void> {
  await lineBatchRoute(scope, {
    ...options,
    source: unknownLogSource,
    expected: 'send log lines, NDJSON or a JSON array',
    parse: ({ line, text }, { receivedMs, tenant }) => {
      const result = logRecord({ text, tenant, connector: 'webhook', receivedMs });
      if (result.ok) return result;
      return { ok: false, error: new OrchardError(result.code, 400, `Line ${line}: ${result.reason}`, { details: result.details ?? [] }) };
    },
  });
}
