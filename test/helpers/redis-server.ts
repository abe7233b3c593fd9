import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { after, before } from 'node:test';
import { spawnRedisServer } from '../../src/redis/spawn-redis-server.ts';
import { freePort, isAddressInUse } from './free-port.ts';

export interface TestRedisOptions {
  /** Append-only persistence (fsync everysec) in the server's own directory. Off by default. */
  readonly appendonly?: boolean;
  /**
   * The AOF's fsync policy (default everysec). With everysec Redis may answer writes it has not yet
   * written to its file while a slow background fsync runs, and a SIGKILL then loses them: `always`
   * writes before every answer.
   */
  readonly appendfsync?: 'always' | 'everysec';
  /** requirepass: clients must authenticate. */
  readonly password?: string;
}

/**
 * A real redis-server on a free port, in a temporary directory, for one test file. It can be killed
 * (SIGKILL), stopped (SIGSTOP) and started again on the same port and files.
 */
export class TestRedis {
  #child: ChildProcess | undefined;
  readonly clients: Redis[] = [];

  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly options: TestRedisOptions,
  ) {}

  static async start(options: TestRedisOptions = {}): Promise<TestRedis> {
    // Another test file running in parallel may take the chosen port before redis-server binds it:
    // then another port, a few times.
    for (let attempt = 1; ; attempt++) {
      const server = new TestRedis(await freePort(), mkdtempSync(join(tmpdir(), 'orchard-redis-')), options);
      try {
        await server.restart();
        return server;
      } catch (err) {
        rmSync(server.dir, { recursive: true, force: true });
        if (attempt >= 5 || !(isAddressInUse(err) || /exited during start/.test(String(err)))) throw err;
      }
    }
  }

  /** The settings that point Orchard at this server. */
  get env(): Record<string, string> {
    return { REDIS_URL: this.url };
  }

  get url(): string {
    return this.options.password ? `redis://:${encodeURIComponent(this.options.password)}@127.0.0.1:${this.port}` : `redis://127.0.0.1:${this.port}`;
  }

  /**
   * Starts redis-server (again) on the same port and directory, and waits until it accepts connections
   * (while it loads its data, it answers LOADING). `extraArgs` are added to the command line.
   */
  async restart(extraArgs: readonly string[] = []): Promise<void> {
    const args = [
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      '--dir', this.dir,
      '--save', '',
      '--appendonly', this.options.appendonly ? 'yes' : 'no',
      '--appendfsync', this.options.appendfsync ?? 'everysec',
      '--logfile', '',
      ...(this.options.password ? ['--requirepass', this.options.password] : []),
      ...extraArgs,
    ];
    this.#child = await spawnRedisServer({ args, timeoutMs: 10_000 });
  }

  /** A client for assertions, closed by stop(). RESP2, as Orchard's own connections (create-redis.ts). */
  client(): Redis {
    const c = new Redis<'legacy'>(this.port, '127.0.0.1', { protocol: 2, lazyConnect: false, maxRetriesPerRequest: 20, password: this.options.password });
    this.clients.push(c);
    return c;
  }

  /** SIGKILL: no shutdown, no final AOF rewrite. Resolves once the process is gone. */
  async kill(): Promise<void> {
    await this.#signal('SIGKILL');
  }

  /** Freezes the server: connections stay open, nothing is answered. */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    for (const c of this.clients.splice(0)) c.disconnect();
    this.resume();
    await this.#signal('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await gone;
  }
}

/**
 * A redis-server and a ready client for the tests of one file: started in `before`, stopped in
 * `after`. Read `server` and `redis` inside tests.
 */
export function useTestRedis(options: TestRedisOptions = {}): { readonly server: TestRedis; readonly redis: Redis } {
  let server: TestRedis | undefined;
  let redis: Redis | undefined;
  before(async () => {
    server = await TestRedis.start(options);
    redis = server.client();
    for (let i = 0; i < 200 && redis.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 25));
  });
  after(() => server?.stop());
  return {
    get server() {
      if (!server) throw new Error('useTestRedis: read `server` inside a test');
      return server;
    },
    get redis() {
      if (!redis) throw new Error('useTestRedis: read `redis` inside a test');
      return redis;
    },
  };
}
