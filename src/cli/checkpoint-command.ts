import type { RedisClient } from '../redis/redis-client.ts';
import type { Logger } from 'pino';
import type { Config, ConnectorConfig } from '../config/config-types.ts';
import { ConnectorStateStore } from '../connector-state/connector-state-store.ts';
import { withCliRedis } from './cli-redis.ts';

export interface CommandIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

/** The connector entry named on the command line, or a message listing the configured ones. */
export function findConnector(config: Config, name: string | undefined, io: CommandIo): ConnectorConfig | undefined {
  const names = config.connectors.map((c) => c.name);
  const found = config.connectors.find((c) => c.name === name);
  if (!found) {
    const where = config.configFile ? `in ${config.configFile}` : '(ORCHARD_CONFIG is not set, so there are none)';
    io.err(`${name === undefined ? 'Name a connector' : `No connector named "${name}"`} ${where}.${names.length ? ` Configured: ${names.join(', ')}.` : ''}\n`);
  }
  return found;
}

async function show(redis: RedisClient, config: Config, connector: ConnectorConfig, io: CommandIo): Promise<number> {
  const state = new ConnectorStateStore(redis, config.stream);
  const keys = state.keys(connector.name);
  const [stored, lease] = await Promise.all([state.read(connector.name), state.leaseHolder(connector.name)]);
  if (stored.seq === 0) {
    io.err(`No checkpoint is stored for ${connector.name} in this Redis (stream ${config.stream}): it has not run yet, or REDIS_URL / ORCHARD_STREAM differ from the running Orchard's.\n`);
  }
  io.out(
    `${JSON.stringify(
      {
        connector: connector.name,
        type: connector.type,
        keys,
        seq: stored.seq,
        checkpoint: stored.checkpoint ?? null,
        versions: stored.versions,
        ...(Object.keys(stored.tallies).length > 0 ? { tallies: stored.tallies } : {}),
        lease: lease ? { holder: lease.holder, expiresInMs: lease.ttlMs } : null,
      },
      null,
      2,
    )}\n`,
  );
  return 0;
}

async function reset(redis: RedisClient, config: Config, connector: ConnectorConfig, since: string | undefined, io: CommandIo): Promise<number> {
  const state = new ConnectorStateStore(redis, config.stream);
  const before = await state.read(connector.name);
  const checkpoint = await state.reset(connector, since);
  io.out(
    `Reset the checkpoint of ${connector.name} (forgot ${before.versions} remembered version(s)). Its next run starts ` +
      `${checkpoint.since ? `from ${checkpoint.since}` : 'from the beginning'}${connector.type === 'jamf_pro.inventory' ? ' and reloads the whole fleet' : ''}.\n`,
  );
  return 0;
}

/** `orchard checkpoint show|reset <connector> [--since TIME]`. */
export async function checkpointCommand(config: Config, logger: Logger, args: { action?: string; name?: string; since?: string }, io: CommandIo): Promise<number> {
  if (args.action !== 'show' && args.action !== 'reset') {
    io.err('Usage: orchard checkpoint show|reset <connector> [--since TIME]\n');
    return 2;
  }
  let since: string | undefined;
  if (args.since !== undefined) {
    if (args.action !== 'reset') {
      io.err('--since goes with reset.\n');
      return 2;
    }
    const ms = Date.parse(args.since);
    if (!/^\d{4}-\d{2}-\d{2}/.test(args.since) || Number.isNaN(ms)) {
      io.err(`--since ${args.since}: not a time; give an RFC 3339 time such as 2026-11-01T00:00:00Z.\n`);
      return 2;
    }
    since = new Date(ms).toISOString();
  }
  const connector = findConnector(config, args.name, io);
  if (!connector) return 2;
  return withCliRedis(config, logger, (redis) => (args.action === 'show' ? show(redis, config, connector, io) : reset(redis, config, connector, since, io)));
}
