import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load-config.ts';
import { ConfigInvalidError, OrchardError } from '../errors.ts';
import { startOrchard } from '../main.ts';
import { headerAuthenticationJson, readWebhookSecret } from '../server/webhook-secret-store.ts';

const usage = `Usage: orchard [command]

Commands:
  serve     Start Orchard (the default). Settings come from the environment and ORCHARD_CONFIG.
  secret    Print the Jamf Pro "Header Authentication" JSON for the webhook secret in use.
  help      Show this text.

See the README for every setting.`;

async function serve(): Promise<number> {
  const running = await startOrchard();
  const done = new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      running.logger.info({ signal }, 'Signal received.');
      const force = setTimeout(() => {
        running.logger.error({ timeoutMs: running.config.shutdownTimeoutMs }, 'Shutdown took too long (shutdown_timeout_ms); exiting anyway.');
        process.exit(1);
      }, running.config.shutdownTimeoutMs);
      force.unref();
      running.close().then(
        () => resolve(0),
        (err: unknown) => {
          running.logger.error({ err }, 'Shutdown failed.');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return done;
}

function secret(): number {
  const config = loadConfig();
  if (config.webhookAuth !== 'header') {
    process.stderr.write(`Webhook authentication is "${config.webhookAuth}", not a header secret.\n`);
    return 1;
  }
  const value = config.webhookSecrets?.[0] ?? readWebhookSecret(config.dataDir);
  if (value === undefined) {
    process.stderr.write(`No webhook secret yet: ORCHARD_WEBHOOK_SECRETS is unset and ${config.dataDir} has none. Start Orchard once (npm start) and it generates one.\n`);
    return 1;
  }
  process.stdout.write(`${headerAuthenticationJson(config.webhookHeader, value)}\n`);
  return 0;
}

/** Runs one `orchard` command; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, strict: false });
  const command = values.help ? 'help' : (positionals[0] ?? 'serve');
  try {
    switch (command) {
      case 'serve':
        return await serve();
      case 'secret':
        return secret();
      case 'help':
      case '--help':
        process.stdout.write(`${usage}\n`);
        return 0;
      default:
        process.stderr.write(`Unknown command "${command}".\n\n${usage}\n`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigInvalidError) {
      process.stderr.write(`orchard: ${err.message}\n`);
      return 2;
    }
    if (err instanceof OrchardError) {
      process.stderr.write(`orchard: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
