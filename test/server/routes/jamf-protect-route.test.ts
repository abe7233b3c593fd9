import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { createAjv } from '../../../src/schema/ajv.ts';
import { readSchema } from '../../../src/schema/read-schema.ts';
import { maxLinesPerRequest } from '../../../src/server/line-batch-intake.ts';
import { fixturesDir, protectAlertLines } from '../../helpers/fixtures.ts';
import { buildTestApp, readStream, testSecret, useTestApp } from '../../helpers/test-app.ts';

const ndjson = { 'content-type': 'application/x-ndjson', 'x-orchard-secret': testSecret };
const json = { 'content-type': 'application/json', 'x-orchard-secret': testSecret };

const ctx = useTestApp();

const post = (body: string | Buffer, headers: Record<string, string> = json, app = ctx.t) =>
  app.app.inject({ method: 'POST', url: '/jamf-protect-events', headers, payload: body });

const uuidOf = (line: string) => (JSON.parse(line) as { input: { match: { uuid: string } } }).input.match.uuid;

/** A fixture alert given a fresh uuid, so tests do not see each other's appends. */
function freshAlert(index = 0, uuid: string = crypto.randomUUID()): string {
  const doc = JSON.parse(protectAlertLines()[index]!) as { input: { match: { uuid: string } } };
  doc.input.match.uuid = uuid;
  return JSON.stringify(doc);
}

async function entriesFor(ids: readonly string[]) {
  const rows = await readStream(ctx.t.redis, ctx.t.config.stream);
  return rows.filter((r) => ids.includes(r.fields.id!));
}

async function rejectedRows() {
  return readStream(ctx.t.redis, ctx.t.config.rejectedStream);
}

describe('single alerts', () => {
  test('each of the 11 real samples posted alone lands once, as a contract v1 entry with indicators', async () => {
    const validateEntry = createAjv().compile(readSchema('stream-entry.schema.json'));
    const lines = protectAlertLines();
    const seen = new Map<string, string>();
    for (const [i, line] of lines.entries()) {
      const res = await post(line);
      const uuid = uuidOf(line);
      const repeat = seen.has(uuid);
      assert.equal(res.statusCode, repeat ? 200 : 202, `line ${i + 1}: ${res.body}`);
      const answer = res.json() as { appended: number; duplicates: number; results: { id: string; entry: string; duplicate?: boolean }[] };
      assert.equal(answer.results[0]!.id, uuid);
      if (repeat) assert.equal(answer.results[0]!.entry, seen.get(uuid), 'a duplicate is answered with the first entry');
      seen.set(uuid, answer.results[0]!.entry);
    }
    const rows = await entriesFor([...seen.keys()]);
    assert.equal(rows.length, 10, 'the two identical samples land once');
    for (const { fields } of rows) {
      assert.ok(validateEntry(fields), JSON.stringify(validateEntry.errors));
      assert.equal(fields.source, 'jamf_protect.alerts');
      assert.equal(fields.connector, 'webhook');
      assert.match(fields.type!, /^GP[A-Za-z]+Event$/);
      const line = lines.find((l) => uuidOf(l) === fields.id)!;
      assert.equal(fields.payload, line, 'payload is the alert as pushed');
    }
    const fs = rows.find((r) => r.fields.id === '6bdb0697-6d07-47bc-a37d-6c3348a5d953')!.fields;
    assert.equal(fs.type, 'GPFSEvent');
    assert.equal(fs.time, '2023-11-21T11:32:44.184Z', 'time from input.match.event.timestamp (seconds with a fraction)');
    const indicators = JSON.parse(fs.indicators!) as Record<string, string[]>;
    assert.deepEqual(indicators.hostname, ['LMAC-ZW0GTLVDL']);
    assert.deepEqual(indicators.serial, ['C02ZW0GTLVDL']);
    assert.deepEqual(indicators.ip, ['192.168.11.222']);
    assert.deepEqual(indicators.username, ['root']);
    assert.deepEqual(indicators.sha1, ['5ddcd49004e66cead79ca82991f1b4d4a8ba52d9'], 'empty sha1hex of a file is not an indicator');
    assert.deepEqual(indicators.sha256, ['8fd91d9d1ca53ef93921c8072e12ec082c9eba62bf93f0f900e71b6aa4fa0ed8']);
    const download = JSON.parse(rows.find((r) => r.fields.id === '7288b17d-d2d1-4de7-b76a-df3529cfe0a8')!.fields.indicators!) as Record<string, string[]>;
    assert.deepEqual(download.sha256, ['f7688a83f2c508c16128bd512e1d57b122824001a0c560b12b63c26d3cb7f4a0']);
    assert.deepEqual(download.username, ['local-admin']);
  });

  test('a pretty-printed alert is one alert; text/plain and no content type are accepted', async () => {
    const pretty = JSON.stringify(JSON.parse(freshAlert(4)), null, 2);
    const res = await post(pretty, { ...json, 'content-type': 'text/plain; charset=utf-8' });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.json().received, 1);
    const bare = freshAlert(5);
    const res2 = await post(bare, { 'x-orchard-secret': testSecret });
    assert.equal(res2.statusCode, 202, res2.body);
  });

  test('an alert given as the bare `input` object (as the API`s json field can be) is accepted', async () => {
    const doc = JSON.parse(freshAlert(1)) as { input: unknown };
    const res = await post(JSON.stringify(doc.input));
    assert.equal(res.statusCode, 202, res.body);
  });
});

