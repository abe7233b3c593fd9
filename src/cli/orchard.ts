import { parseArgs } from 'node:util';
import { ConfigInvalidError, OrchardError, StartAbortedError } from '../errors.ts';
import { startOrchard, type RunningOrchard } from '../main.ts';
import { loadOrchardConfig } from '../sources/index.ts';
import { headerAuthenticationJson, readWebhookSecret } from '../server/webhook-secret-store.ts';
import { createLogger } from '../logger.ts';
import { checkpointCommand, type CommandIo } from './checkpoint-command.ts';
import { testCommand } from './test-command.ts';
import { jamfWebhooksCommand } from './jamf-webhooks-command.ts';
import { consumeCommand, waitingWriter } from './consume-command.ts';
import { importCommand, parseImportArgs } from './import-command.ts';
import { withCliRedis } from './cli-redis.ts';
import { createRedis } from '../redis/create-redis.ts';

const io: CommandIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** CLI commands log only warnings, to stderr, so their output stays readable. */
function cliLogger(config: ReturnType<typeof loadOrchardConfig>) {
  return createLogger({ level: process.env.LOG_LEVEL ? config.logLevel : 'warn', secretHeader: config.webhookHeader, destination: process.stderr });
}

const usage = `Usage: orchard [command]

Commands:
  serve                                    Start Orchard (the default). Settings come from the environment and ORCHARD_CONFIG.
  test <connector>                         Check a connector's credentials and permissions and fetch one page without writing.
  checkpoint show <connector>              Print a connector's checkpoint, remembered versions and lease.
  checkpoint reset <connector> [--since T] Forget a connector's progress: the next run starts from T (RFC 3339),
                                           the connector's start, or the beginning (inventories reload in full).
  consume --group G [--consumer C] [--from 0|$|ID] [--count N] [--follow]
                                           Print the stream's entries for a consumer group as JSON lines, each
                                           acknowledged only after it was written; a restart re-delivers the
                                           consumer's unacknowledged entries first.
  import [--type T] [--tenant T] FILE…     Import Jamf Pro access and change-management logs and Compliance Reporter
                                           logs (NDJSON, log lines or a JSON array; plain or gzip; - is stdin),
                                           each line once: importing a file again appends nothing, an
                                           interrupted import continues where it stopped. T: auto (default),
                                           jamf_pro.login, jamf_pro.change_management, jamf_pro.compliance_reporter.
  jamf-webhooks plan|apply <connector> [--events A,B] [--smart-group-id N]
                                           Make Jamf Pro post its webhook events (default the 20 that need no smart
                                           group; all 23 with --smart-group-id) to public_url with
                                           Orchard's secret, through the Classic API with that Jamf Pro connector's
                                           API client: plan shows what would change, apply changes it.
  secret                                   Print the Jamf Pro "Header Authentication" JSON for the webhook secret in use.
  help                                     Show this text.

See the README for every setting.`;

