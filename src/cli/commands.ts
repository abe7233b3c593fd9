import type { Config } from '../config/config-types.ts';
import { createLogger } from '../logger.ts';

// What `orchard <command>` runs, in one module that cli/orchard.ts loads only once a command runs:
// `orchard --help`, `--version`, a command's `--help` and an unknown command or option answer without
// loading fastify, ioredis, ajv and the sources (a tenth of the start-up time).

export { loadOrchardConfig } from '../sources/index.ts';
export { createRedis } from '../redis/create-redis.ts';
export { checkpointCommand } from './checkpoint-command.ts';
export { withCliRedis } from './cli-redis.ts';
export { consumeCommand, waitingWriter } from './consume-command.ts';
export { importCommand, parseImportArgs } from './import-command.ts';
export { jamfWebhooksCommand } from './jamf-webhooks-command.ts';
export { secretCommand } from './secret-command.ts';
export { serveCommand } from './serve-command.ts';
export { testCommand } from './test-command.ts';
export { topCommand } from './top-command.ts';
export { validateCommand } from './validate-command.ts';
export { verifyCommand } from './verify-command.ts';

/** CLI commands log only warnings, to stderr, so their output stays readable. */
export function cliLogger(config: Config) {
  return createLogger({ level: process.env.LOG_LEVEL ? config.logLevel : 'warn', secretHeader: config.webhookHeader, destination: process.stderr });
}
