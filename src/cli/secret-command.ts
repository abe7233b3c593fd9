import type { Config } from '../config/config-types.ts';
import { headerAuthenticationJson, readWebhookSecret } from '../server/webhook-secret-store.ts';
import { newestSecret } from '../sources/jamf-pro/webhook-plan.ts';
import type { CommandIo } from './checkpoint-command.ts';

/**
 * `orchard secret`: the Jamf Pro "Header Authentication" JSON for the newest webhook secret (the last
 * of ORCHARD_WEBHOOK_SECRETS, as `orchard jamf-webhooks apply` hands out), or the generated one.
 */
export function secretCommand(config: Config, io: CommandIo): number {
  if (config.webhookAuth !== 'header') {
    io.err(`Webhook authentication is "${config.webhookAuth}", not a header secret.\n`);
    return 1;
  }
  const value = config.webhookSecrets?.length ? newestSecret(config.webhookSecrets) : readWebhookSecret(config.dataDir);
  if (value === undefined) {
    io.err(`No webhook secret yet: ORCHARD_WEBHOOK_SECRETS is unset and ${config.dataDir} has none. Start Orchard once (npm start) and it generates one.\n`);
    return 1;
  }
  io.out(`${headerAuthenticationJson(config.webhookHeader, value)}\n`);
  return 0;
}
