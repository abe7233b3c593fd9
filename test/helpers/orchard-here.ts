import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkpointCommand, type CommandIo } from '../../src/cli/checkpoint-command.ts';
import { cliLogger } from '../../src/cli/commands.ts';
import { testCommand } from '../../src/cli/test-command.ts';
import { ConfigInvalidError, OrchardError } from '../../src/errors.ts';
import { packageRoot } from '../../src/package-root.ts';
import { loadOrchardConfig } from '../../src/sources/index.ts';

const repoRoot = fileURLToPath(packageRoot);

/** A command's io that keeps what it writes: `out()` and `err()` give it back, joined. */
export function capturedIo(): { io: CommandIo; out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t) => void out.push(t), err: (t) => void err.push(t) }, out: () => out.join(''), err: () => err.join('') };
}

/**
 * `orchard test …` or `orchard checkpoint …` in this process, without the ~0.5 CPU-s of starting
 * `node bin/orchard.js`: the same calls as run() in src/cli/orchard.ts makes for these commands, with
 * the environment runOrchard() gives the child (exactly `env` plus PATH and HOME), the checkout as the
 * working directory, and main()'s mapping of errors to exit codes (ConfigInvalidError → 2,
 * OrchardError → 1, each as `orchard: <message>` on stderr). An unexpected error is thrown, so the
 * test fails, where the CLI would print it and exit 1.
 *
 * What only the real CLI does — its strict argument parsing (a usage error, exit 2), the exit code
 * of the process, signals — stays with runOrchard() in each test file.
 */
export async function orchardHere(env: Record<string, string>, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const fullEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env };
  const { io, out, err } = capturedIo();
  const [command, ...rest] = args;
  let code: number;
  try {
    if (command === 'test') {
      const { positionals } = parseArgs({ args: rest, allowPositionals: true, strict: true, options: {} });
      if (positionals.length > 1) throw new Error('orchardHere: a usage error; run it with runOrchard()');
      const config = loadOrchardConfig(fullEnv, repoRoot, { onlyConnector: positionals[0] });
      code = await testCommand(config, positionals[0], io, new AbortController().signal);
    } else if (command === 'checkpoint') {
      const { positionals, values } = parseArgs({ args: rest, allowPositionals: true, strict: true, options: { since: { type: 'string' } } });
      if (positionals.length > 2) throw new Error('orchardHere: a usage error; run it with runOrchard()');
      const config = loadOrchardConfig(fullEnv, repoRoot, { onlyConnector: positionals[1] });
      code = await checkpointCommand(config, cliLogger(config), { action: positionals[0], name: positionals[1], since: values.since }, io);
    } else {
      throw new Error(`orchardHere runs test and checkpoint, not ${command}`);
    }
  } catch (e) {
    if (e instanceof ConfigInvalidError) {
      io.err(`orchard: ${e.message}\n`);
      code = 2;
    } else if (e instanceof OrchardError) {
      io.err(`orchard: ${e.message}\n`);
      code = 1;
    } else {
      throw e;
    }
  }
  return { code, out: out(), err: err() };
}
