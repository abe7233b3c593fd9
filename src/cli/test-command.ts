import type { Config, ConnectorConfig } from '../config/config-types.ts';
import type { DeprecationNotices } from '../connectors/deprecation-notices.ts';
import { diagnoseConnector } from '../connectors/diagnosis.ts';
import type { PullSource } from '../connectors/pull-source.ts';
import { VendorHttpError } from '../errors.ts';
import { planWebhooks } from '../sources/jamf-pro/webhook-plan.ts';
import { createSource } from '../sources/index.ts';
import { findConnector, type CommandIo } from './checkpoint-command.ts';
import { desiredWebhooks, planChanges, planSummary, webhooksApiFor } from './jamf-webhooks-command.ts';

/** The vendor's Deprecation/Sunset notices seen during the test, each with its date and the path to move to. */
function printDeprecations(deprecations: DeprecationNotices, source: PullSource, io: CommandIo): void {
  for (const notice of deprecations.list((path) => source.successorPath?.(path))) io.out(`  warn  deprecated: ${notice.warning}\n`);
}

/** Whether Jamf Pro's webhooks post every event to Orchard (`orchard jamf-webhooks plan`, summed up); never fails the test. */
async function checkWebhooks(config: Config, connector: ConnectorConfig, io: CommandIo, signal: AbortSignal): Promise<void> {
  const desired = desiredWebhooks(config, undefined, undefined, connector.tenant);
  if (typeof desired === 'string') {
    io.out(`  note  webhooks not checked: ${desired}\n`);
    return;
  }
  const { api, hooks } = webhooksApiFor(connector, desired);
  try {
    const plan = planWebhooks(await hooks.list(signal), desired);
    if (planChanges(plan) === 0) {
      io.out(`  ok    webhooks: Jamf Pro posts all ${desired.events.length} events to ${desired.url} as JSON with the newest secret.\n`);
      return;
    }
    io.out(`  warn  webhooks: ${planSummary(plan)}. \`orchard jamf-webhooks plan ${connector.name}\` shows each change; \`apply\` makes them.\n`);
    for (const action of plan.actions) {
      if (action.kind === 'update') io.out(`        drift: ${action.hook.name} (id ${action.hook.id}): ${action.changes.map((c) => c.description).join('; ')}\n`);
    }
  } catch (err) {
    const denied = err instanceof VendorHttpError && (err.status === 401 || err.status === 403);
    io.out(`  warn  webhooks not checked: ${(err as Error)?.message ?? String(err)}${denied ? " (the API client's role needs Read Webhooks)" : ''}\n`);
  } finally {
    await api.close();
  }
}

/**
 * `orchard test <connector>`: credentials and permissions, then a one-page dry run that writes
 * nothing; a failure is printed with its cause and remedy. Exit 0 when both steps pass. Deprecation
 * notices of the vendor, and for Jamf Pro the drift of its webhooks, are reported as warnings.
 */
export async function testCommand(config: Config, name: string | undefined, io: CommandIo, signal: AbortSignal = new AbortController().signal): Promise<number> {
  const connector = findConnector(config, name, io);
  if (!connector) return 2;
  if (!connector.enabled) io.out(`Note: ${connector.name} has enabled: false; serve does not run it. Testing it anyway.\n`);
  const { source, info, deprecations } = createSource(connector, config, {
    onAttempt: (a) => {
      if (a.status !== undefined && a.status < 400) return;
      io.out(`  ...   ${a.method} ${a.path}: ${a.status === undefined ? a.error ?? 'failed' : `HTTP ${a.status}`} after ${Math.round(a.durationMs)} ms (attempt ${a.attempt} of ${connector.maxAttempts}; timeout_ms ${connector.timeoutMs})\n`);
    },
  });
  io.out(`Testing ${connector.name} (${connector.type}) at ${connector.baseUrl}\n`);
  let step = 'credentials and permissions';
  try {
    const access = await source.checkAccess(signal);
    io.out(`  ok    ${step}: ${access}\n`);
    step = 'one-page dry run';
    const page = await source.fetchPage(undefined, { since: connector.start, receivedMs: Date.now(), signal, newRun: true });
    const appendable = page.records.filter((r) => r.append !== false);
    io.out(`  ok    ${step}: ${page.received} received, ${appendable.length} record(s) made from the first page, as a first run would make them${page.more ? ' (more pages follow)' : ''}; a run appends only those its checkpoint has not seen.\n`);
    for (const warning of page.warnings ?? []) io.out(`  warn  ${warning}\n`);
    const first = appendable[0]?.record;
    if (first) io.out(`        first record: id ${first.id}, type ${first.type}, time ${first.time}, indicators ${first.indicators}\n`);
    printDeprecations(deprecations, source, io);
    if (connector.type === 'jamf_pro.inventory') await checkWebhooks(config, connector, io, signal);
    io.out('Nothing was written.\n');
    return 0;
  } catch (err) {
    if (signal.aborted) {
      io.out('Interrupted; nothing was written.\n');
      return 130;
    }
    const d = diagnoseConnector(err, connector, info);
    io.out(`  FAIL  ${step}: ${(err as Error)?.message ?? String(err)}\n`);
    io.out(`        diagnosis: ${d.category}${d.status ? ` (HTTP ${d.status})` : ''}\n        cause: ${d.cause}\n        remedy: ${d.remedy}\n`);
    printDeprecations(deprecations, source, io);
    return 1;
  } finally {
    await source.close();
  }
}
