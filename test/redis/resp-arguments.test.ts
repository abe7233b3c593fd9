import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LuaScript } from '../../src/redis/lua-script.ts';
import { RespArguments, type RespArgument } from '../../src/redis/resp-arguments.ts';
import { useTestRedis } from '../helpers/redis-server.ts';

const shared = useTestRedis();

/** The Redis protocol written the plain way: what RespArguments must produce. */
function reference(leading: readonly string[], args: readonly RespArgument[]): Buffer {
  const bulk = (arg: RespArgument) => {
    const bytes = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg), 'utf8');
    return Buffer.concat([Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n')]);
  };
  return Buffer.concat([Buffer.from(`*${leading.length + args.length}\r\n`), ...leading.map(bulk), ...args.map(bulk)]);
}

const argument: fc.Arbitrary<RespArgument> = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 3000 }),
  fc.nat(),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
);

test('property: the request is the Redis protocol of its arguments, byte for byte, whatever the buffer had to grow through', () => {
  fc.assert(
    fc.property(fc.array(argument, { maxLength: 60 }), fc.integer({ min: 0, max: 5000 }), (args, sizeHint) => {
      const encoded = new RespArguments(sizeHint);
      for (const arg of args) encoded.push(arg);
      assert.equal(encoded.count, args.length);
      const sha = 'f'.repeat(40);
      assert.deepEqual(encoded.request(['evalsha', sha]), reference(['evalsha', sha], args));
      // Asked again (a resend under the other SHA), it is still whole.
      assert.deepEqual(encoded.request(['evalsha', '0'.repeat(40)]), reference(['evalsha', '0'.repeat(40)], args));
    }),
  );
});

test('Redis reads every argument back as it was sent (unicode, empty, long, numbers), loading the script on first use', async () => {
  const echo = new LuaScript('orchardTestEcho', 'return ARGV');
  const args = ['', 'plain', 'é – 日本語 🍎', '\r\n$5\r\n*2\r\n', 'y'.repeat(200_000), '12345678901'];
  const encoded = new RespArguments(16);
  encoded.push(0);
  for (const arg of args) encoded.push(arg);
  encoded.push(42);
  await shared.redis.script('FLUSH');
  assert.deepEqual(await echo.runEncoded(shared.redis, encoded), [...args, '42']);
  // Loaded now: the second call goes by SHA alone.
  assert.deepEqual(await echo.runEncoded(shared.redis, encoded), [...args, '42']);
});

test('a script error is Redis\'s error, not retried as a missing script', async () => {
  const failing = new LuaScript('orchardTestFailing', "return redis.error_reply('ORCHARD_TEST refused')");
  const encoded = new RespArguments().push(0);
  await assert.rejects(failing.runEncoded(shared.redis, encoded), /ORCHARD_TEST refused/);
});
