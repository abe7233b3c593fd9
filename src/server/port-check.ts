import { createServer } from 'node:net';
import { ListenError } from '../errors.ts';

// Why a listener cannot start, in one sentence naming the setting; and the check start-up runs before
// it generates, creates or starts anything (secret, data directory, embedded Redis), so that a port in
// use fails at once and leaves nothing behind.

/** The ListenError for a failed listen on host:port (`hostName`/`portName`: the settings that chose them). */
export function listenError(err: unknown, host: string, port: number, hostName: string, portName: string): ListenError {
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    EADDRINUSE: `port ${port} is already in use (${portName}): stop what listens there or choose another port`,
    EADDRNOTAVAIL: `address ${host} is not on this machine (${hostName})`,
    EACCES: `no permission to listen on port ${port} (${portName}): ports below 1024 need privileges`,
  };
  return new ListenError(`Cannot listen on ${host}:${port}: ${code && why[code] ? why[code] : (err as Error).message}.`, err);
}

/**
 * Binds host:port for a moment and lets go: throws the ListenError the real listen would, before
 * anything is started. Port 0 (any free port) always succeeds. What takes the port between this check
 * and the listen is still reported by the listen itself.
 */
export async function checkPortFree(host: string, port: number, hostName: string, portName: string): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen({ host, port, exclusive: true }, resolve);
    });
  } catch (err) {
    throw listenError(err, host, port, hostName, portName);
  } finally {
    await new Promise<void>((resolve) => (probe.listening ? probe.close(() => resolve()) : resolve()));
  }
}
