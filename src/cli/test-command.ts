import type { Config } from '../config/config-types.ts';
import { diagnoseConnector } from '../connectors/diagnosis.ts';
import { createSource } from '../sources/index.ts';
import { findConnector, type CommandIo } from './checkpoint-command.ts';

/**
 * `orchard test <connector>`: credentials and permissions, then a one-page dry run that writes
 * nothing; a failure is printed with its cause and remedy. Exit 0 when both steps pass.
 */
export async function testCommand(config: Config, name: string | undefined, io: CommandIo, signal: AbortSignal = new AbortController().signal): Promise<number> {
  const connector = findConnector(config, name, io);
  if (!connector) return 2;
  if (!connector.enabled) io.out(`Note: ${connector.name} has enabled: false; serve does not run it. Testing it anyway.\n`);
  const { source, info } = createSource(connector, config, {
    onAttempt: (a) => {
      if (a.status !== undefined && a.status < 400) return;
      io.out(`  ...   ${a.method} ${a.path}: ${a.status === undefined ? a.error ?? 'failed' : `HTTP ${a.status}`} after ${Math.round(a.durationMs)} ms (attempt ${a.attempt} of ${connector.maxAttempts}; timeout_ms ${connector.timeoutMs})\n`);
    },
  });
  io.out(`Testing ${connector.name} (${connector.type}) at ${connector.baseUrl}\n`);
  let step = 'credentials and permissions';
  try {
    const access = await source.checkAccess(signal);
    io.out(`  ok    ${step}: ${access}\n`);
    step = 'one-page dry run';
    const page = await source.fetchPage(undefined, { since: connector.start, receivedMs: Date.now(), signal });
    const appendable = page.records.filter((r) => r.append !== false);
    io.out(`  ok    ${step}: ${page.received} received, ${appendable.length} record(s) made from the first page, as a first run would make them${page.more ? ' (more pages follow)' : ''}; a run appends only those its checkpoint has not seen.\n`);
    for (const warning of page.warnings ?? []) io.out(`  warn  ${warning}\n`);
    const first = appendable[0]?.record;
    if (first) io.out(`        first record: id ${first.id}, type ${first.type}, time ${first.time}, indicators ${first.indicators}\n`);
    io.out('Nothing was written.\n');
    return 0;
  } catch (err) {
    if (signal.aborted) {
      io.out('Interrupted; nothing was written.\n');
      return 130;
    }
    const d = diagnoseConnector(err, connector, info);
    io.out(`  FAIL  ${step}: ${(err as Error)?.message ?? String(err)}\n`);
    io.out(`        diagnosis: ${d.category}${d.status ? ` (HTTP ${d.status})` : ''}\n        cause: ${d.cause}\n        remedy: ${d.remedy}\n`);
    return 1;
  } finally {
    await source.close();
  }
}