async function serve(): Promise<number> {
  // Signals are handled from the first moment: during start-up one undoes what was started; a
  // second one (or the shutdown deadline) exits at once, still asking the embedded Redis to stop.
  const starting = new AbortController();
  let running: RunningOrchard | undefined;
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    const exitCode = signal === 'SIGINT' ? 130 : 143;
    if (signalled) {
      running?.logger.warn({ signal }, 'Second signal: exiting now.');
      running?.stopNow();
      process.exit(exitCode);
    }
    signalled = true;
    if (!running) {
      starting.abort();
      return;
    }
    const current = running;
    current.logger.info({ signal }, 'Signal received.');
    const force = setTimeout(() => {
      current.logger.error({ timeoutMs: current.config.shutdownTimeoutMs }, 'Shutdown took too long (shutdown_timeout_ms); exiting anyway.');
      current.stopNow();
      process.exit(1);
    }, current.config.shutdownTimeoutMs);
    force.unref();
    current.close().then(
      () => resolveDone(0),
      (err: unknown) => {
        current.logger.error({ err }, 'Shutdown failed.');
        current.stopNow();
        resolveDone(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    running = await startOrchard({ signal: starting.signal });
  } catch (err) {
    if (err instanceof StartAbortedError) {
      process.stderr.write(`orchard: ${err.message}\n`);
      return 143;
    }
    throw err;
  }
  const code = await done;
  // Everything was closed; should a write to a stalled log reader still hold the process (a blocked
  // stdout), it ends all the same.
  setTimeout(() => process.exit(code), 2000).unref();
  return code;
}

function secret(): number {
  const config = loadOrchardConfig();
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

/** `scheme://user:password@` → `scheme://***@` wherever it appears. */
export function maskUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"]*@/gi, '$1***@');
}

/** Runs one `orchard` command; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, strict: false, options: { since: { type: 'string' }, help: { type: 'boolean' } } });
  const command = values.help ? 'help' : (positionals[0] ?? 'serve');
  try {
    switch (command) {
      case 'serve':
        return await serve();
      case 'secret':
        return secret();
      case 'test': {
        const config = loadOrchardConfig(process.env, process.cwd(), { onlyConnector: positionals[1] });
        const aborted = new AbortController();
        process.once('SIGINT', () => aborted.abort());
        return await testCommand(config, positionals[1], io, aborted.signal);
      }
      case 'checkpoint': {
        // Strict here: a misspelt or empty --since must not turn into a reset to the beginning.
        let parsed: { positionals: string[]; values: { since?: string } };
        try {
          parsed = parseArgs({ args: argv.slice(argv.indexOf('checkpoint') + 1), allowPositionals: true, strict: true, options: { since: { type: 'string' } } });
        } catch (err) {
          process.stderr.write(`orchard checkpoint: ${(err as Error).message}\nUsage: orchard checkpoint show|reset <connector> [--since TIME]\n`);
          return 2;
        }
        const config = loadOrchardConfig(process.env, process.cwd(), { onlyConnector: parsed.positionals[1] });
        return await checkpointCommand(config, cliLogger(config), { action: parsed.positionals[0], name: parsed.positionals[1], since: parsed.values.since }, io);
      }
      case 'jamf-webhooks': {
        let parsed: { positionals: string[]; values: { events?: string; 'smart-group-id'?: string } };
        try {
          parsed = parseArgs({ args: argv.slice(argv.indexOf('jamf-webhooks') + 1), allowPositionals: true, strict: true, options: { events: { type: 'string' }, 'smart-group-id': { type: 'string' } } });
        } catch (err) {
          process.stderr.write(`orchard jamf-webhooks: ${(err as Error).message}\nUsage: orchard jamf-webhooks plan|apply <connector> [--events A,B] [--smart-group-id N]\n`);
          return 2;
        }
        const config = loadOrchardConfig(process.env, process.cwd(), { onlyConnector: parsed.positionals[1] });
        const aborted = new AbortController();
        process.once('SIGINT', () => aborted.abort());
        return await jamfWebhooksCommand(config, { action: parsed.positionals[0], name: parsed.positionals[1], events: parsed.values.events, smartGroupId: parsed.values['smart-group-id'] }, io, aborted.signal);
      }
      case 'consume': {
        const config = loadOrchardConfig();
        const logger = cliLogger(config);
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        process.once('SIGTERM', () => stop.abort());
        const args = argv.slice(argv.indexOf('consume') + 1);
        const out = { out: waitingWriter(process.stdout), err: io.err };
        return await withCliRedis(config, logger, (redis, target) => consumeCommand(args, out, redis, () => createRedis(target, logger), { stream: config.stream, signal: stop.signal, logger }));
      }
      case 'import': {
        const args = argv.slice(argv.indexOf('import') + 1);
        // Usage errors first: they need neither the configuration nor Redis.
        if (!parseImportArgs(args, io)) return 2;
        const config = loadOrchardConfig();
        const logger = cliLogger(config);
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        process.once('SIGTERM', () => stop.abort());
        return await withCliRedis(config, logger, (redis) =>
          importCommand(args, io, redis, {
            stream: config.stream,
            rejectedStream: config.rejectedStream,
            rejectedStreamMaxLen: config.rejectedStreamMaxLen,
            signal: stop.signal,
            logger,
            tty: process.stderr.isTTY === true,
            waitReplicas: config.redisWaitReplicas,
            waitTimeoutMs: config.redisWaitTimeoutMs,
          }),
        );
      }
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
    // Unexpected: the stack helps, but credentials inside a URL must not reach the terminal or a log.
    process.stderr.write(`orchard: unexpected error: ${maskUrlCredentials(String((err as Error)?.stack ?? err))}\n`);
    return 1;
  }
}
