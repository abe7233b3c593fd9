import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

// Test files run in parallel, each starting redis-servers (and some Orchard processes) of its own.
// A port that the kernel handed out for `listen(0)` and that was closed again is a poor choice for a
// server started a moment later: it lies in the ephemeral range, so any process's next outgoing
// connection (there are thousands in the suite) may take it as its local port meanwhile, or another
// file's `listen(0)` may be given it again. Ports are picked at random below that range instead, where
// the kernel never assigns one by itself; two files picking the same one at the same moment is left
// to the caller's retry (TestRedis.start tries another port when redis-server finds it in use).
// Where the server can bind port 0 itself (Orchard: PORT=0), let it, and read the port it tells.

/** The kernel's ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range), or its default. */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 12_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

const lowest = 10_000;
const highest = ephemeralLow() - 1;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port free on 127.0.0.1 at the time of asking, chosen at random outside the ephemeral range
 * (so that no outgoing connection takes it before the server that asked for it binds it). With
 * `alsoFreeAt`, the port that far above it must be free and outside the range too: a Redis Cluster
 * node also listens on its port + 10000 (the cluster bus), and fails to start when that is taken.
 */
export async function freePort(options: { alsoFreeAt?: number } = {}): Promise<number> {
  const offset = options.alsoFreeAt ?? 0;
  const top = highest - offset;
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = lowest + Math.floor(Math.random() * (top - lowest + 1));
    if ((await canListen(port)) && (offset === 0 || (await canListen(port + offset)))) return port;
  }
  throw new Error(`freePort: no free port found between ${lowest} and ${top}`);
}

/** Whether an error says the port was taken (redis-server's "Address already in use", EADDRINUSE). */
export function isAddressInUse(err: unknown): boolean {
  return /EADDRINUSE|address already in use/i.test(String((err as Error)?.message ?? err));
}
