import { ConfigInvalidError, StartAbortedError } from '../errors.ts';
import { startOrchard, type RunningOrchard } from '../main.ts';

// `orchard serve`: starts Orchard and handles the signals. SIGTERM and SIGINT shut down gracefully (a
// second one, or the shutdown deadline, exits at once, still asking the embedded Redis to stop);
// during start-up they undo what was started. SIGHUP reloads the connectors from the configuration
// (as nginx and Vector reload theirs) and never ends the process: Node's default for SIGHUP would
// exit without stopping the embedded Redis, leaving it behind.

export async function serveCommand(): Promise<number> {
  const starting = new AbortController();
  let running: RunningOrchard | undefined;
  let resolveDone: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    const exitCode = signal === 'SIGINT' ? 130 : 143;
    if (signalled) {
      running?.logger.warn({ signal }, 'Second signal: exiting now.');
      running?.stopNow();
      process.exit(exitCode);
    }
    signalled = true;
    if (!running) {
      starting.abort();
      return;
    }
    const current = running;
    current.logger.info({ signal }, 'Signal received.');
    const force = setTimeout(() => {
      current.logger.error({ timeoutMs: current.config.shutdownTimeoutMs }, 'Shutdown took too long (shutdown_timeout_ms); exiting anyway.');
      current.stopNow();
      process.exit(1);
    }, current.config.shutdownTimeoutMs);
    force.unref();
    current.close().then(
      () => resolveDone(0),
      (err: unknown) => {
        current.logger.error({ err }, 'Shutdown failed.');
        current.stopNow();
        resolveDone(1);
      },
    );
  };
  const onHangUp = () => {
    const current = running;
    if (!current || signalled) return;
    current.logger.info({ signal: 'SIGHUP' }, 'Reloading the connectors from the configuration.');
    current.reloadConnectors().then(
      ({ before, after, notApplied }) =>
        current.logger.info(
          { before, after, ...(notApplied.length > 0 ? { notApplied } : {}) },
          notApplied.length > 0 ? 'Connectors reloaded; the other settings that changed take effect at the next start.' : 'Connectors reloaded.',
        ),
      (err: unknown) =>
        current.logger.error(
          { problems: err instanceof ConfigInvalidError ? err.problems : [(err as Error).message] },
          'Reload refused: the configuration is invalid; the connectors keep running as they were.',
        ),
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', onHangUp);
  try {
    running = await startOrchard({ signal: starting.signal });
  } catch (err) {
    if (err instanceof StartAbortedError) {
      process.stderr.write(`orchard: ${err.message}\n`);
      return 143;
    }
    throw err;
  }
  const code = await done;
  // Everything was closed; should a write to a stalled log reader still hold the process (a blocked
  // stdout), it ends all the same.
  setTimeout(() => process.exit(code), 2000).unref();
  return code;
}
