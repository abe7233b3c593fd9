// `npm run demo`: starts Orchard in-process with its own redis-server, posts every Jamf Pro webhook
// sample in test/fixtures over real HTTP, prints what landed in the stream, and stops. It doubles as a
// smoke check: the exit code is 0 only when every valid webhook was answered 202 and is in the stream
// exactly once, byte for byte. `npm run demo -- --keep` leaves Orchard running until Ctrl-C so the
// printed curl and redis-cli commands can be tried against it.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { startOrchard, type RunningOrchard } from '../src/main.ts';
import { MockJamfPro } from '../test/mocks/jamf-pro-server.ts';
import { MockJamfProtect } from '../test/mocks/jamf-protect-server.ts';

/** Printed so it can be reused with curl; printable ASCII, no spaces or commas, at least 16 characters. */
const demoSecret = 'orchard-demo-secret-0123456789';
const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const fixturesDir = join(repoRoot, 'test/fixtures/jamf_pro');
const templatesDir = join(fixturesDir, 'webhook-templates-camelcase');
const realBodiesDir = join(fixturesDir, 'events');
const readyTimeoutMs = 10_000;

interface Sample {
  /** Which group of samples it belongs to, for the summary. */
  readonly group: string;
  /** Where the bytes came from, for messages. */
  readonly origin: string;
  readonly raw: Buffer;
  readonly id: string;
}

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

const sha256 = (raw: Buffer) => createHash('sha256').update(raw).digest('hex');
const sample = (group: string, origin: string, raw: Buffer): Sample => ({ group, origin, raw, id: sha256(raw) });
const rel = (file: string) => relative(repoRoot, file);
const say = (line = '') => process.stdout.write(`${line}\n`);

function loadSamples(): Sample[] {
  const samples: Sample[] = [];
  for (const name of readdirSync(templatesDir).filter((n) => n.endsWith('.json')).sort()) {
    const file = join(templatesDir, name);
    samples.push(sample('templates', rel(file), readFileSync(file)));
  }
  // Jamf documents the DeviceRateLimited event but not its payload: the envelope with an empty event.
  const rateLimited = { webhook: { id: 1, name: 'Orchard demo', webhookEvent: 'DeviceRateLimited', eventTimestamp: Date.now() }, event: {} };
  samples.push(sample('built', 'DeviceRateLimited, built by the demo', Buffer.from(JSON.stringify(rateLimited))));
  for (const name of readdirSync(realBodiesDir).filter((n) => n.endsWith('.log')).sort()) {
    const file = join(realBodiesDir, name);
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.trim() !== '') samples.push(sample('real', `${rel(file)}:${i + 1}`, Buffer.from(line, 'utf8')));
      });
  }
  return samples;
}

