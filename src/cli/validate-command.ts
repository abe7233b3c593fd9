import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import type { Config } from '../config/config-types.ts';
import { unknownEnvironmentSettings } from '../config/env-overlay.ts';
import { configSchemaFor } from '../config/load-config.ts';
import { ConfigInvalidError } from '../errors.ts';
import { describeRedis } from '../redis/create-redis.ts';
import { redisTargetFrom } from '../redis/redis-target.ts';
import { loadOrchardConfig, sourceDescriptors } from '../sources/index.ts';
import type { CommandIo } from './checkpoint-command.ts';

// `orchard validate [--config FILE]`: the whole configuration checked offline, as `vector validate`
// does: the file and the environment are read and checked exactly as `orchard serve` reads them, and
// every problem is listed at once, with the files and programs serve would need (TLS files,
// redis-server for the embedded Redis). Nothing is started, created or reached (no Redis, no vendor).

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
  const missing = whatServeWouldLack(config, env);
  if (missing.length > 0) {
    io.err(`Configuration in ${where} is invalid: ${missing.length} problem${missing.length === 1 ? '' : 's'}.\n${missing.map((p) => `  - ${p}\n`).join('')}`);
    return 2;
  }
  for (const warning of unknownEnvironmentSettings(env, configSchemaFor(sourceDescriptors).properties)) io.err(`warning: ${warning}\n`);
  const names = config.connectors.map((c) => (c.enabled ? c.name : `${c.name} (disabled)`));
  const connectors = names.length === 0 ? 'no connectors' : `${names.length} connector${names.length === 1 ? '' : 's'} (${names.join(', ')})`;
  const target = redisTargetFrom(config);
  const redis = target ? `Redis at ${describeRedis(target)}` : `embedded Redis in ${config.dataDir}`;
  io.out(`Configuration in ${where} is valid: ${connectors}, webhook authentication ${config.webhookAuth}, ${redis}.\n`);
  return 0;
}

/** Files and programs the configuration names that `serve` would need: the TLS files, redis-server for the embedded Redis. */
function whatServeWouldLack(config: Config, env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  for (const [file, name] of [[config.tlsCertFile, 'ORCHARD_TLS_CERT_FILE (tls_cert_file)'], [config.tlsKeyFile, 'ORCHARD_TLS_KEY_FILE (tls_key_file)']] as const) {
    if (file === undefined) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (err) {
      problems.push(`${name}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  if (!redisTargetFrom(config) && !onPath('redis-server', env.PATH ?? '')) {
    problems.push('REDIS_URL (or ORCHARD_REDIS_SENTINELS, ORCHARD_REDIS_CLUSTER_NODES) is unset, so Orchard would start its embedded Redis, but redis-server is not on PATH: install Redis (Debian: apt-get install redis-server) or set REDIS_URL');
  }
  return problems;
}

function onPath(program: string, path: string): boolean {
  return path.split(delimiter).some((dir) => {
    try {
      accessSync(join(dir || '.', program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
