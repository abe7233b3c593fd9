import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a local port (a redis-server), which can hold back what a
 * client sends once it contains a given text, until released: a test then knows that a command has
 * left its client and is waiting at the server's door, instead of guessing how long that takes.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #hold: { readonly text: string; readonly seen: () => void } | undefined;
  /** Chunks held back, with the socket each was bound for, in the order they came. */
  #held: { readonly to: Socket; readonly chunk: Buffer }[] | undefined;

  private constructor(readonly targetPort: number) {
    this.#server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => this.#sockets.delete(s));
      }
      // The end of what this client sent last, so that a text split over two chunks is still found.
      let tail = Buffer.alloc(0);
      client.on('data', (chunk) => {
        if (this.#held) return void this.#held.push({ to: upstream, chunk });
        const hold = this.#hold;
        if (hold) {
          const seen = Buffer.concat([tail, chunk]);
          if (seen.includes(hold.text)) {
            this.#hold = undefined;
            this.#held = [{ to: upstream, chunk }];
            hold.seen();
            return;
          }
          tail = Buffer.from(seen.subarray(Math.max(0, seen.length - Buffer.byteLength(hold.text) + 1)));
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk) => client.write(chunk));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  /**
   * From the first client chunk that contains `text` on, everything clients send is held back (not
   * sent on) until release(). Resolves once that chunk arrived.
   */
  holdFrom(text: string): Promise<void> {
    return new Promise((resolve) => (this.#hold = { text, seen: resolve }));
  }

  /** Sends on what was held back, in order, and lets everything through again. */
  release(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const { to, chunk } of held) to.write(chunk);
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
