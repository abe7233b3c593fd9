import { fileURLToPath } from 'node:url';
import type { CommandIo } from '../../src/cli/checkpoint-command.ts';
import { main } from '../../src/cli/orchard.ts';
import { packageRoot } from '../../src/package-root.ts';

const repoRoot = fileURLToPath(packageRoot);

/** A command's io that keeps what it writes: `out()` and `err()` give it back, joined. */
export function capturedIo(): { io: CommandIo; out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t) => void out.push(t), err: (t) => void err.push(t) }, out: () => out.join(''), err: () => err.join('') };
}

/**
 * `orchard <args>` in this process, without the ~0.5 CPU-s of starting `node bin/orchard.js`: the
 * CLI's own main() with the environment runOrchard() gives the child (exactly `env` plus PATH and
 * HOME), the checkout as the working directory, and a stop signal of its own (not this process's
 * SIGINT). An unexpected error fails the test, where the CLI would print its stack and exit 1.
 * What only a process shows (its exit code, signals, `serve`) stays with runOrchard().
 */
export async function orchardHere(env: Record<string, string>, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { io, out, err } = capturedIo();
  const fullEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env };
  const code = await main(args, { env: fullEnv, cwd: repoRoot, io, signal: new AbortController().signal });
  if (err().includes('orchard: unexpected error')) throw new Error(`orchard ${args.join(' ')}: ${err()}`);
  return { code, out: out(), err: err() };
}
