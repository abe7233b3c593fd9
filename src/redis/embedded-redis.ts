import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { EmbeddedRedisError } from '../errors.ts';
import { commandLine, isAlive } from '../process-info.ts';
import { spawnRedisServer } from './spawn-redis-server.ts';

export type RedisEndpoint = { readonly path: string } | { readonly host: string; readonly port: number };

export interface EmbeddedRedisOptions {
  readonly dataDir: string;
  readonly appendfsync: 'always' | 'everysec';
  readonly logger: Logger;
  readonly command?: string;
  readonly startTimeoutMs?: number;
}

/** Longest unix socket path Linux accepts, with room to spare. */
const maxSocketPath = 100;

/** A redis-server left running by an Orchard that died without stopping it: stop it, so its files are ours. */
async function stopOrphan(pidFile: string, logger: Logger): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 1 || !isAlive(pid)) return;
  if (!commandLine(pid)?.includes('redis-server')) return;
  logger.warn({ pid }, 'Stopping a redis-server a previous Orchard left running on this data directory.');
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) throw new EmbeddedRedisError(`The redis-server with pid ${pid} (from ${pidFile}) did not stop; stop it and start Orchard again.`);
}

/**
 * A private redis-server with append-only persistence under `<data_dir>/redis`, started when
 * REDIS_URL is unset. It runs in its own process group, so a Ctrl-C reaches Orchard first and Orchard
 * stops it after the last append.
 */
/** Where the embedded Redis keeps its files under ORCHARD_DATA_DIR. */
export function embeddedRedisDir(dataDir: string): string {
  return join(dataDir, 'redis');
}

/** The embedded Redis's unix socket, unless the path is too long for a socket (then it is in a private temp directory). */
export function embeddedSocketPath(dataDir: string): string {
  return join(embeddedRedisDir(dataDir), 'redis.sock');
}

export class EmbeddedRedis {
  readonly #onExit = () => this.stopNow();

  private constructor(
    readonly endpoint: RedisEndpoint,
    readonly dir: string,
    private readonly child: ChildProcess,
    private readonly logger: Logger,
    private readonly socketDir: string | undefined,
  ) {
    // However Orchard exits (process.exit included), its redis-server does not outlive it.
    process.once('exit', this.#onExit);
  }

  static async start(options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
    const dir = embeddedRedisDir(options.dataDir);
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new EmbeddedRedisError(`Cannot create ${dir} for the embedded Redis (ORCHARD_DATA_DIR): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
    }
    const pidFile = join(dir, 'redis.pid');
    await stopOrphan(pidFile, options.logger);

    // Only a unix socket, never a TCP port (the embedded Redis has no password). A data directory too
    // deep for a socket path gets the socket in a private directory of its own under the temp dir.
    let socketDir: string | undefined;
    let socket = embeddedSocketPath(options.dataDir);
    if (socket.length >= maxSocketPath) {
      socketDir = mkdtempSync(join(tmpdir(), 'orchard-redis-'));
      chmodSync(socketDir, 0o700);
      socket = join(socketDir, 'redis.sock');
    }
    const endpoint: RedisEndpoint = { path: socket };
    const args = [
      '--port', '0',
      '--unixsocket', socket,
      '--unixsocketperm', '700',
      '--dir', dir,
      '--appendonly', 'yes',
      '--appendfsync', options.appendfsync,
      '--save', '',
      '--maxmemory-policy', 'noeviction',
      '--pidfile', pidFile,
      '--daemonize', 'no',
      '--logfile', '',
    ];
    const child = await spawnRedisServer({
      args,
      command: options.command,
      detached: true,
      timeoutMs: options.startTimeoutMs,
      onLine: (line) => options.logger.debug({ redis: line }, 'redis-server says.'),
    });
    child.once('exit', (code, signal) => options.logger.error({ code, signal }, 'The embedded redis-server exited.'));
    options.logger.info({ dir, appendfsync: options.appendfsync, endpoint }, 'Started an embedded redis-server with append-only persistence (REDIS_URL is unset).');
    return new EmbeddedRedis(endpoint, dir, child, options.logger, socketDir);
  }

  /**
   * Asks redis-server to stop, without waiting: for an exit that cannot wait (a second Ctrl-C, the
   * shutdown timeout). Redis writes its append-only file and exits by itself.
   */
  stopNow(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
  }

  /** Stops redis-server (it writes its append-only file before it exits). */
  async stop(timeoutMs = 10_000): Promise<void> {
    process.off('exit', this.#onExit);
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.removeAllListeners('exit');
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
      this.logger.info('Stopped the embedded redis-server.');
    }
    if (this.socketDir) rmSync(this.socketDir, { recursive: true, force: true });
  }
}
