import { createHash } from 'node:crypto';
import { Command } from 'ioredis';
import type { Logger } from 'pino';
import { RedisCrossSlotError } from '../errors.ts';
import { isCrossSlot, loadScript, slotOf, type RedisClient } from './redis-client.ts';
import type { RespArguments } from './resp-arguments.ts';

// Every Lua script Orchard runs goes through here. On Redis 7 a script starts with the `#!lua`
// shebang, which makes a key the script did not receive in KEYS fail loudly, as it would in a Redis
// Cluster. Redis 6 refuses the shebang when it compiles the script; nothing ran then, so the script is
// run again without it, and that connection runs every script without it from then on (one warning).
// Scripts go by SHA (ioredis `defineCommand`: EVALSHA, and EVAL after a NOSCRIPT). A page-sized call
// comes with its arguments already encoded (resp-arguments.ts) and goes out as one EVALSHA buffer; after
// a NOSCRIPT (nothing ran) the script is loaded and the same buffer sent again.
// On a Redis Cluster a script runs on the primary of its keys' slot: the encoded call names that slot
// itself (ioredis cannot read keys out of the buffer), a NOSCRIPT loads the script on every primary
// (a failover may have promoted a replica that never saw it), and CROSSSLOT becomes an error that names
// the keys (RedisCrossSlotError).

export type ScriptArg = string | Buffer | number;

/** Connections whose Redis refused the shebang. */
const legacyConnections = new WeakSet<RedisClient>();

/** Redis's answer to a script it cannot compile because of the shebang (Redis before 7.0). */
function refusedShebang(err: unknown): boolean {
  return /Error compiling script|unexpected symbol/i.test((err as Error)?.message ?? '');
}

/** From now on this connection runs scripts without the shebang (one warning). */
function markLegacy(redis: RedisClient, logger: Logger | undefined): void {
  if (legacyConnections.has(redis)) return;
  legacyConnections.add(redis);
  logger?.warn('Redis is older than 7.0: running Lua scripts without the #!lua shebang (Redis Cluster key checks are weaker).');
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** EVALSHA with arguments encoded beforehand: ioredis writes the buffer as it is (on a Cluster, to the primary of `routeKey`'s slot). */
class EncodedScriptCommand extends Command {
  readonly #args: RespArguments;
  readonly #sha: string;
  readonly #slot: number | null;

  constructor(args: RespArguments, sha: string, routeKey: string | undefined) {
    super('evalsha', [], { replyEncoding: 'utf8' });
    this.#args = args;
    this.#sha = sha;
    this.#slot = routeKey === undefined ? null : slotOf(routeKey);
  }

  override getSlot(): number {
    // null without a route key, as ioredis's own keyless commands: any node (a Cluster redirects it).
    return this.#slot as number;
  }

  override toWritable(): Buffer {
    return this.#args.request(['evalsha', this.#sha]);
  }
}

/** A CROSSSLOT answer as the error that names the keys; any other error as it is. */
function explained(err: unknown, keys: () => readonly string[]): unknown {
  return isCrossSlot(err) ? new RedisCrossSlotError(keys(), err) : err;
}

export class LuaScript {
  readonly #sha: string;
  readonly #legacySha: string;

  /** `name`: the ioredis command it becomes (unique per script); `body`: the script without the shebang. */
  constructor(
    readonly name: string,
    readonly body: string,
  ) {
    this.#sha = sha1(this.text);
    this.#legacySha = sha1(body);
  }

  /** The script as Redis 7 runs it. */
  get text(): string {
    return `#!lua\n${this.body}`;
  }

  /** Runs the script with these keys and arguments. */
  run<T>(redis: RedisClient, keys: readonly string[], args: readonly ScriptArg[], logger?: Logger): Promise<T> {
    return this.runFlat(redis, [keys.length, ...keys, ...args], logger);
  }

  /**
   * Runs the script with `args` = the key count, the keys, then the arguments, as one array: a
   * 10,000-record page is 130,000 arguments, more than a spread call's stack holds.
   */
  async runFlat<T>(redis: RedisClient, args: readonly ScriptArg[], logger?: Logger): Promise<T> {
    if (!(this.name in redis)) {
      redis.defineCommand(this.name, { lua: this.text });
      redis.defineCommand(`${this.name}Legacy`, { lua: this.body });
    }
    const commands = redis as unknown as Record<string, (a: readonly ScriptArg[]) => Promise<T>>;
    const keys = () => args.slice(1, 1 + Number(args[0])).map(String);
    if (!legacyConnections.has(redis)) {
      try {
        return await commands[this.name]!.call(redis, args);
      } catch (err) {
        if (!refusedShebang(err)) throw explained(err, keys);
        markLegacy(redis, logger);
      }
    }
    return commands[`${this.name}Legacy`]!.call(redis, args).catch((err: unknown) => {
      throw explained(err, keys);
    });
  }

  /**
   * Runs the script with arguments encoded beforehand: the key count, the keys, then the arguments.
   * For calls too large for ioredis's argument handling to be cheap (a page of records). `routeKey`:
   * the first key, whose slot the call goes to on a Redis Cluster.
   */
  async runEncoded<T>(redis: RedisClient, args: RespArguments, logger?: Logger, routeKey?: string): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const legacy = legacyConnections.has(redis);
      try {
        return (await redis.sendCommand(new EncodedScriptCommand(args, legacy ? this.#legacySha : this.#sha, routeKey))) as T;
      } catch (err) {
        if (!/NOSCRIPT/.test((err as Error)?.message ?? '') || attempt > 2) throw explained(err, () => (routeKey === undefined ? [] : [routeKey]));
      }
      // Not loaded (a restarted or flushed Redis, a promoted replica): nothing ran. Load it, then send the same call again.
      try {
        await loadScript(redis, legacy ? this.body : this.text);
      } catch (err) {
        if (legacy || !refusedShebang(err)) throw err;
        markLegacy(redis, logger);
        await loadScript(redis, this.body);
      }
    }
  }
}
