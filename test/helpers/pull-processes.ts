import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { Redis } from 'ioredis';
import { stringify } from 'yaml';
import type { StoredCheckpoint } from '../../src/connector-state/checkpoint.ts';
import { ConnectorStateStore } from '../../src/connector-state/connector-state-store.ts';
import { MockJamfPro } from '../mocks/jamf-pro-server.ts';
import { MockJumpCloud } from '../mocks/jumpcloud-server.ts';
import type { MockJamfProtect } from '../mocks/jamf-protect-server.ts';
import { killOrchard, startOrchardProcess } from './orchard-process.ts';
import type { TestRedis } from './redis-server.ts';

// Whole Orchard processes pulling from a mock vendor into one Redis, for the tests that SIGKILL them
// at random points of a run (test/connectors/connector-runner.processes*.test.ts). Each of those files
// runs one scenario, so the suite runs them side by side.

export type PullMock = MockJamfPro | MockJumpCloud | MockJamfProtect;

function connectorEntry(mock: PullMock, type?: string): Record<string, unknown> {
  if (mock instanceof MockJamfPro && type === 'jamf_pro.mobile_devices') return { name: 'fleet', type, base_url: mock.url, client_id: 'orchard-test-client', client_secret: '${JAMF_SECRET}' };
  if (mock instanceof MockJamfPro) return { name: 'fleet', type: 'jamf_pro.inventory', base_url: mock.url, client_id: 'orchard-test-client', client_secret: '${JAMF_SECRET}' };
  if (mock instanceof MockJumpCloud) return { name: 'fleet', type: 'jumpcloud.directory_insights', base_url: mock.url, api_key: '${JC_KEY}' };
  return { name: 'fleet', type: 'jamf_protect.alerts', base_url: mock.url, client_id: 'orchard-test-protect-client', password: '${PROTECT_PASSWORD}' };
}

/**
 * A configuration file with one connector `fleet` on `mock` (plus `entry`'s settings), a stream of
 * its own, and the environment an Orchard process gets (PORT=0: it tells the port it took).
 */
export function pullEnvironment(t: TestContext, shared: { readonly server: TestRedis; readonly redis: Redis }, mock: PullMock, entry: Record<string, unknown>) {
  const dir = mkdtempSync(join(tmpdir(), 'orchard-pull-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const stream = `k${Math.random().toString(36).slice(2, 10)}:events`;
  const file = join(dir, 'orchard.yml');
  writeFileSync(file, stringify({ connectors: [{ ...connectorEntry(mock, entry.type as string | undefined), ...entry }] }));
  const env = async (): Promise<Record<string, string>> => ({
    REDIS_URL: shared.server.url,
    ORCHARD_CONFIG: file,
    ORCHARD_STREAM: stream,
    ORCHARD_DATA_DIR: dir,
    ORCHARD_WEBHOOK_SECRETS: 'process-test-secret-0123456789',
    ORCHARD_CONNECTOR_LEASE_TTL_MS: '1000',
    JAMF_SECRET: 'orchard-test-secret',
    JC_KEY: 'orchard-test-jumpcloud-key',
    PROTECT_PASSWORD: 'orchard-test-protect-password',
    HOST: '127.0.0.1',
    PORT: '0',
  });
  const state = new ConnectorStateStore(shared.redis, stream);
  /** Rewrites the configuration file (the next Orchard started reads it). */
  const reconfigure = (changes: Record<string, unknown>) => writeFileSync(file, stringify({ connectors: [{ ...connectorEntry(mock), ...entry, ...changes }] }));
  return { stream, state, keys: state.keys('fleet'), env, reconfigure };
}

/**
 * Polls `predicate` every `everyMs` until it holds; fails naming `what` after timeoutMs. Each poll
 * costs CPU in this process and in what it asks (Redis, an Orchard's /status): 50 ms unless the moment
 * a condition began to hold matters.
 */
export async function until(predicate: () => boolean | Promise<boolean>, what: string, { everyMs = 50, timeoutMs = 60_000 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Starts Orchard and SIGKILLs it at a random moment of its pull, again and again, until a run
 * finished or 6 kills; then, unless the run finished, starts it once more and waits for the run to
 * finish. Returns the pages after which kills landed mid-run.
 *
 * The random moment is counted from the first page this process wrote (up to 200 ms later: during a
 * fetch, a write, or between pages), not from a wall-clock guess: on a loaded machine a process may
 * need longer than that to take the dead one's lease and write anything, and a kill before its first
 * write would test nothing new.
 */
export async function killAtRandomUntilDone(
  t: TestContext,
  env: () => Promise<Record<string, string>>,
  state: ConnectorStateStore,
  random: () => number,
  ranSince: string | null = null,
): Promise<number[]> {
  /** A run ended (after `ranSince`, the end of an earlier one, when given). */
  const finished = (cp: StoredCheckpoint['checkpoint']) => cp?.runOpen === false && cp.lastRunEndedAt !== null && (ranSince === null || cp.lastRunEndedAt > ranSince);
  const killsMidRun: number[] = [];
  for (let kill = 0; kill < 6; kill++) {
    const before = await state.read('fleet');
    if (finished(before.checkpoint)) break;
    const proc = await startOrchardProcess(await env());
    t.after(() => killOrchard(proc));
    // Wait until this process wrote a page (it may first wait for the dead one's lease to expire).
    // Polled every 10 ms: the kill's random moment is counted from it.
    await until(async () => (await state.read('fleet')).seq > before.seq, 'the restarted Orchard to write a page', { everyMs: 10 });
    await new Promise((r) => setTimeout(r, random() * 200));
    proc.child.kill('SIGKILL');
    await proc.exited;
    const stored = await state.read('fleet');
    if (stored.checkpoint?.runOpen) killsMidRun.push(stored.seq);
    if (finished(stored.checkpoint)) break;
  }
  t.diagnostic(`killed mid-run after pages ${killsMidRun.join(', ')}`);
  // The last kill landed after the run's end: there is no run left for a final Orchard to finish.
  if (finished((await state.read('fleet')).checkpoint)) return killsMidRun;
  const last = await startOrchardProcess(await env());
  t.after(() => killOrchard(last));
  await until(async () => finished((await state.read('fleet')).checkpoint), 'the run to finish');
  await killOrchard(last);
  return killsMidRun;
}

/** The seed of a test's random choices: ORCHARD_TEST_SEED, or one from the clock (logged, to repeat a run). */
export function testSeed(t: TestContext): number {
  const seed = Number(process.env.ORCHARD_TEST_SEED ?? Date.now() % 100_000);
  t.diagnostic(`seed ${seed} (ORCHARD_TEST_SEED=${seed} repeats this run)`);
  return seed;
}
