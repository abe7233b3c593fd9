import { parseArgs, type ParseArgsConfig } from 'node:util';
import { closestName } from '../config/closest-name.ts';
import { ConfigInvalidError, OrchardError } from '../errors.ts';
import type { CommandIo } from './checkpoint-command.ts';
import { commandHelp, commandText, isCommand, overviewText, versionText, type CommandName } from './command-usage.ts';

const processIo: CommandIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/**
 * Where a command runs: its environment, working directory, output and stop signal. main() gives the
 * process's own; a test may run a command in its process with its own (test/helpers/orchard-here.ts).
 */
export interface CommandContext {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly io: CommandIo;
  /** Aborted on Ctrl-C; without it, the process's SIGINT (and SIGTERM where a command stops on it). */
  readonly signal?: AbortSignal;
}

/** A usage error: the problem, the command's usage line and where its options are described; exit code 2. */
function usageError(io: CommandIo, command: CommandName, problem: string): number {
  io.err(`orchard ${command}: ${problem}\nUsage: orchard ${commandHelp[command].usage}\nRun 'orchard ${command} --help' for its options.\n`);
  return 2;
}

type Parsed = { positionals: string[]; values: Record<string, string | boolean | undefined> };

/** The command's arguments, strictly: an unknown option or a stray argument is a usage error (undefined). */
function parseCommandArgs(io: CommandIo, command: CommandName, args: string[], options: ParseArgsConfig['options'], maxPositionals: number): Parsed | undefined {
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, strict: true, options }) as Parsed;
  } catch (err) {
    usageError(io, command, (err as Error).message);
    return undefined;
  }
  if (parsed.positionals.length > maxPositionals) {
    usageError(io, command, `unexpected argument "${parsed.positionals[maxPositionals]}"`);
    return undefined;
  }
  return parsed;
}

/**
 * `--config FILE` (or `--config=FILE`), which every command but help takes: the arguments without it
 * and the file, or the problem when it has no file. Not looked for after `--`.
 */
function takeConfigOption(args: string[]): { rest: string[]; file?: string } | { problem: string } {
  const rest: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (arg !== '--config' && !arg.startsWith('--config=')) {
      rest.push(arg);
      continue;
    }
    const value = arg === '--config' ? args[++i] : arg.slice('--config='.length);
    if (value === undefined || value === '' || value.startsWith('-')) return { problem: "option '--config FILE' needs the configuration file" };
    file = value;
  }
  return file === undefined ? { rest } : { rest, file };
}

/** Aborted on Ctrl-C (and SIGTERM when asked). */
function stopSignal(alsoTerm = false): AbortSignal {
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  if (alsoTerm) process.once('SIGTERM', () => stop.abort());
  return stop.signal;
}

