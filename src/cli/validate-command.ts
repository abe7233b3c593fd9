import { resolve } from 'node:path';
import { unknownEnvironmentSettings } from '../config/env-overlay.ts';
import { configSchemaFor } from '../config/load-config.ts';
import { ConfigInvalidError } from '../errors.ts';
import { loadOrchardConfig, sourceDescriptors } from '../sources/index.ts';
import type { CommandIo } from './checkpoint-command.ts';

// `orchard validate [--config FILE]`: the whole configuration checked offline, as `vector validate`
// does: the file and the environment are read and checked exactly as `orchard serve` reads them, and
// every problem is listed at once. Nothing is started, created or reached (no Redis, no vendor).

/** Returns the exit code: 0 valid, 2 invalid. */
export function validateCommand(env: NodeJS.ProcessEnv, cwd: string, io: CommandIo): number {
  const where = env.ORCHARD_CONFIG ? resolve(cwd, env.ORCHARD_CONFIG) : 'the environment (no ORCHARD_CONFIG file)';
  let config;
  try {
    config = loadOrchardConfig(env, cwd);
  } catch (err) {
    if (!(err instanceof ConfigInvalidError)) throw err;
    const n = err.problems.length;
    io.err(`Configuration in ${where} is invalid: ${n} problem${n === 1 ? '' : 's'}.\n${err.problems.map((p) => `  - ${p}\n`).join('')}`);
    return 2;
  }
  for (const warning of unknownEnvironmentSettings(env, configSchemaFor(sourceDescriptors).properties)) io.err(`warning: ${warning}\n`);
  const names = config.connectors.map((c) => (c.enabled ? c.name : `${c.name} (disabled)`));
  const connectors = names.length === 0 ? 'no connectors' : `${names.length} connector${names.length === 1 ? '' : 's'} (${names.join(', ')})`;
  const redis = config.redisUrl ? 'Redis from REDIS_URL' : `embedded Redis in ${config.dataDir}`;
  io.out(`Configuration in ${where} is valid: ${connectors}, webhook authentication ${config.webhookAuth}, ${redis}.\n`);
  return 0;
}
