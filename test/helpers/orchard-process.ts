import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../src/package-root.ts';

const repoRoot = fileURLToPath(packageRoot);

export interface OrchardProcess {
  readonly child: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
  /** The main listener's URL, once "Orchard is listening." was logged. */
  url?: string;
  adminUrl?: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Exited and its stdout and stderr closed: every output line is in stdout and stderr. */
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `node bin/orchard.js <args>` with exactly `env` (plus PATH), collecting its output lines. */
export function runOrchard(env: Record<string, string>, args: string[] = ['serve']): OrchardProcess {
  const child = spawn(process.execPath, ['bin/orchard.js', ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc: OrchardProcess = {
    child,
    stdout: [],
    stderr: [],
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    // 'close' follows the end of both pipes, so readline has delivered the last line by then.
    closed: new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal }))),
  };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    proc.stdout.push(line);
    if (line.includes('"Orchard is listening."')) {
      const parsed = JSON.parse(line) as { url: string; adminUrl?: string };
      proc.url = parsed.url;
      proc.adminUrl = parsed.adminUrl;
    }
  });
  createInterface({ input: child.stderr! }).on('line', (line) => proc.stderr.push(line));
  return proc;
}

/** Starts Orchard and waits until it listens; fails with its output when it exits first. */
export async function startOrchardProcess(env: Record<string, string>, timeoutMs = 20_000): Promise<OrchardProcess & { url: string }> {
  // Without a data directory of its own, Orchard would use the checkout's ./data: its spool and lock
  // would collide with another test file's Orchard running beside it. A fresh one, removed at exit.
  let ownDataDir: string | undefined;
  if (env.ORCHARD_DATA_DIR === undefined) env = { ...env, ORCHARD_DATA_DIR: (ownDataDir = mkdtempSync(join(tmpdir(), 'orchard-process-'))) };
  const proc = runOrchard(env);
  if (ownDataDir) void proc.exited.then(() => rmSync(ownDataDir!, { recursive: true, force: true }));
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  while (!proc.url) {
    if (exited || Date.now() > deadline) {
      proc.child.kill('SIGKILL');
      throw new Error(`Orchard did not start.\nstdout:\n${proc.stdout.join('\n')}\nstderr:\n${proc.stderr.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return proc as OrchardProcess & { url: string };
}

/**
 * Stops a process if it still runs, for t.after: SIGTERM first, so that it stops its embedded Redis
 * (which runs detached and would outlive a SIGKILL), then SIGKILL after 5 s.
 */
export async function killOrchard(proc: OrchardProcess): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5000);
  await proc.exited;
  clearTimeout(timer);
}
