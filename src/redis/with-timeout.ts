import { SinkUnavailableError } from '../errors.ts';

/**
 * Resolves as `promise` does, or rejects with SinkUnavailableError after `timeoutMs`. The promise
 * itself keeps running (ioredis may still send the command once reconnected: every append carries its
 * dedup key, so a late write is harmless), and a late rejection of it is swallowed.
 */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message: string): Promise<T> {
  promise.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new SinkUnavailableError(message)), timeoutMs);
      }),
    ]);
  } catch (err) {
    throw err instanceof SinkUnavailableError ? err : new SinkUnavailableError(`Redis refused the command: ${(err as Error).message}`, err);
  } finally {
    clearTimeout(timer);
  }
}
