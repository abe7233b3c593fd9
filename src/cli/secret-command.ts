import type { Config } from '../config/config-types.ts';
import { headerAuthenticationJson, readWebhookSecret } from '../server/webhook-secret-store.ts';
import { newestSecret } from '../sources/jamf-pro/webhook-plan.ts';
import type { CommandIo } from './checkpoint-command.ts';

/**
 * The secrets a sender of `tenant` is given, oldest first (the newest, last, is the one to hand out):
 * the tenant's own (webhook_tenant_secrets) when it has some; otherwise webhook_secrets, or the secret
 * Orchard generated in its data directory.
 */
export function secretsForTenant(config: Config, tenant = ''): string[] {
  const own = tenant === '' ? [] : (config.webhookTenantSecrets ?? []).filter((t) => t.tenant === tenant).map((t) => t.secret);
  if (own.length > 0) return own;
  if (config.webhookSecrets?.length) return [...config.webhookSecrets];
  return [readWebhookSecret(config.dataDir)].filter((s): s is string => s !== undefined);
}

/**
 * `orchard secret [--tenant T]`: the Jamf Pro "Header Authentication" JSON for the newest webhook
 * secret (the last of ORCHARD_WEBHOOK_SECRETS, as `orchard jamf-webhooks apply` hands out), or the
 * generated one; with --tenant, the newest of that tenant's secrets.
 */
export function secretCommand(config: Config, io: CommandIo, tenant?: string): number {
  if (config.webhookAuth !== 'header') {
    io.err(`Webhook authentication is "${config.webhookAuth}", not a header secret.\n`);
    return 1;
  }
  const tenants = [...new Set((config.webhookTenantSecrets ?? []).map((t) => t.tenant))];
  if (tenant !== undefined && !tenants.includes(tenant)) {
    io.err(`No secret for tenant "${tenant}" in webhook_tenant_secrets (ORCHARD_WEBHOOK_TENANT_SECRETS).${tenants.length > 0 ? ` Tenants: ${tenants.join(', ')}.` : ''}\n`);
    return 1;
  }
  const value = newestSecret(secretsForTenant(config, tenant));
  if (value === undefined) {
    const hint = tenants.length > 0 ? ` Only tenants' secrets are configured: give --tenant (${tenants.join(', ')}).` : ' Start Orchard once (npm start) and it generates one.';
    io.err(`No webhook secret yet: ORCHARD_WEBHOOK_SECRETS is unset and ${config.dataDir} has none.${hint}\n`);
    return 1;
  }
  io.out(`${headerAuthenticationJson(config.webhookHeader, value)}\n`);
  return 0;
}
