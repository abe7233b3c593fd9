import { smartGroupEvents, type JamfWebhook, type WebhookFields } from './classic-webhooks.ts';

// What `orchard jamf-webhooks` would change in Jamf Pro, like a Terraform plan: for every selected
// event, a webhook that posts it to Orchard's public URL as JSON with Header Authentication carrying
// the newest of Orchard's secrets. Only webhooks that are Orchard's are touched: their URL is
// Orchard's webhook URL, or their name starts with Orchard's prefix. No secret is ever in a plan's
// text: a header is described, never shown.

/** Names of the webhooks Orchard creates: this prefix and the event. */
export const orchardWebhookPrefix = 'Orchard ';

/** Jamf Pro's defaults for a new webhook, in seconds (wire-probed: Jamf-Concepts/terraform-provider-jamfplatform, webhook/crud.go). */
export const jamfDefaultTimeouts = { connectionSeconds: 5, readSeconds: 2 } as const;

export interface DesiredWebhooks {
  /** Orchard's webhook URL as Jamf Pro reaches it: public_url + webhook_path. */
  readonly url: string;
  readonly events: readonly string[];
  /** The header that carries the secret (webhook_header). */
  readonly header: string;
  /** Every secret Orchard accepts; the last is the newest, which webhooks are moved to. */
  readonly secrets: readonly string[];
  readonly connectionTimeoutSeconds: number;
  readonly readTimeoutSeconds: number;
  /** The smart group the SmartGroup…MembershipChange webhooks follow (required when one is selected). */
  readonly smartGroupId?: number;
}

export interface WebhookChange {
  readonly field: string;
  /** What is wrong and what it becomes, without any secret. */
  readonly description: string;
}

export type WebhookAction =
  | { readonly kind: 'create'; readonly name: string; readonly event: string; readonly fields: WebhookFields }
  | { readonly kind: 'update'; readonly hook: JamfWebhook; readonly changes: readonly WebhookChange[]; readonly fields: WebhookFields }
  | { readonly kind: 'ok'; readonly hook: JamfWebhook }
  /** Orchard's, but another already sends the same event, or its event is not selected: left as it is. */
  | { readonly kind: 'left'; readonly hook: JamfWebhook; readonly reason: string };

export interface WebhookPlan {
  readonly actions: readonly WebhookAction[];
  /** Webhooks that are not Orchard's, never touched. */
  readonly others: number;
}

/**
 * The secret to hand out: the newest, which is the last of the accepted ones (ORCHARD_WEBHOOK_SECRETS
 * lists them old,new during a rotation). `orchard secret` and `orchard jamf-webhooks` both use it.
 */
export function newestSecret(secrets: readonly string[]): string | undefined {
  return secrets[secrets.length - 1];
}

/** The header JSON of the newest secret, as Jamf Pro's Header Authentication takes it. */
export function headerJson(desired: DesiredWebhooks): string {
  return JSON.stringify({ [desired.header]: newestSecret(desired.secrets)! });
}

const normalUrl = (url: string) => url.trim().replace(/\/+$/, '').toLowerCase();

export function isOrchards(hook: JamfWebhook, url: string): boolean {
  return normalUrl(hook.url) === normalUrl(url) || hook.name.startsWith(orchardWebhookPrefix);
}

/** What the header a webhook carries says, compared with Orchard's secrets; undefined when it is the newest. */
function headerProblem(hook: JamfWebhook, desired: DesiredWebhooks): string | undefined {
  if (hook.authenticationType !== 'HEADER') return `authentication ${hook.authenticationType || 'none'} → Header Authentication with the newest secret`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(hook.header ?? '');
  } catch {
    return 'header is not a JSON object → the newest secret';
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return 'header is not a JSON object → the newest secret';
  const entries = Object.entries(parsed as Record<string, unknown>);
  const ours = entries.filter(([k]) => k.toLowerCase() === desired.header.toLowerCase());
  if (ours.length === 0) return `header lacks ${desired.header} → the newest secret`;
  const value = ours[0]![1];
  const newest = newestSecret(desired.secrets);
  if (value === newest && entries.length === 1) return undefined;
  if (value === newest) return `header carries other keys besides ${desired.header} → ${desired.header} alone`;
  if (typeof value === 'string' && desired.secrets.includes(value)) return `header carries an older secret Orchard still accepts → the newest secret (rotation)`;
  return `header carries a secret Orchard does not accept → the newest secret`;
}

