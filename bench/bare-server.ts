// The baselines of the webhook benchmark: a bare Fastify POST route that answers 202 with a body
// shaped like Orchard's, with no auth and no validation. Logger off, same body limit as Orchard's
// default (1 MiB). Two modes:
//   - bare (REDIS_URL unset): Fastify's default JSON parser, no Redis: the route the target compares to;
//   - floor (REDIS_URL set): the least a durable route can do: the body is read as bytes, parsed with
//     JSON.parse, appended with one XADD (ioredis auto-pipelining, so the XADDs of one event-loop turn
//     go out together) to BENCH_STREAM, and 202 is answered once Redis acknowledged. No dedup, no Lua.
//     DESIGN.md's measured facts put this at 0.7–0.9 of the bare route; the bench prints where it
//     lands on this machine, so that Orchard's ratio reads against what any durable path can reach.
// Listens on HOST:PORT from the environment; run by bench/webhook.ts as a child process.

import Fastify from 'fastify';
import { Redis } from 'ioredis';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 0);
const path = process.env.BENCH_PATH ?? '/jamf-pro-events';
const redisUrl = process.env.REDIS_URL;
const stream = process.env.BENCH_STREAM ?? 'bench:floor';

const app = Fastify({ logger: false, bodyLimit: 1_048_576 });

const answer = {
  id: '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0',
  entry: '1700000000000-0',
};

// RESP2, as Orchard's own connections (src/redis/create-redis.ts), so the floor speaks the same protocol.
const redis = redisUrl ? new Redis(redisUrl, { protocol: 2, enableAutoPipelining: true, maxRetriesPerRequest: 1 }) : undefined;

if (redis) {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    try {
      JSON.parse(body.toString());
      done(null, body);
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.post(path, async (req, reply) => {
    const entry = await redis.xadd(stream, '*', 'payload', req.body as Buffer);
    return reply.code(202).send({ id: answer.id, entry });
  });
} else {
  app.post(path, async (_req, reply) => reply.code(202).send(answer));
}

const stop = () => {
  app.close().then(
    () => {
      redis?.disconnect();
      process.exit(0);
    },
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

await app.listen({ host, port });