async function run(command: CommandName, allArgs: string[], { env: processEnv, cwd, io, signal }: CommandContext): Promise<number> {
  if (command === 'help') return help(allArgs, io);
  const configOption = takeConfigOption(allArgs);
  if ('problem' in configOption) return usageError(io, command, configOption.problem);
  const args = configOption.rest;
  /** The environment, with --config FILE as ORCHARD_CONFIG. */
  const env = configOption.file === undefined ? processEnv : { ...processEnv, ORCHARD_CONFIG: configOption.file };
  /** The context's stop signal, else one the process's Ctrl-C (and SIGTERM when asked) aborts. */
  const stop = (alsoTerm = false): AbortSignal => signal ?? stopSignal(alsoTerm);
  // Loaded here, not at the top: help, the version and usage found by main() need none of it (commands.ts).
  const { loadOrchardConfig, cliLogger, createRedis, checkpointCommand, withCliRedis, consumeCommand, waitingWriter, importCommand, parseImportArgs, jamfWebhooksCommand, secretCommand, serveCommand, testCommand, topCommand, validateCommand, verifyCommand } =
    await import('./commands.ts');
  switch (command) {
    case 'serve': {
      if (!parseCommandArgs(io, command, args, {}, 0)) return 2;
      // serve runs on the process's own environment (its reload on SIGHUP reads it again).
      if (configOption.file !== undefined) process.env.ORCHARD_CONFIG = configOption.file;
      return await serveCommand();
    }
    case 'validate': {
      return parseCommandArgs(io, command, args, {}, 0) ? validateCommand(env, cwd, io) : 2;
    }
    case 'secret': {
      const parsed = parseCommandArgs(io, command, args, { tenant: { type: 'string' } }, 0);
      return parsed ? secretCommand(loadOrchardConfig(env, cwd), io, parsed.values.tenant as string | undefined) : 2;
    }
    case 'test': {
      const parsed = parseCommandArgs(io, command, args, {}, 1);
      if (!parsed) return 2;
      const config = loadOrchardConfig(env, cwd, { onlyConnector: parsed.positionals[0] });
      return await testCommand(config, parsed.positionals[0], io, stop());
    }
    case 'checkpoint': {
      // Strict: a misspelt or empty --since must not turn into a reset to the beginning.
      const parsed = parseCommandArgs(io, command, args, { since: { type: 'string' } }, 2);
      if (!parsed) return 2;
      const config = loadOrchardConfig(env, cwd, { onlyConnector: parsed.positionals[1] });
      return await checkpointCommand(config, cliLogger(config), { action: parsed.positionals[0], name: parsed.positionals[1], since: parsed.values.since as string | undefined }, io);
    }
    case 'verify': {
      const parsed = parseCommandArgs(io, command, args, { since: { type: 'string' }, until: { type: 'string' }, repair: { type: 'boolean' } }, 1);
      if (!parsed) return 2;
      const config = loadOrchardConfig(env, cwd, { onlyConnector: parsed.positionals[0] });
      const { since, until, repair } = parsed.values as { since?: string; until?: string; repair?: boolean };
      return await verifyCommand(config, cliLogger(config), { name: parsed.positionals[0], since, until, repair }, io, stop());
    }
    case 'jamf-webhooks': {
      const parsed = parseCommandArgs(io, command, args, { events: { type: 'string' }, 'smart-group-id': { type: 'string' } }, 2);
      if (!parsed) return 2;
      const config = loadOrchardConfig(env, cwd, { onlyConnector: parsed.positionals[1] });
      const options = { action: parsed.positionals[0], name: parsed.positionals[1], events: parsed.values.events as string | undefined, smartGroupId: parsed.values['smart-group-id'] as string | undefined };
      return await jamfWebhooksCommand(config, options, io, stop());
    }
    case 'consume': {
      const config = loadOrchardConfig(env, cwd);
      const logger = cliLogger(config);
      // Taken before Redis is reached: a Ctrl-C while connecting ends the command as well.
      const stopped = stop(true);
      const out = { out: waitingWriter(process.stdout), err: io.err };
      return await withCliRedis(config, logger, (redis, target) => consumeCommand(args, out, redis, () => createRedis(target, logger), { stream: config.stream, signal: stopped, logger }));
    }
    case 'import': {
      // Usage errors first: they need neither the configuration nor Redis.
      if (!parseImportArgs(args, io)) return 2;
      const config = loadOrchardConfig(env, cwd);
      const logger = cliLogger(config);
      const stopped = stop(true);
      return await withCliRedis(config, logger, (redis) =>
        importCommand(args, io, redis, {
          stream: config.stream,
          rejectedStream: config.rejectedStream,
          rejectedStreamMaxLen: config.rejectedStreamMaxLen,
          signal: stopped,
          logger,
          tty: process.stderr.isTTY === true,
          waitReplicas: config.redisWaitReplicas,
          waitTimeoutMs: config.redisWaitTimeoutMs,
        }),
      );
    }
    case 'top': {
      const parsed = parseCommandArgs(io, command, args, { url: { type: 'string' }, interval: { type: 'string' } }, 0);
      if (!parsed) return 2;
      return await topCommand({ url: parsed.values.url as string | undefined, interval: parsed.values.interval as string | undefined }, io, () => loadOrchardConfig(env, cwd));
    }
  }
}

/** `orchard help [command]`. */
function help(args: string[], io: CommandIo): number {
  const topic = args[0];
  if (topic === undefined || topic.startsWith('-')) io.out(`${overviewText()}\n`);
  else if (isCommand(topic)) io.out(`${commandText(topic)}\n`);
  else return unknownCommand(topic, io);
  return 0;
}

function unknownCommand(name: string, io: CommandIo): number {
  const near = closestName(name, Object.keys(commandHelp));
  io.err(`orchard: unknown command "${name}"${near ? ` (did you mean ${near}?)` : ''}.\n\n${overviewText()}\n`);
  return 2;
}

/** `scheme://user:password@` → `scheme://***@` wherever it appears. */
export function maskUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@'"]*@/gi, '$1***@');
}

/**
 * Runs one `orchard` command; returns the process exit code: 0 done, 1 failed, 2 usage or
 * configuration error. No argument is `serve`; an option where a command belongs is a usage error,
 * never a start of the server. `context`: the process's own environment, directory and output unless
 * given (serve always runs on the process's own).
 */
export async function main(argv: string[], context: CommandContext = { env: process.env, cwd: process.cwd(), io: processIo }): Promise<number> {
  const { io } = context;
  const [first, ...rest] = argv;
  if (first === '--version' || first === '-v' || first === '-V' || first === 'version') {
    io.out(`${versionText()}\n`);
    return 0;
  }
  if (first === '--help' || first === '-h') {
    io.out(`${overviewText()}\n`);
    return 0;
  }
  if (first !== undefined && first.startsWith('-')) {
    io.err(`orchard: unknown option "${first}": give a command first.\n\n${overviewText()}\n`);
    return 2;
  }
  const command = first ?? 'serve';
  if (!isCommand(command)) return unknownCommand(command, io);
  if (command !== 'help' && (rest.includes('--help') || rest.includes('-h'))) {
    io.out(`${commandText(command)}\n`);
    return 0;
  }
  try {
    return await run(command, rest, context);
  } catch (err) {
    if (err instanceof ConfigInvalidError) {
      io.err(`orchard: ${err.message}\n`);
      return 2;
    }
    if (err instanceof OrchardError) {
      io.err(`orchard: ${err.message}\n`);
      return 1;
    }
    // Unexpected: the stack helps, but credentials inside a URL must not reach the terminal or a log.
    io.err(`orchard: unexpected error: ${maskUrlCredentials(String((err as Error)?.stack ?? err))}\n`);
    return 1;
  }
}
