import type { Redis } from 'ioredis';
import { LuaScript } from '../redis/lua-script.ts';
import type { ConnectorKeys } from './connector-keys.ts';

// Objects that vanished from the vendor (computers deleted from Jamf Pro) would stay in a connector's
// versions hash for ever. Each version carries the scan that last saw it ("<version>|<scan>"); after a
// scan ends, entries older than `belowStamp` are deleted, each only if it still holds the value read
// (a page written meanwhile wins). Done in HSCAN slices, so Redis is never blocked for long.

const pruneScript = new LuaScript(
  'orchardPruneVersions',
  `local removed = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    removed = removed + 1
  end
end
return removed
`,
);

/** Deletes versions last seen before scan `belowStamp`; returns how many. */
export async function pruneVersions(redis: Redis, keys: ConnectorKeys, belowStamp: number): Promise<number> {
  let cursor = '0';
  let removed = 0;
  do {
    const [next, flat] = await redis.hscan(keys.versions, cursor, 'COUNT', 1000);
    cursor = next;
    const stale: string[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const value = flat[i + 1]!;
      const bar = value.lastIndexOf('|');
      const stamp = bar < 0 ? 0 : Number(value.slice(bar + 1));
      if (!(stamp >= belowStamp)) stale.push(flat[i]!, value);
    }
    if (stale.length > 0) removed += Number(await pruneScript.run<number>(redis, [keys.versions], stale));
  } while (cursor !== '0');
  return removed;
}
