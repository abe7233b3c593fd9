// The baseline of the webhook benchmark: a bare Fastify POST route that parses the JSON body with
// Fastify's default parser and answers 202 with a body shaped like Orchard's, with no auth, no
// validation and no Redis. Logger off, same body limit as Orchard's default (1 MiB).
// Listens on HOST:PORT from the environment; run by bench/webhook.ts as a child process.

import Fastify from 'fastify';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 0);
const path = process.env.BENCH_PATH ?? '/jamf-pro-events';

const app = Fastify({ logger: false, bodyLimit: 1_048_576 });

const answer = {
  id: '0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0',
  entry: '1700000000000-0',
};

app.post(path, async (_req, reply) => reply.code(202).send(answer));

const stop = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

await app.listen({ host, port });