describe('batches', () => {
  test('the 11 samples as one newline-delimited batch: answered after all are appended, the repeated one once', async () => {
    const lines = protectAlertLines(); // lines 7 and 8 are the same alert
    // Fresh uuids (keeping the 7/8 pair identical) so this test does not see the single-alert test's appends.
    const pair = crypto.randomUUID();
    const batchLines = lines.map((_l, i) => (i === 6 || i === 7 ? freshAlert(6, pair) : freshAlert(i)));
    const res = await post(batchLines.join('\n') + '\n', ndjson);
    assert.equal(res.statusCode, 202, res.body);
    const answer = res.json() as { received: number; appended: number; duplicates: number; rejected: unknown[]; results: { line: number; id: string; duplicate?: boolean }[] };
    assert.equal(answer.received, 11);
    assert.equal(answer.appended, 10);
    assert.equal(answer.duplicates, 1);
    assert.deepEqual(answer.rejected, []);
    assert.deepEqual(answer.results.map((a) => a.line), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    assert.equal(answer.results[7]!.duplicate, true);
    const rows = await entriesFor(answer.results.map((a) => a.id));
    assert.equal(rows.length, 10);
    // One atomic step: the batch's entries are adjacent in the stream, in line order.
    const all = await readStream(ctx.t.redis, ctx.t.config.stream);
    const first = all.findIndex((r) => r.fields.id === answer.results[0]!.id);
    assert.deepEqual(all.slice(first, first + 10).map((r) => r.fields.id), [...new Set(answer.results.map((a) => a.id))]);

    const again = await post(batchLines.join('\r\n'), ndjson);
    assert.equal(again.statusCode, 200, 'the same batch again stores nothing new');
    assert.equal(again.json().appended, 0);
    assert.equal(again.json().duplicates, 11);
  });

  test('invalid lines go to the rejected stream with their reason while the valid ones land', async () => {
    const good1 = freshAlert(0);
    const good2 = freshAlert(3);
    const missingUuid = JSON.stringify({ input: { match: { severity: 1 } } });
    const wrongType = JSON.stringify({ input: { match: { uuid: 42 } } });
    const truncated = freshAlert(2).slice(0, 200);
    const body = [good1, truncated, '', missingUuid, good2, wrongType, '[1,2]'].join('\n');
    const before = (await rejectedRows()).length;
    const res = await post(body, ndjson);
    assert.equal(res.statusCode, 202, res.body);
    const answer = res.json() as { appended: number; rejected: { line: number; code: string; message: string; details: { path: string }[] }[] };
    assert.equal(answer.appended, 2);
    assert.deepEqual(answer.rejected.map((r) => [r.line, r.code]), [
      [2, 'ORCHARD_ERR_INTAKE_MALFORMED_JSON'],
      [4, 'ORCHARD_ERR_INTAKE_SCHEMA'],
      [6, 'ORCHARD_ERR_INTAKE_SCHEMA'],
      [7, 'ORCHARD_ERR_INTAKE_SCHEMA'],
    ]);
    assert.ok(answer.rejected[1]!.details.some((d) => d.path === '/input/match/uuid'), 'the missing field is named');
    assert.ok(answer.rejected[2]!.details.some((d) => d.path === '/input/match/uuid'), 'the wrongly typed field is named');
    const kept = (await rejectedRows()).slice(before);
    assert.equal(kept.length, 4);
    assert.deepEqual(kept.map((r) => JSON.parse(r.fields.reason!).line).sort(), [2, 4, 6, 7]);
    assert.ok(kept.every((r) => r.fields.source === 'jamf_protect.alerts'));
    assert.ok(kept.some((r) => r.fields.payload === truncated), 'the line is kept as received');
    assert.equal((await entriesFor([uuidOf(good1), uuidOf(good2)])).length, 2);
  });

  test('a batch where every line is refused is answered 400 listing each line; all are kept', async () => {
    const before = (await rejectedRows()).length;
    const res = await post('not json\n{"input":{}}\n', ndjson);
    assert.equal(res.statusCode, 400);
    const answer = res.json() as { code: string; details: { line: number }[] };
    assert.equal(answer.code, 'ORCHARD_ERR_INTAKE_BATCH_REJECTED');
    assert.deepEqual(answer.details.map((d) => d.line), [1, 2]);
    assert.equal((await rejectedRows()).length - before, 2);
  });

  test('gzip-encoded batches are decoded; a corrupt or unknown encoding is refused and kept', async () => {
    const a = freshAlert(9);
    const b = freshAlert(10);
    const res = await post(gzipSync(`${a}\n${b}\n`), { ...ndjson, 'content-encoding': 'gzip' });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.json().appended, 2);
    // A gzip file posted as it is, without Content-Encoding, is recognised by its bytes.
    const bare = await post(gzipSync(`${freshAlert(8)}\n`), ndjson);
    assert.equal(bare.statusCode, 202, bare.body);
    const corrupt = await post(Buffer.from('not gzip at all'), { ...ndjson, 'content-encoding': 'gzip' });
    assert.equal(corrupt.statusCode, 400);
    assert.equal(corrupt.json().code, 'ORCHARD_ERR_INTAKE_ENCODING_CORRUPT');
    const br = await post(Buffer.from('x'), { ...ndjson, 'content-encoding': 'br' });
    assert.equal(br.statusCode, 415);
    assert.equal(br.json().code, 'ORCHARD_ERR_INTAKE_ENCODING');
  });
});

