import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

// Every Lua script Orchard runs goes through here. On Redis 7 a script starts with the `#!lua`
// shebang, which makes a key the script did not receive in KEYS fail loudly, as it would in a Redis
// Cluster. Redis 6 refuses the shebang when it compiles the script; nothing ran then, so the script is
// run again without it, and that connection runs every script without it from then on (one warning).
// Scripts go by SHA (ioredis `defineCommand`: EVALSHA, and EVAL after a NOSCRIPT).

export type ScriptArg = string | Buffer | number;

/** Connections whose Redis refused the shebang. */
const legacyConnections = new WeakSet<Redis>();

/** Redis's answer to a script it cannot compile because of the shebang (Redis before 7.0). */
function refusedShebang(err: unknown): boolean {
  return /Error compiling script|unexpected symbol/i.test((err as Error)?.message ?? '');
}

export class LuaScript {
  /** `name`: the ioredis command it becomes (unique per script); `body`: the script without the shebang. */
  constructor(
    readonly name: string,
    readonly body: string,
  ) {}

  /** The script as Redis 7 runs it. */
  get text(): string {
    return `#!lua\n${this.body}`;
  }

  /** Runs the script with these keys and arguments. */
  run<T>(redis: Redis, keys: readonly string[], args: readonly ScriptArg[], logger?: Logger): Promise<T> {
    return this.runFlat(redis, [keys.length, ...keys, ...args], logger);
  }

  /**
   * Runs the script with `args` = the key count, the keys, then the arguments, as one array: a
   * 10,000-record page is 130,000 arguments, more than a spread call's stack holds.
   */
  async runFlat<T>(redis: Redis, args: readonly ScriptArg[], logger?: Logger): Promise<T> {
    if (!(this.name in redis)) {
      redis.defineCommand(this.name, { lua: this.text });
      redis.defineCommand(`${this.name}Legacy`, { lua: this.body });
    }
    const commands = redis as unknown as Record<string, (a: readonly ScriptArg[]) => Promise<T>>;
    if (!legacyConnections.has(redis)) {
      try {
        return await commands[this.name]!.call(redis, args);
      } catch (err) {
        if (!refusedShebang(err)) throw err;
        if (!legacyConnections.has(redis)) {
          legacyConnections.add(redis);
          logger?.warn('Redis is older than 7.0: running Lua scripts without the #!lua shebang (Redis Cluster key checks are weaker).');
        }
      }
    }
    return commands[`${this.name}Legacy`]!.call(redis, args);
  }
}
