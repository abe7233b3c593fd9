import type { Config, ConnectorConfig } from '../config/config-types.ts';
import { diagnoseConnector } from '../connectors/diagnosis.ts';
import { VendorHttpError } from '../errors.ts';
import { ClassicWebhooksApi, classicWebhooksPath, smartGroupEvents } from '../sources/jamf-pro/classic-webhooks.ts';
import { JamfProApi, type JamfProCredentials } from '../sources/jamf-pro/jamf-pro-api.ts';
import { jamfDefaultTimeouts, planWebhooks, type DesiredWebhooks, type WebhookAction, type WebhookPlan } from '../sources/jamf-pro/webhook-plan.ts';
import { webhookEventNames } from '../sources/jamf-pro-webhooks/webhook-schemas.ts';
import { findConnector, type CommandIo } from './checkpoint-command.ts';
import { secretsForTenant } from './secret-command.ts';

// `orchard jamf-webhooks plan|apply <connector> [--events A,B] [--smart-group-id N]`: makes Jamf Pro
// post every selected event (default: the 20 that need no smart group; all 23 with --smart-group-id)
// to Orchard's public URL as JSON with Header Authentication, through the
// Classic API with a Jamf Pro connector's API client. `plan` shows what would change, like a
// Terraform plan; `apply` changes it and checks the result. Only Orchard's webhooks are touched
// (webhook-plan.ts), nothing is deleted, and no secret is printed.

const privileges = 'Read Webhooks (plan), Create Webhooks and Update Webhooks (apply)';

/** The events set up when none are named: every one that needs no smart group. */
export const defaultWebhookEvents: readonly string[] = webhookEventNames.filter((e) => !smartGroupEvents.includes(e));

/** What Orchard's webhooks should be, or a problem to print (exit 2: usage or configuration). */
export function desiredWebhooks(config: Config, events: readonly string[] = defaultWebhookEvents, smartGroupId?: number, tenant = ''): DesiredWebhooks | string {
  if (config.publicUrl === undefined) return 'public_url (ORCHARD_PUBLIC_URL) is not set: set it to Orchard\'s address as Jamf Pro reaches it, e.g. https://orchard.example.com.';
  if (config.webhookAuth !== 'header') return `webhook_auth (ORCHARD_WEBHOOK_AUTH) is ${config.webhookAuth}: jamf-webhooks sets Header Authentication, which needs header mode (the default) and its secret.`;
  // A connector's tenant with secrets of its own (webhook_tenant_secrets): its Jamf Pro gets the tenant's newest.
  const secrets = secretsForTenant(config, tenant);
  if (secrets.length === 0) return `No webhook secret yet: ORCHARD_WEBHOOK_SECRETS is unset and ${config.dataDir} has none. Start Orchard once (it generates one) or set ORCHARD_WEBHOOK_SECRETS.`;
  // Jamf Pro's read timeout must outlast Orchard's slowest answer: a 503 after append_timeout_ms.
  const readTimeoutSeconds = Math.min(15, Math.max(jamfDefaultTimeouts.readSeconds, Math.ceil(config.appendTimeoutMs / 1000) + 1));
  return { url: `${config.publicUrl}${config.webhookPath}`, events, header: config.webhookHeader, secrets, connectionTimeoutSeconds: jamfDefaultTimeouts.connectionSeconds, readTimeoutSeconds, smartGroupId };
}

/** A Jamf Pro connector's Classic webhooks API (its client and secret); the webhook secrets are redacted from any error. */
export function webhooksApiFor(connector: ConnectorConfig, desired: DesiredWebhooks): { api: JamfProApi; hooks: ClassicWebhooksApi } {
  const api = new JamfProApi(connector as ConnectorConfig<JamfProCredentials>, { secrets: desired.secrets });
  return { api, hooks: new ClassicWebhooksApi(api, connector.name) };
}

function describe(action: WebhookAction): string {
  switch (action.kind) {
    case 'create':
      return `  + create  ${action.name} (event ${action.event})`;
    case 'update':
      return `  ~ update  ${action.hook.name} (id ${action.hook.id}, event ${action.hook.event}): ${action.changes.map((c) => c.description).join('; ')}`;
    case 'ok':
      return `  = ok      ${action.hook.name} (id ${action.hook.id}, event ${action.hook.event})`;
    case 'left':
      return `  ! left    ${action.hook.name} (id ${action.hook.id}): ${action.reason}`;
  }
}

/** `20 to create, 3 to update, 0 unchanged` and the others. */
export function planSummary(plan: WebhookPlan): string {
  const count = (kind: WebhookAction['kind']) => plan.actions.filter((a) => a.kind === kind).length;
  const left = count('left');
  return `${count('create')} to create, ${count('update')} to update, ${count('ok')} unchanged${left ? `, ${left} of Orchard's left as they are` : ''}; ${plan.others} other webhook(s), not Orchard's, untouched`;
}

export function planChanges(plan: WebhookPlan): number {
  return plan.actions.filter((a) => a.kind === 'create' || a.kind === 'update').length;
}

export interface JamfWebhooksArgs {
  readonly action: string | undefined;
  readonly name: string | undefined;
  /** Comma-separated event names; when absent, the 20 that need no smart group (all 23 with smartGroupId). */
  readonly events?: string;
  /** `--smart-group-id`: the smart group the SmartGroup…MembershipChange webhooks follow. */
  readonly smartGroupId?: string;
}

/** The events selected, or what is wrong with the selection. */
function selectedEvents(args: JamfWebhooksArgs, smartGroupId: number | undefined): readonly string[] | string {
  const events = args.events === undefined ? (smartGroupId === undefined ? defaultWebhookEvents : webhookEventNames) : args.events.split(',').map((e) => e.trim()).filter(Boolean);
  const unknown = events.filter((e) => !(webhookEventNames as readonly string[]).includes(e));
  if (unknown.length > 0 || events.length === 0) return `--events: ${unknown.length ? `unknown event(s) ${unknown.join(', ')}` : 'none given'}. Jamf Pro's events: ${webhookEventNames.join(', ')}.`;
  const needGroup = events.filter((e) => smartGroupEvents.includes(e));
  if (needGroup.length > 0 && smartGroupId === undefined) return `${needGroup.join(', ')}: Jamf Pro sends these for one smart group; give its id with --smart-group-id N (the number in the group's address in Jamf Pro).`;
  return events;
}