describe('refusals', () => {
  test('no or a wrong secret is 401 and nothing is stored', async () => {
    const before = (await readStream(ctx.t.redis, ctx.t.config.stream)).length;
    const rejectedBefore = (await rejectedRows()).length;
    assert.equal((await post(freshAlert(), { 'content-type': 'application/json' })).statusCode, 401);
    assert.equal((await post(freshAlert(), { ...json, 'x-orchard-secret': 'wrong-secret-0123456789' })).statusCode, 401);
    assert.equal((await readStream(ctx.t.redis, ctx.t.config.stream)).length, before);
    assert.equal((await rejectedRows()).length, rejectedBefore);
  });

  test('empty body 400, form content type 415, both kept', async () => {
    const empty = await post('  \n\n', ndjson);
    assert.equal(empty.statusCode, 400);
    assert.equal(empty.json().code, 'ORCHARD_ERR_INTAKE_EMPTY_BODY');
    const form = await post('a=b', { ...json, 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(form.statusCode, 415);
    assert.match(form.json().message, /application\/x-ndjson/, 'the answer says what this route takes');
    assert.doesNotMatch(form.json().message, /Jamf Pro/);
  });

  test('a single malformed alert is 400 with the reason, kept in the rejected stream', async () => {
    const before = (await rejectedRows()).length;
    const res = await post('{"input": {"match": {"uuid": "x"', json);
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().code, 'ORCHARD_ERR_INTAKE_MALFORMED_JSON');
    assert.equal((await rejectedRows()).length - before, 1);
  });

  test(`more than ${maxLinesPerRequest} lines is 413`, async () => {
    const res = await post('{}\n'.repeat(maxLinesPerRequest + 1), ndjson);
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().code, 'ORCHARD_ERR_INTAKE_TOO_MANY_LINES');
  });

  test('a body over the limit is 413', async () => {
    const res = await post('x'.repeat(ctx.t.config.bodyLimitBytes + 1), ndjson);
    assert.equal(res.statusCode, 413);
  });

  test('hostile values: a 190-character uuid with control characters, deep nesting, unicode, are kept or refused cleanly', async () => {
    const odd = freshAlert(0, `\u0000\u202e${'é'.repeat(50)}`);
    const res = await post(odd);
    assert.equal(res.statusCode, 202, res.body);
    const deep = `{"input":{"match":{"uuid":"${crypto.randomUUID()}","event":${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}}}}`;
    const res2 = await post(deep);
    assert.equal(res2.statusCode, 202, res2.body);
    const longUuid = freshAlert(0, 'u'.repeat(201));
    assert.equal((await post(longUuid)).statusCode, 400);
  });
});

