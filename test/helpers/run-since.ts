import type { ConnectorStatus } from '../../src/connectors/connector-runner.ts';
import type { ConnectorHarness } from './connector-harness.ts';

/**
 * Once a run that started at or after `sinceMs` has ended, the status whose checkpoint is the one in
 * Redis after it: the figures /status shows for that run. With a short interval a run may begin while
 * a test still changes the mock vendor (that run has not seen the change, and counting runs would
 * take it for the one after); and /status reads the checkpoint again at a run's end for at most a
 * second, so on a loaded machine its figures may come with the next read.
 */
export async function runSince(h: ConnectorHarness, sinceMs: number, timeoutMs = 30_000): Promise<ConnectorStatus> {
  const ended = (st: ConnectorStatus) => st.lastRun !== null && st.lastRun.outcome !== 'running' && Date.parse(st.lastRun.startedAt) >= sinceMs;
  await h.waitFor(ended, 'a run that started after the change', timeoutMs);
  const seq = (await h.state.read(h.config.connectors[0]!.name)).seq;
  return h.waitFor((st) => ended(st) && Number(st.checkpoint?.seq ?? -1) >= seq, '/status to show the checkpoint the run wrote', timeoutMs);
}
