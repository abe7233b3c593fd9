// What the webhook benchmarks (bench/webhook.ts, bench/cpu-breakdown.ts) share: the request every wrk
// run sends, and the servers they load (the bare Fastify route, the durable floor, Orchard) as child
// processes with a clean environment.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../test/helpers/free-port.ts';
import { benchNodeFlags, repoRoot, startChildServer, tempDir, type ChildServer, type Cleanup } from './lib.ts';
import { writeWrkScript, wrkScript } from './wrk.ts';

export const webhookPath = '/jamf-pro-events';
const secretHeader = 'X-Orchard-Secret';
const fixture = join(repoRoot, 'test/fixtures/jamf_pro/webhook-templates-camelcase/ComputerCheckIn.json');

/**
 * A wrk script (in a temporary directory) that posts Jamf Pro ComputerCheckIn webhooks with `secret`,
 * webhook.id unique across runs, so every request is a new event (Orchard's id is the sha256 of the
 * body), never a (cheaper) duplicate; webhook.eventTimestamp near now, as Jamf sends it. Returns its
 * path and the body's size.
 */
export function webhookScript(secret: string, cleanup: Cleanup): { scriptFile: string; bodyBytes: number } {
  const template = JSON.parse(readFileSync(fixture, 'utf8')) as { webhook: { id: unknown; eventTimestamp: unknown } };
  template.webhook.id = '@@ID@@';
  template.webhook.eventTimestamp = '@@TS@@';
  const text = JSON.stringify(template);
  const sample = text.replace('"@@ID@@"', '1000000001').replace('"@@TS@@"', String(Date.now() + 1000000001));
  const script = wrkScript(webhookPath, { 'Content-Type': 'application/json', [secretHeader]: secret }, { text, counters: { ID: { offset: 0 }, TS: { offset: Date.now(), perThread: true } } });
  return { scriptFile: writeWrkScript(tempDir('orchard-bench-wrk-', cleanup), 'webhook', script), bodyBytes: Buffer.byteLength(sample) };
}

/** The inherited environment without anything that would change how a server behaves. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('ORCHARD_') || ['REDIS_URL', 'HOST', 'PORT', 'LOG_LEVEL', 'NODE_OPTIONS'].includes(key)) continue;
    env[key] = value;
  }
  return env;
}

/** bench/bare-server.ts: the bare route, or with REDIS_URL and BENCH_STREAM in `env` the durable floor. */
export async function startBareServer(name: string, env: NodeJS.ProcessEnv, cleanup: Cleanup, nodeFlags: readonly string[] = []): Promise<ChildServer> {
  const port = await freePort();
  return startChildServer(
    {
      name,
      args: [...nodeFlags, '--import', 'tsx', 'bench/bare-server.ts'],
      env: { ...baseEnv(), HOST: '127.0.0.1', PORT: String(port), BENCH_PATH: webhookPath, ...env },
      baseUrl: `http://127.0.0.1:${port}`,
      readyPath: '/',
    },
    cleanup,
  );
}

/**
 * Orchard as it ships (`node bin/orchard.js serve`), every setting at its default unless `env` says
 * otherwise; from another checkout (built) when `checkout` names one. `modules`: the compiled module
 * tree (dist/cli/orchard.js) instead of the bundle, so that a CPU profile names Orchard's modules.
 */
const unbundledEntry = ['--input-type=module', '-e', "const { main } = await import('./dist/cli/orchard.js'); process.exitCode = await main(process.argv.slice(1));"];

export async function startOrchard(name: string, options: { redisUrl: string; secret: string; env?: NodeJS.ProcessEnv; nodeFlags?: readonly string[]; checkout?: string; modules?: boolean }, cleanup: Cleanup): Promise<ChildServer> {
  const port = await freePort();
  return startChildServer(
    {
      name,
      args: [...(options.nodeFlags ?? []), ...benchNodeFlags(), ...(options.modules ? unbundledEntry : ['bin/orchard.js']), 'serve'],
      cwd: options.checkout ?? repoRoot,
      env: {
        ...baseEnv(),
        REDIS_URL: options.redisUrl,
        HOST: '127.0.0.1',
        PORT: String(port),
        ORCHARD_WEBHOOK_SECRETS: options.secret,
        LOG_LEVEL: 'warn',
        ORCHARD_DATA_DIR: tempDir('orchard-bench-data-', cleanup),
        ...options.env,
      },
      baseUrl: `http://127.0.0.1:${port}`,
      readyPath: '/readyz',
      isReady: (status) => status === 200,
      readyTimeoutMs: 60_000,
    },
    cleanup,
  );
}