async function post(orchard: RunningOrchard, raw: Buffer, headers: Record<string, string>, path = orchard.config.webhookPath): Promise<Answer> {
  const res = await request(`${orchard.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: raw,
  });
  const text = await res.body.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.statusCode, body };
}

async function getJson(url: string): Promise<Answer> {
  const res = await request(url);
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

/**
 * startOrchard resolves while its Redis connection may still be coming up (a webhook in that moment is
 * answered 503): wait for the connection, then ask /readyz as a load balancer would.
 */
async function waitUntilReady(orchard: RunningOrchard): Promise<Answer> {
  const deadline = Date.now() + readyTimeoutMs;
  if (orchard.redis.status !== 'ready') {
    await once(orchard.redis, 'ready', { signal: AbortSignal.timeout(readyTimeoutMs) }).catch(() => {});
  }
  for (;;) {
    const answer = await getJson(`${orchard.url}/readyz`);
    if (answer.status === 200 || Date.now() > deadline) return answer;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `ip=10.0.0.1 username=admin,root …` from the stream's indicators field. */
function formatIndicators(json: string | undefined): string {
  if (!json) return '(none)';
  const indicators = JSON.parse(json) as Record<string, string[]>;
  const parts = Object.entries(indicators).map(([kind, values]) => `${kind}=${values.join(',')}`);
  return parts.length === 0 ? '(none)' : parts.join(' ');
}

const fieldsOf = (flat: string[]) => {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fields;
};

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

interface DemoConnectorStatus {
  name: string;
  state: string;
  totals: { runs: number };
  lastRun: { outcome: string; pages: number; requests: number; received: number; duplicates: number; appended: number; eventsPerSecond: number; durationMs: number } | null;
  lastError: { message: string } | null;
}

async function connectorStatus(orchard: RunningOrchard, runs: number, name = 'demo-jamf'): Promise<DemoConnectorStatus> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const c = ((await getJson(`${orchard.url}/status`)).body.connectors as (DemoConnectorStatus & { name: string })[]).find((x) => x.name === name)!;
    if ((c.totals.runs >= runs && c.lastRun?.outcome !== 'running') || Date.now() > deadline) return c;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pull part: the connector configured on the mock Jamf Pro loads the fleet, then appends only what changed. */
async function pullDemo(orchard: RunningOrchard, mock: MockJamfPro, check: (ok: boolean, problem: string) => void): Promise<void> {
  const { config } = orchard;
  const connector = config.connectors[0]!;
  say(`Pull: connector ${connector.name} (${connector.type}) reads ${mock.url}, a mock Jamf Pro with ${mock.computers().length} computers, every ${connector.intervalMs / 1000} s.`);
  const line = (s: DemoConnectorStatus) =>
    s.lastRun
      ? `${s.lastRun.outcome}: ${s.lastRun.pages} pages, ${s.lastRun.requests} requests, ${s.lastRun.received} received, ${s.lastRun.duplicates} duplicates, ${s.lastRun.appended} appended in ${s.lastRun.durationMs} ms`
      : `no run yet (${s.state}${s.lastError ? `: ${s.lastError.message}` : ''})`;
  const first = await connectorStatus(orchard, 1);
  say(`  run 1  ${line(first)}`);
  // Each scan ends with one snapshot marker (docs/completeness.md): the computers and the marker.
  check(first.lastRun?.appended === mock.computers().length + 1, `the first run appended ${first.lastRun?.appended ?? 0} records, expected ${mock.computers().length} computers and the scan's snapshot marker`);
  const changed = mock.touch(['3', '42', '250']);
  say(`  Jamf Pro receives new inventory reports from computers 3, 42 and 250 (report dates ${changed.join(', ')}).`);
  const second = await connectorStatus(orchard, 2);
  say(`  run 2  ${line(second)}`);
  check(second.lastRun?.appended === 4, `the second run appended ${second.lastRun?.appended ?? 0} records, expected exactly the 3 computers that changed and the scan's snapshot marker`);
  const pulled = (await orchard.redis.xrange(config.stream, '-', '+')).map(([, flat]) => fieldsOf(flat)).filter((f) => f.source === 'jamf_pro.inventory');
  const inventory = pulled.filter((f) => f.type === 'computer');
  const snapshots = pulled.filter((f) => f.type === 'snapshot');
  check(snapshots.length === 2, `${snapshots.length} snapshot markers in the stream, expected one per scan (2)`);
  if (snapshots.length > 0) say(`  each scan ends with a snapshot marker: ${snapshots.at(-1)!.payload}`);
  check(inventory.length === mock.computers().length + 3 && new Set(inventory.map((f) => f.id)).size === inventory.length, `${inventory.length} inventory records in the stream, expected ${mock.computers().length + 3}, all distinct`);
  const sample = inventory.at(-1);
  if (sample) say(`  latest record: id ${sample.id}  time ${sample.time}  indicators ${formatIndicators(sample.indicators)}`);
  const cli = `ORCHARD_CONFIG=${shellQuote(config.configFile ?? '')} DEMO_JAMF_CLIENT_SECRET=orchard-test-secret ORCHARD_DATA_DIR=${shellQuote(config.dataDir)}`;
  say(`  While it runs (npm run demo -- --keep): ${cli} npx orchard test ${connector.name}`);
  say(`                                     and: ${cli} npx orchard checkpoint show ${connector.name}`);
  say();
}

/**
 * Jamf Protect both ways, then logs: the agents push the 11 real alerts as one batch; the API then
 * lists them too (with 40 alerts only the API has), and the next pull appends only those 40. Then the real
 * access-log and change-management lines are posted to the logs route.
 */
async function protectAndLogsDemo(orchard: RunningOrchard, protect: MockJamfProtect, check: (ok: boolean, problem: string) => void): Promise<void> {
  const { config } = orchard;
  const auth = { [config.webhookHeader]: demoSecret };
  const alertLines = readFileSync(join(repoRoot, 'test/fixtures/jamf_protect/alerts/test-jamf-protect-alerts-sample-logs.log'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  const distinct = new Map(alertLines.map((l) => [(JSON.parse(l) as { input: { match: { uuid: string } } }).input.match.uuid, l]));
  say(`Jamf Protect: the agents post ${plural(alertLines.length, 'real alert')} (${distinct.size} distinct) as one newline-delimited batch to ${config.protectPath} …`);
  const pushed = await post(orchard, Buffer.from(alertLines.join('\n')), { ...auth, 'content-type': 'application/x-ndjson' }, config.protectPath);
  say(`  ${pushed.status}  appended ${pushed.body.appended}, duplicates ${pushed.body.duplicates}, rejected ${(pushed.body.rejected as unknown[] | undefined)?.length ?? '?'} — all in one atomic step`);
  check(pushed.status === 202 && pushed.body.appended === distinct.size, `the alert batch was answered ${pushed.status} ${JSON.stringify(pushed.body).slice(0, 200)}, expected 202 with ${distinct.size} appended`);

  const before = (await connectorStatus(orchard, 1, 'demo-protect')).totals.runs;
  const now = Date.now();
  protect.addAlerts([...distinct.values()].map((text, i) => protect.alertFromDocument(text, now - 60_000 + i)));
  protect.addAlerts(protect.generateAlerts({ count: 40, seed: 7, fromMs: now - 3_600_000, toMs: now - 120_000 }));
  say(`  The Jamf Protect API (a mock at ${protect.url}) now lists those ${distinct.size} alerts and ${protect.alerts.length - distinct.size} more that were never pushed; connector demo-protect pulls every 2 s.`);
  const s = await connectorStatus(orchard, before + 1, 'demo-protect');
  const last = s.lastRun;
  say(`  pull   ${last ? `${last.outcome}: ${plural(last.pages, 'page')}, ${last.received} received, ${last.duplicates} duplicates (the pushed ones), ${last.appended} appended` : `no run (${s.state})`}`);
  check(last?.duplicates === distinct.size && last?.appended === protect.alerts.length - distinct.size, `the pull after the push counted ${last?.duplicates} duplicates and appended ${last?.appended}, expected ${distinct.size} and ${protect.alerts.length - distinct.size}`);
  const alerts = (await orchard.redis.xrange(config.stream, '-', '+')).map(([, flat]) => fieldsOf(flat)).filter((f) => f.source === 'jamf_protect.alerts');
  const ids = new Set(alerts.map((f) => f.id));
  check(alerts.length === protect.alerts.length && ids.size === alerts.length, `${alerts.length} Jamf Protect alerts in the stream (${ids.size} distinct), expected ${protect.alerts.length}, each once`);
  say(`  ${config.stream} holds ${plural(alerts.length, 'Jamf Protect alert')}, each once, whichever way it came.`);
  const example = alerts.find((f) => f.connector === 'webhook');
  if (example) say(`  e.g. ${example.type}  id ${example.id}  time ${example.time}  indicators ${formatIndicators(example.indicators)}`);
  say();

  const access = readFileSync(join(fixturesDir, 'access/test-access.log'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  const changes = (JSON.parse(readFileSync(join(fixturesDir, 'change_management/test-change-management.json'), 'utf8')) as { events: { event: { original: string } }[] }).events.map((e) => e.event.original);
  say(`Jamf Pro logs: ${plural(access.length, 'access-log line')} and ${plural(changes.length, 'change-management line')}, as Log Stream delivers them, to ${config.logsPath} …`);
  const logs = await post(orchard, Buffer.from([...access, ...changes].join('\n')), { ...auth, 'content-type': 'application/x-ndjson' }, config.logsPath);
  say(`  ${logs.status}  appended ${logs.body.appended}, rejected ${(logs.body.rejected as unknown[] | undefined)?.length ?? '?'}`);
  check(logs.status === 202 && logs.body.appended === access.length + changes.length, `the log batch was answered ${logs.status} ${JSON.stringify(logs.body).slice(0, 200)}`);
  const login = (await orchard.redis.xrange(config.stream, '-', '+')).map(([, flat]) => fieldsOf(flat)).find((f) => f.source === 'jamf_pro.login');
  if (login) say(`  e.g. ${login.type}  time ${login.time}  payload ${login.payload}`);
  say();
}

async function run(orchard: RunningOrchard, dataDir: string, keep: boolean, mock?: MockJamfPro, protect?: MockJamfProtect): Promise<boolean> {
  const { config } = orchard;
  const failures: string[] = [];
  const check = (ok: boolean, problem: string) => {
    if (!ok) failures.push(problem);
  };

  const ready = await waitUntilReady(orchard);
  const status = await getJson(`${orchard.url}/status`);
  const redisEndpoint = String((status.body.redis as { endpoint?: string } | undefined)?.endpoint ?? '');
  const redisCli = redisEndpoint.startsWith('unix:')
    ? `redis-cli -s ${shellQuote(redisEndpoint.slice('unix:'.length))}`
    : `redis-cli -u ${shellQuote(redisEndpoint)}`;
  say(`  listening  ${orchard.url}   webhooks: POST ${config.webhookPath}   health: /healthz /readyz /status /metrics`);
  say(`  redis      ${redisEndpoint}   (embedded, append-only, fsync ${config.redisAppendfsync})`);
  say(`  secret     header ${config.webhookHeader}: ${demoSecret}`);
  say(`  ready      GET /readyz → ${ready.status} ${JSON.stringify(ready.body)}`);
  say();
  if (ready.status !== 200) {
    failures.push(`Orchard did not become ready within ${readyTimeoutMs} ms`);
    return report(failures);
  }

  // 1. Every sample once. The first copy of a body must be answered 202; a byte-identical copy (none
  //    today, but fixtures change) would rightly be a duplicate, 200.
  const samples = loadSamples();
  const auth = { [config.webhookHeader]: demoSecret };
  const statusCounts = new Map<string, number>();
  const count = (label: string) => statusCounts.set(label, (statusCounts.get(label) ?? 0) + 1);
  const expected = new Map<string, { sample: Sample; entry: string }>();
  const groups = new Map<string, { posted: number; accepted: number }>();
  say(`Posting ${plural(samples.length, 'Jamf Pro webhook')} to ${orchard.url}${config.webhookPath} …`);
  for (const s of samples) {
    const answer = await post(orchard, s.raw, auth);
    const group = groups.get(s.group) ?? { posted: 0, accepted: 0 };
    groups.set(s.group, group);
    group.posted++;
    const wanted = expected.has(s.id) ? 200 : 202;
    count(String(answer.status));
    if (answer.status === wanted && answer.body.id === s.id && typeof answer.body.entry === 'string') {
      if (wanted === 202) {
        group.accepted++;
        expected.set(s.id, { sample: s, entry: answer.body.entry });
      }
    } else {
      say(`  ✗ ${answer.status} ${s.origin}: ${JSON.stringify(answer.body)}`);
      failures.push(`${s.origin} was answered ${answer.status}, expected ${wanted} with its id`);
    }
  }
  const describeGroup = (key: string, label: string) => {
    const g = groups.get(key) ?? { posted: 0, accepted: 0 };
    const answered = g.accepted === g.posted ? `${g.posted} × 202` : `${g.accepted} of ${g.posted} × 202`;
    say(`  ${answered.padStart(8)}  ${label}`);
  };
  describeGroup('templates', `one template per event type: ${rel(templatesDir)}/*.json`);
  describeGroup('built', 'DeviceRateLimited, built here: its payload is undocumented, so "event": {}');
  describeGroup('real', `real webhook bodies: ${rel(realBodiesDir)}/*.log, one per line`);
  say('  202 Accepted = Redis acknowledged the append; the answer is {id: sha256 of the body, entry: stream entry id}.');
  say();

  // 2. The other answers: a duplicate, a schema error, a request without the secret.
  say('Three more requests show the other answers:');
  const first = samples[0]!;
  const again = await post(orchard, first.raw, auth);
  count(String(again.status));
  const firstEntry = expected.get(first.id)?.entry;
  const shortId = typeof again.body.id === 'string' ? `${again.body.id.slice(0, 12)}…` : again.body.id;
  say(`  ${again.status}  the same ${basename(first.origin)} again → ${JSON.stringify({ ...again.body, id: shortId })}`);
  say('       a duplicate: the id and entry of the first append; nothing new in the stream');
  check(again.status === 200 && again.body.id === first.id && again.body.entry === firstEntry && again.body.duplicate === true, `posting ${first.origin} again was answered ${again.status} ${JSON.stringify(again.body)}, expected 200 with the first id and entry`);

  const invalid = JSON.parse(readFileSync(join(templatesDir, 'ComputerAdded.json'), 'utf8')) as { event: Record<string, unknown> };
  invalid.event.jssID = { id: 999 };
  const invalidRaw = Buffer.from(JSON.stringify(invalid));
  const rejected = await post(orchard, invalidRaw, auth);
  count(String(rejected.status));
  say(`  ${rejected.status}  ComputerAdded with "jssID": {"id": 999} (the schema wants an integer or a string)`);
  say(`       ${rejected.body.code}: ${rejected.body.message}`);
  say(`       the body is kept in ${config.rejectedStream} with that reason`);
  check(rejected.status === 400 && rejected.body.code === 'ORCHARD_ERR_INTAKE_SCHEMA', `the schema error was answered ${rejected.status} ${JSON.stringify(rejected.body)}, expected 400 ORCHARD_ERR_INTAKE_SCHEMA`);

  const anonymousRaw = Buffer.from(JSON.stringify({ webhook: { id: 2, name: 'no secret', webhookEvent: 'JSSStartup', eventTimestamp: Date.now() }, event: {} }));
  const anonymous = await post(orchard, anonymousRaw, {});
  count(String(anonymous.status));
  say(`  ${anonymous.status}  a JSSStartup body without the ${config.webhookHeader} header`);
  say(`       ${anonymous.body.code}: ${anonymous.body.message} Not stored anywhere.`);
  check(anonymous.status === 401 && anonymous.body.code === 'ORCHARD_ERR_INTAKE_UNAUTHORIZED', `the request without a secret was answered ${anonymous.status}, expected 401`);
  say();

  // 3. What landed.
  const entries = (await orchard.redis.xrange(config.stream, '-', '+')).filter(([, flat]) => fieldsOf(flat).source === 'jamf_pro.events');
  const rejectedEntries = await orchard.redis.xrange(config.rejectedStream, '-', '+');
  say(`What landed in ${config.stream} (XRANGE ${config.stream} - +):`);
  const typeWidth = Math.max(4, ...entries.map(([, flat]) => (fieldsOf(flat).type ?? '').length));
  const entryWidth = Math.max(8, ...entries.map(([entry]) => entry.length));
  say(`  ${'entry id'.padEnd(entryWidth)}  ${'type'.padEnd(typeWidth)}  ${'time'.padEnd(24)}  indicators`);
  const seen = new Map<string, number>();
  for (const [entry, flat] of entries) {
    const f = fieldsOf(flat);
    say(`  ${entry.padEnd(entryWidth)}  ${(f.type ?? '').padEnd(typeWidth)}  ${(f.time ?? '').padEnd(24)}  ${formatIndicators(f.indicators)}`);
    const id = f.id ?? '';
    seen.set(id, (seen.get(id) ?? 0) + 1);
    const want = expected.get(id);
    if (!want) {
      failures.push(`stream entry ${entry} (${f.type}) is not one of the accepted webhooks`);
      continue;
    }
    check(want.entry === entry, `${want.sample.origin} was answered with entry ${want.entry} but is stored as ${entry}`);
    check(f.payload === want.sample.raw.toString('utf8'), `${want.sample.origin}: the stored payload differs from the bytes posted`);
    check(f.v === '1' && f.source === 'jamf_pro.events' && f.connector === 'webhook', `entry ${entry}: v/source/connector are ${f.v}/${f.source}/${f.connector}`);
  }
  say('  (the templates carry placeholder values such as "string"; the .log bodies are real ones)');
  for (const [id, { sample: s }] of expected) {
    const n = seen.get(id) ?? 0;
    check(n === 1, `${s.origin} is in the stream ${n} times, expected once`);
  }
  check(!seen.has(sha256(invalidRaw)) && !seen.has(sha256(anonymousRaw)), 'a refused body is in the events stream');
  const keptReject = rejectedEntries.map(([, flat]) => fieldsOf(flat));
  check(keptReject.length === 1 && keptReject[0]!.payload === invalidRaw.toString('utf8'), `${config.rejectedStream} holds ${keptReject.length} entries, expected only the 400 body`);
  check(!keptReject.some((r) => r.payload === anonymousRaw.toString('utf8')), 'the 401 body was stored');
  if (keptReject[0]) {
    const reason = JSON.parse(keptReject[0].reason ?? '{}') as { code?: string; details?: { path: string; message: string }[] };
    say();
    say(`And in ${config.rejectedStream}: 1 entry, reason ${reason.code}: ${(reason.details ?? []).map((d) => `${d.path} ${d.message}`).join('; ')}`);
  }
  say();

  // 4. The pull side.
  if (mock) await pullDemo(orchard, mock, check);
  if (protect) await protectAndLogsDemo(orchard, protect, check);

  // 5. Summary.
  const posted = [...statusCounts.values()].reduce((a, b) => a + b, 0);
  const statusNames: Record<string, string> = { '200': 'duplicate', '202': 'Accepted', '400': 'rejected', '401': 'unauthorized' };
  const statusLine = [...statusCounts.entries()]
    .sort(([a], [b]) => (a === '202' ? -1 : b === '202' ? 1 : a.localeCompare(b)))
    .map(([code, n]) => `${n} × ${code}${statusNames[code] ? ` ${statusNames[code]}` : ''}`)
    .join(', ');
  say('Summary');
  say(`  posted     ${plural(posted, 'request')}: ${statusLine}`);
  say(`  events     ${config.stream} holds ${plural(entries.length, 'webhook entry', 'webhook entries')} for ${plural(expected.size, 'distinct valid webhook')} (${new Set(entries.map(([, f]) => fieldsOf(f).type)).size} event types)`);
  say(`  rejected   ${config.rejectedStream} holds ${plural(rejectedEntries.length, 'entry', 'entries')} (the 400; the 401 is never stored)`);
  say();

  const curlBody = rel(join(templatesDir, 'ComputerAdded.json'));
  const curl = (url: string) =>
    `curl -i ${url}${config.webhookPath} -H 'Content-Type: application/json' -H ${shellQuote(`${config.webhookHeader}: ${demoSecret}`)} --data-binary @${curlBody}`;
  say('Try it yourself');
  if (keep) {
    say(`  This Orchard keeps running (data in ${dataDir}); Ctrl-C stops it and removes that directory.`);
    say(`  curl ${orchard.url}/status`);
    say(`  ${curl(orchard.url)}`);
    say('      → 200 duplicate: the demo posted that file already; change any byte and it is appended (202)');
    say(`  ${redisCli} XLEN ${config.stream}`);
    say(`  ${redisCli} XREVRANGE ${config.stream} + - COUNT 1`);
    say(`  ${redisCli} XRANGE ${config.rejectedStream} - +`);
  } else {
    const localSocket = resolve(repoRoot, 'data/redis/redis.sock');
    say('  Start a lasting Orchard on port 9202 (its own redis-server, data in ./data):');
    say(`    HOST=127.0.0.1 ORCHARD_WEBHOOK_SECRETS=${demoSecret} npm start`);
    say('  then, from another terminal in this directory:');
    say(`    ${curl('http://127.0.0.1:9202')}`);
    say(`    redis-cli -s ${shellQuote(localSocket)} XREVRANGE ${config.stream} + - COUNT 1`);
    say('  In Jamf Pro, choose Header Authentication and paste:');
    say(`    {"${config.webhookHeader}":"${demoSecret}"}   (use a secret of your own in production)`);
    say('  Or keep this demo instance running to poke at it: npm run demo -- --keep');
  }
  say();
  return report(failures);
}

function report(failures: string[]): boolean {
  if (failures.length === 0) {
    say('Result: OK: every valid webhook, alert and log line was answered 202 and is in the stream exactly once.');
    return true;
  }
  say(`Result: FAILED (${plural(failures.length, 'problem')}):`);
  for (const f of failures) say(`  - ${f}`);
  return false;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { keep: { type: 'boolean', default: false } } });
  const dataDir = mkdtempSync(join(tmpdir(), 'orchard-demo-'));
  const mock = await MockJamfPro.start({ computers: 500 });
  // The Jamf Protect API starts empty: the demo pushes alerts first, then the API lists them too.
  const protect = new MockJamfProtect({ seed: 7 });
  await protect.start();
  const removeDataDir = () => {
    rmSync(dataDir, { recursive: true, force: true });
    void mock.close();
    void protect.close();
  };
  const configFile = join(dataDir, 'orchard.yml');
  writeFileSync(
    configFile,
    stringify({
      connectors: [
        { name: 'demo-jamf', type: 'jamf_pro.inventory', tenant: 'demo', base_url: mock.url, client_id: 'orchard-test-client', client_secret: '${DEMO_JAMF_CLIENT_SECRET}', interval: '2s', page_size: 100 },
        { name: 'demo-protect', type: 'jamf_protect.alerts', tenant: 'demo', base_url: protect.url, client_id: 'orchard-test-protect-client', password: '${DEMO_PROTECT_PASSWORD}', interval: '2s' },
      ],
    }),
  );
  // Only what the demo means: an inherited REDIS_URL or ORCHARD_CONFIG would change what it shows.
  const env: NodeJS.ProcessEnv = {
    ORCHARD_DATA_DIR: dataDir,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    ORCHARD_WEBHOOK_SECRETS: demoSecret,
    ORCHARD_CONFIG: configFile,
    DEMO_JAMF_CLIENT_SECRET: 'orchard-test-secret',
    DEMO_PROTECT_PASSWORD: 'orchard-test-protect-password',
  };

  let orchard: RunningOrchard | undefined;
  /** Undefined while the demo runs; then whether every check passed. */
  let ok: boolean | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await orchard?.close().catch((err: unknown) => say(`Shutdown failed: ${(err as Error).message}`));
      removeDataDir();
    })());
  // Ctrl-C (or SIGTERM) at any moment: stop Orchard gracefully, remove the directory, and exit. During
  // start-up it is noted, and acted on as soon as startOrchard returns.
  let interruptedDuringStart = false;
  const onSignal = () => {
    if (orchard === undefined) {
      interruptedDuringStart = true;
      return;
    }
    const code = ok === undefined ? 130 : ok ? 0 : 1;
    say(ok === undefined ? '\nInterrupted: stopping Orchard …' : '\nStopping Orchard …');
    void stop().then(() => {
      say('Orchard stopped; the temporary directory is removed.');
      process.exit(code);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const removeSignalHandlers = () => {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  };

  say('Orchard demo');
  say(`Starting Orchard with its own redis-server (REDIS_URL is unset) under ${dataDir} …`);
  try {
    // Log lines (warnings and errors only) go to stderr, so stdout stays readable.
    orchard = await startOrchard({ env, logDestination: process.stderr });
  } catch (err) {
    say(`Orchard did not start: ${(err as Error).message}`);
    removeSignalHandlers();
    removeDataDir();
    return 1;
  }
  if (interruptedDuringStart) {
    say('Interrupted: stopping Orchard …');
    removeSignalHandlers();
    await stop();
    say('Orchard stopped; the temporary directory is removed.');
    return 130;
  }

  try {
    ok = await run(orchard, dataDir, values.keep ?? false, mock, protect);
  } catch (err) {
    ok = false;
    if (stopping) return new Promise<number>(() => {}); // interrupted: onSignal exits
    say(`The demo failed: ${(err as Error).stack ?? err}`);
  }
  if (values.keep) return new Promise<number>(() => {}); // until Ctrl-C: onSignal exits
  removeSignalHandlers();
  await stop();
  say('Orchard stopped gracefully; the temporary directory is removed.');
  return ok ? 0 : 1;
}

process.exitCode = await main();
