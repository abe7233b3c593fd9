import { readFileSync, readdirSync } from 'node:fs';
import { packageRoot } from '../../src/package-root.ts';

export const fixturesDir = new URL('test/fixtures/', packageRoot);

/** The raw bytes of a fixture file: webhook bodies are sent exactly as Jamf Pro would send them. */
export function fixtureBytes(path: string): Buffer {
  return readFileSync(new URL(path, fixturesDir));
}

/** One body per Jamf Pro webhook event (22 types), by event name. */
export function webhookTemplates(): Map<string, Buffer> {
  const dir = 'jamf_pro/webhook-templates-camelcase/';
  const out = new Map<string, Buffer>();
  for (const file of readdirSync(new URL(dir, fixturesDir)).filter((f) => f.endsWith('.json')).sort()) {
    out.set(file.slice(0, -5), fixtureBytes(dir + file));
  }
  return out;
}

/** Real webhook bodies from Elastic's pipeline tests: one per line of the .log files. */
export function elasticWebhookLines(): Buffer[] {
  const dir = 'jamf_pro/events/';
  return readdirSync(new URL(dir, fixturesDir))
    .filter((f) => f.endsWith('.log'))
    .sort()
    .flatMap((f) => String(fixtureBytes(dir + f)).split('\n').filter((l) => l.trim() !== ''))
    .map((l) => Buffer.from(l));
}

const camel = (key: string) => key.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
/** Elastic's snake_case test inputs back to Jamf's camelCase (jss_id → jssID etc. as Jamf spells them). */
const jamfSpelling: Record<string, string> = { jssId: 'jssID', userDirectoryId: 'userDirectoryID', icciId: 'icciID', objectId: 'objectID', restApiOperationType: 'restAPIOperationType' };

export function toCamelCase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toCamelCase);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => {
        const c = camel(k);
        return [jamfSpelling[c] ?? c, toCamelCase(v)];
      }),
    );
  }
  return value;
}

/** Elastic's `test-*.json` pipeline inputs (snake_case), converted back to camelCase webhook bodies. */
export function elasticWebhookInputs(): Map<string, Buffer> {
  const dir = 'jamf_pro/events/';
  const out = new Map<string, Buffer>();
  for (const file of readdirSync(new URL(dir, fixturesDir)).filter((f) => f.startsWith('test-') && f.endsWith('.json'))) {
    const doc = JSON.parse(String(fixtureBytes(dir + file))) as { events: { json: unknown }[] };
    doc.events.forEach((e, i) => out.set(`${file}#${i}`, Buffer.from(JSON.stringify(toCamelCase(e.json)))));
  }
  return out;
}

/** The 11 real Jamf Protect alert bodies, exactly as the agents push them (two lines are identical). */
export function protectAlertLines(): string[] {
  return String(fixtureBytes('jamf_protect/alerts/test-jamf-protect-alerts-sample-logs.log'))
    .split('\n')
    .filter((l) => l.trim() !== '');
}

/** The real Jamf Pro access-log lines as Log Stream delivers them to S3 (`{"time","message"}` per line). */
export function accessLogLines(): string[] {
  return String(fixtureBytes('jamf_pro/access/test-access.log'))
    .split('\n')
    .filter((l) => l.trim() !== '');
}

/** The real change-management lines (their S3 wrappers, from Elastic's `event.original`). */
export function changeManagementLines(): string[] {
  const doc = JSON.parse(String(fixtureBytes('jamf_pro/change_management/test-change-management.json'))) as { events: { event: { original: string } }[] };
  return doc.events.map((e) => e.event.original);
}