export async function jamfWebhooksCommand(config: Config, args: JamfWebhooksArgs, io: CommandIo, signal: AbortSignal = new AbortController().signal): Promise<number> {
  if (args.action !== 'plan' && args.action !== 'apply') {
    io.err('Usage: orchard jamf-webhooks plan|apply <connector> [--events ComputerAdded,ComputerCheckIn,…] [--smart-group-id N]\n');
    return 2;
  }
  const connector = findConnector(config, args.name, io);
  if (!connector) return 2;
  if (!connector.type.startsWith('jamf_pro.')) {
    io.err(`${connector.name} is a ${connector.type} connector: jamf-webhooks uses the API client of a Jamf Pro connector (jamf_pro.inventory).\n`);
    return 2;
  }
  const smartGroupId = args.smartGroupId === undefined ? undefined : /^[1-9]\d{0,9}$/.test(args.smartGroupId) ? Number(args.smartGroupId) : NaN;
  if (Number.isNaN(smartGroupId)) {
    io.err(`--smart-group-id: ${JSON.stringify(args.smartGroupId)} is not a smart group's id (a positive whole number).\n`);
    return 2;
  }
  const events = selectedEvents(args, smartGroupId);
  if (typeof events === 'string') {
    io.err(`${events}\n`);
    return 2;
  }
  const desired = desiredWebhooks(config, events, smartGroupId, connector.tenant);
  if (typeof desired === 'string') {
    io.err(`orchard jamf-webhooks: ${desired}\n`);
    return 2;
  }
  const { api, hooks } = webhooksApiFor(connector, desired);
  let step = `GET ${classicWebhooksPath}`;
  try {
    io.out(`Jamf Pro webhooks of ${connector.name} (${connector.baseUrl}) → ${desired.url}\n`);
    if (desired.url.startsWith('http:')) io.out('  note: public_url is http://; Jamf Pro posts only to HTTPS addresses with a certificate it trusts.\n');
    const plan = planWebhooks(await hooks.list(signal), desired);
    for (const action of plan.actions) io.out(`${describe(action)}\n`);
    io.out(`Plan: ${planSummary(plan)}.\n`);
    if (args.action === 'plan') {
      io.out(planChanges(plan) === 0 ? 'Jamf Pro already matches: nothing to do.\n' : `Run \`orchard jamf-webhooks apply ${connector.name}\` to make these changes.\n`);
      return 0;
    }
    for (const action of plan.actions) {
      if (action.kind === 'create') {
        step = `POST ${classicWebhooksPath}/id/0 (${action.name})`;
        const id = await hooks.create(action.fields, signal);
        io.out(`  + created ${action.name} (id ${id})\n`);
      } else if (action.kind === 'update') {
        step = `PUT ${classicWebhooksPath}/id/${action.hook.id} (${action.hook.name})`;
        await hooks.update(action.hook.id, action.fields, signal);
        io.out(`  ~ updated ${action.hook.name} (id ${action.hook.id})\n`);
      }
    }
    // Jamf Pro answers an update without a body: read everything back and plan again.
    step = `GET ${classicWebhooksPath} (checking the result)`;
    const after = planWebhooks(await hooks.list(signal), desired);
    if (planChanges(after) === 0) {
      io.out(`Done: Jamf Pro posts ${events.length} event(s) to ${desired.url} with the newest secret. A second apply changes nothing.\n`);
      return 0;
    }
    io.out(`Jamf Pro does not match after apply (${planSummary(after)}):\n`);
    for (const action of after.actions) if (action.kind === 'create' || action.kind === 'update') io.out(`${describe(action)}\n`);
    return 1;
  } catch (err) {
    if (signal.aborted) {
      io.out('Interrupted.\n');
      return 130;
    }
    const d = diagnoseConnector(err, connector, { credentialKeys: ['client_id', 'client_secret'] });
    io.out(`  FAIL  ${step}: ${(err as Error)?.message ?? String(err)}\n`);
    io.out(`        diagnosis: ${d.category}${d.status ? ` (HTTP ${d.status})` : ''}\n        cause: ${d.cause}\n        remedy: ${d.remedy}\n`);
    if (err instanceof VendorHttpError && (err.status === 401 || err.status === 403)) io.out(`        The API client's role needs ${privileges}.\n`);
    if (err instanceof VendorHttpError && err.status === 409) io.out('        Jamf Pro refused the change (a webhook of that name exists already?); run plan again.\n');
    return 1;
  } finally {
    await api.close();
  }
}