describe('own credentials', () => {
  test('ORCHARD_PROTECT_SECRETS gives the route its own secrets (and header); the Jamf Pro secret no longer opens it', async () => {
    const own = 'protect-secret-0123456789abcdef';
    const app = await buildTestApp(ctx.server, { ORCHARD_PROTECT_HEADER: 'X-Protect-Token', ORCHARD_PROTECT_SECRETS: own });
    try {
      const alert = freshAlert(0);
      assert.equal((await post(alert, json, app)).statusCode, 401);
      assert.equal((await post(alert, { 'content-type': 'application/json', 'x-protect-token': own }, app)).statusCode, 202);
      const jamfPro = await app.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: { 'content-type': 'application/json', 'x-protect-token': own }, payload: '{}' });
      assert.equal(jamfPro.statusCode, 401, 'the Protect secret does not open the Jamf Pro route');
    } finally {
      await app.close();
    }
  });
});

describe('as Jamf Protect configures it', () => {
  test('PUT is taken like POST (the action configuration names the method); GET is not a route', async () => {
    const alert = freshAlert(3);
    const res = await ctx.t.app.inject({ method: 'PUT', url: '/jamf-protect-events', headers: ndjson, payload: `${alert}\n` });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal((await entriesFor([uuidOf(alert)])).length, 1);
    const again = await post(alert, ndjson);
    assert.equal(again.statusCode, 200, 'the same alert by POST is a duplicate');
    const get = await ctx.t.app.inject({ method: 'GET', url: '/jamf-protect-events', headers: ndjson });
    assert.equal(get.statusCode, 404);
  });

  test('telemetry sent to the alerts route is refused with the route that takes it; Endpoint Security telemetry and bare unified log entries with their remedy; alerts in the batch land', async () => {
    // Jamf's own telemetry sample (jamf/jamfprotect json_samples_and_schemas/telemetry/samples/AUE_EXECVE.json).
    const telemetry = readFileSync(new URL('jamf_protect/telemetry/AUE_EXECVE.json', fixturesDir), 'utf8').trim();
    // Shaped like Endpoint Security telemetry and unified log entries (no real sample of either is public).
    const es = JSON.stringify({ event: { exec: { target: { executable: { path: '/bin/ls' } } } }, process: { executable: { path: '/bin/zsh' } }, event_type: 9, version: 7 });
    const unified = JSON.stringify({ category: 'XPEvent.structured', composedMessage: 'scan finished', subsystem: 'com.apple.XProtectFramework.PluginAPI', processImagePath: '/Library/Apple/System/Library/CoreServices/XProtect.app/Contents/MacOS/XProtect', timestamp: 1699432944.3 });
    const alert = freshAlert(7); // a GPUnifiedLogEvent alert: a unified log filter's match, in the alert envelope, is taken
    const before = (await rejectedRows()).length;
    const res = await post([telemetry, es, unified, alert].join('\n'), ndjson);
    assert.equal(res.statusCode, 202, res.body);
    const answer = res.json() as { appended: number; rejected: { line: number; code: string; message: string }[] };
    assert.equal(answer.appended, 1);
    assert.deepEqual(answer.rejected.map((r) => [r.line, r.code]), [[1, 'ORCHARD_ERR_INTAKE_WRONG_ROUTE'], [2, 'ORCHARD_ERR_INTAKE_WRONG_ROUTE'], [3, 'ORCHARD_ERR_INTAKE_WRONG_ROUTE']]);
    assert.match(answer.rejected[0]!.message, /Line 1 is Jamf Protect telemetry \(header\.event_name AUE_EXECVE\), not an alert: send telemetry to \/jamf-pro-logs \(ORCHARD_LOGS_PATH\), which records it as jamf_pro\.compliance_reporter/);
    assert.match(answer.rejected[1]!.message, /Endpoint Security format \(event exec\).*untick "Collect logs: telemetry"/);
    assert.match(answer.rejected[2]!.message, /bare unified log entry.*untick "Collect logs: unified logs"/);
    assert.equal((await rejectedRows()).length - before, 3, 'each refused line is kept with its reason');
    // And the logs route takes that telemetry, as the reason says.
    const logs = await ctx.t.app.inject({ method: 'POST', url: '/jamf-pro-logs', headers: ndjson, payload: telemetry });
    assert.equal(logs.statusCode, 202, logs.body);
    const single = await post(telemetry, json);
    assert.equal(single.statusCode, 400);
    assert.match(single.json().message, /^The body is Jamf Protect telemetry/);
  });
});
