import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { EmbeddedRedisError } from '../errors.ts';

export interface SpawnRedisServerOptions {
  readonly args: readonly string[];
  readonly command?: string;
  /** In a process group of its own, so a terminal's Ctrl-C does not reach it. */
  readonly detached?: boolean;
  readonly timeoutMs?: number;
  /** Each line redis-server writes. */
  readonly onLine?: (line: string) => void;
}

/**
 * Starts redis-server and resolves once it accepts connections; rejects with what it said when it
 * exits first, is not installed, or takes longer than the timeout (and then kills it).
 */
export async function spawnRedisServer(options: SpawnRedisServerOptions): Promise<ChildProcess> {
  const command = options.command ?? 'redis-server';
  const timeoutMs = options.timeoutMs ?? 15_000;
  const child = spawn(command, options.args, { stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false });
  const lines: string[] = [];
  const said = () => lines.slice(-10).join('\n');
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new EmbeddedRedisError(`${command} did not become ready within ${timeoutMs} ms. It said:\n${said()}`)), timeoutMs);
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === 'ENOENT'
          ? new EmbeddedRedisError(`${command} is not on PATH. Install Redis (Debian: apt-get install redis-server) or set REDIS_URL to a Redis you run.`, err)
          : new EmbeddedRedisError(`Cannot start ${command}: ${err.message}`, err),
      );
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new EmbeddedRedisError(`${command} exited during start (code ${code}, signal ${signal}). It said:\n${said()}`));
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        if (lines.length > 50) lines.shift();
        options.onLine?.(line);
        if (/ready to accept connections/i.test(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
  try {
    await ready;
  } catch (err) {
    if (child.exitCode === null) child.kill('SIGKILL');
    throw err;
  }
  child.removeAllListeners('exit');
  return child;
}