function changesOf(hook: JamfWebhook, desired: DesiredWebhooks): { changes: WebhookChange[]; fields: WebhookFields } {
  const changes: WebhookChange[] = [];
  const fields: { -readonly [K in keyof WebhookFields]: WebhookFields[K] } = {};
  if (smartGroupEvents.includes(hook.event) && desired.smartGroupId !== undefined && hook.smartGroupId !== desired.smartGroupId) {
    changes.push({ field: 'smart_group_id', description: `smart group ${hook.smartGroupId ?? '(none)'} → ${desired.smartGroupId}` });
    fields.smartGroupId = desired.smartGroupId;
  }
  if (!hook.enabled) {
    changes.push({ field: 'enabled', description: 'disabled → enabled' });
    fields.enabled = true;
  }
  if (normalUrl(hook.url) !== normalUrl(desired.url) || hook.url !== desired.url) {
    changes.push({ field: 'url', description: `url ${hook.url || '(none)'} → ${desired.url}` });
    fields.url = desired.url;
  }
  if (hook.contentType !== 'application/json') {
    changes.push({ field: 'content_type', description: `content type ${hook.contentType || '(none)'} → application/json (Orchard answers XML with 415)` });
    fields.contentType = 'application/json';
  }
  const auth = headerProblem(hook, desired);
  if (auth) {
    changes.push({ field: 'authentication', description: auth });
    fields.authenticationType = 'HEADER';
    fields.header = headerJson(desired);
  }
  // Longer timeouts than Orchard needs are the admin's choice; shorter ones lose events.
  if (hook.connectionTimeoutSeconds === undefined || hook.connectionTimeoutSeconds < desired.connectionTimeoutSeconds) {
    changes.push({ field: 'connection_timeout', description: `connection timeout ${hook.connectionTimeoutSeconds ?? '(none)'} s → ${desired.connectionTimeoutSeconds} s` });
    fields.connectionTimeoutSeconds = desired.connectionTimeoutSeconds;
  }
  if (hook.readTimeoutSeconds === undefined || hook.readTimeoutSeconds < desired.readTimeoutSeconds) {
    changes.push({ field: 'read_timeout', description: `read timeout ${hook.readTimeoutSeconds ?? '(none)'} s → ${desired.readTimeoutSeconds} s` });
    fields.readTimeoutSeconds = desired.readTimeoutSeconds;
  }
  return { changes, fields };
}

/** The plan that brings Jamf Pro's webhooks (`existing`) to `desired`. */
export function planWebhooks(existing: readonly JamfWebhook[], desired: DesiredWebhooks): WebhookPlan {
  const ours = existing.filter((h) => isOrchards(h, desired.url)).sort((a, b) => a.id - b.id);
  const names = new Set(existing.map((h) => h.name.toLowerCase()));
  const actions: WebhookAction[] = [];
  const used = new Set<number>();
  for (const event of desired.events) {
    // The one named for the event first, then the lowest id.
    const candidates = ours.filter((h) => h.event === event);
    const hook = candidates.find((h) => h.name === `${orchardWebhookPrefix}${event}`) ?? candidates[0];
    if (!hook) {
      let name = `${orchardWebhookPrefix}${event}`;
      for (let n = 2; names.has(name.toLowerCase()); n++) name = `${orchardWebhookPrefix}${event} (${n})`;
      names.add(name.toLowerCase());
      const fields: WebhookFields = {
        name,
        enabled: true,
        url: desired.url,
        contentType: 'application/json',
        event,
        connectionTimeoutSeconds: desired.connectionTimeoutSeconds,
        readTimeoutSeconds: desired.readTimeoutSeconds,
        authenticationType: 'HEADER',
        header: headerJson(desired),
        ...(smartGroupEvents.includes(event) && { smartGroupId: desired.smartGroupId }),
      };
      actions.push({ kind: 'create', name, event, fields });
      continue;
    }
    used.add(hook.id);
    const { changes, fields } = changesOf(hook, desired);
    actions.push(changes.length === 0 ? { kind: 'ok', hook } : { kind: 'update', hook, changes, fields });
  }
  for (const hook of ours) {
    if (used.has(hook.id)) continue;
    const reason = desired.events.includes(hook.event)
      ? `another webhook already sends ${hook.event} to Orchard (Orchard drops the repeated deliveries; delete one in Jamf Pro)`
      : `its event ${hook.event || '(none)'} is not among the events selected`;
    actions.push({ kind: 'left', hook, reason });
  }
  return { actions, others: existing.length - ours.length };
}
