import type { Logger } from 'pino';
import type { Config } from '../config/config-types.ts';
import { ConnectorStateStore } from '../connector-state/connector-state-store.ts';
import { WindowVerifier, type WindowCheck } from '../connectors/window-verifier.ts';
import { createSource } from '../sources/index.ts';
import { findConnector, type CommandIo } from './checkpoint-command.ts';
import { withCliRedis } from './cli-redis.ts';

// `orchard verify <connector> --since T [--until T] [--repair]` (docs/completeness.md): the window
// verification a running connector does after its runs, on demand over a past range. Each closed window
// of the range (per organization and service group) is counted by the vendor and compared with what the
// stream holds of it; with --repair a short window is read again and what the stream lacks is appended
// (once: the window's id set tells), then counted again. Safe beside a running Orchard: a repair appends
// an id only when the window's id set does not hold it, in one step.

export interface VerifyArgs {
  readonly name?: string;
  readonly since?: string;
  readonly until?: string;
  readonly repair?: boolean;
}

const usage = 'Usage: orchard verify <connector> --since TIME [--until TIME] [--repair]\n';

function parseTime(flag: string, text: string, io: CommandIo): number | undefined {
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(ms)) {
    io.err(`${flag} ${text}: not a time; give an RFC 3339 time such as 2026-11-01T00:00:00Z.\n`);
    return undefined;
  }
  return ms;
}

const columns = ['window start', 'window end', 'org', 'service', 'vendor', 'stream', 'recovered', 'result'] as const;

function row(check: WindowCheck): string[] {
  const now = check.after ?? check;
  return [check.start, check.end, check.org === '' ? '-' : check.org, check.service, String(now.vendor), String(now.appended), String(check.recovered), check.result];
}

/** The rows as a table, each column as wide as its widest cell. */
function table(rows: readonly string[][]): string {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

/** Exit 0 when every window holds the vendor's count (after repair), 1 when one is short, 2 for a usage error. */
export async function verifyCommand(config: Config, logger: Logger, args: VerifyArgs, io: CommandIo, signal: AbortSignal = new AbortController().signal): Promise<number> {
  if (args.since === undefined) {
    io.err(`--since is required.\n${usage}`);
    return 2;
  }
  const sinceMs = parseTime('--since', args.since, io);
  const untilArg = args.until === undefined ? undefined : parseTime('--until', args.until, io);
  if (sinceMs === undefined || (args.until !== undefined && untilArg === undefined)) return 2;
  const connector = findConnector(config, args.name, io);
  if (!connector) return 2;
  const { source } = createSource(connector, config);
  try {
    const counting = source.windows;
    if (!counting) {
      io.err(
        `${connector.name} (${connector.type}) has no windows to verify: windows are counted for jumpcloud.directory_insights connectors (unless verify_after is off). ` +
          'An inventory checks each scan against the totalCount Jamf Pro gives (/status: lastScan).\n',
      );
      return 2;
    }
    // Windows still open (or not yet settled) are left to the running connector.
    const settledMs = Date.now() - counting.settleMs;
    const untilMs = Math.min(untilArg ?? settledMs, settledMs);
    if (untilMs <= sinceMs) {
      io.err(`No closed window between ${new Date(sinceMs).toISOString()} and ${new Date(untilMs).toISOString()}: a window is verified once its end is ${Math.round(counting.settleMs / 60_000)} min old (lag plus verify_after).\n`);
      return 2;
    }
    return await withCliRedis(config, logger, async (redis) => {
      const state = new ConnectorStateStore(redis, config.stream);
      const verifier = new WindowVerifier({ connector: connector.name, counting, store: state.windows(), logger });
      // A window the connector's runs will read again (a connector behind) is not re-pulled: it is theirs.
      const cursor = (await state.read(connector.name)).checkpoint?.cursor ?? undefined;
      // The windows that hold --since and those after it, up to the last that ends by --until.
      const windows = (await verifier.windowsIn(sinceMs, untilMs)).filter((w) => Date.parse(w.end) <= untilMs);
      const rows: string[][] = [];
      let short = 0;
      let behind = 0;
      for (const window of windows) {
        if (signal.aborted) break;
        const passed = Date.parse(window.end) <= (counting.passedBefore(cursor, window.org) ?? Number.NEGATIVE_INFINITY);
        const check = await verifier.check(window, args.repair === true && passed, signal);
        if (args.repair === true && !passed && check.result === 'short') behind += 1;
        if (check.result === 'short' || check.result === 'unrepairable') short += 1;
        rows.push(row(check));
      }
      io.out(table(rows));
      const repaired = rows.filter((r) => r[7] === 'repaired').length;
      io.out(`${windows.length} window(s) of ${connector.name}: ${windows.length - short - repaired} verified, ${repaired} repaired, ${short} short${short > 0 && args.repair !== true ? ' (--repair re-pulls them)' : ''}.\n`);
      if (behind > 0) io.out(`${behind} short window(s) were not re-pulled: the connector's runs have not read past them yet and will read them again.\n`);
      return short > 0 ? 1 : 0;
    });
  } finally {
    await source.close();
  }
}
