import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { createAjv } from '../../../src/schema/ajv.ts';
import { readSchema } from '../../../src/schema/read-schema.ts';
import { accessLogLines, changeManagementLines } from '../../helpers/fixtures.ts';
import { complianceReporterCorpus } from '../../helpers/compliance-reporter-corpus.ts';
import { buildTestApp, readStream, testSecret, useTestApp } from '../../helpers/test-app.ts';

const ndjson = { 'content-type': 'application/x-ndjson', 'x-orchard-secret': testSecret };
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const ctx = useTestApp();

const post = (body: string | Buffer, headers: Record<string, string> = ndjson, app = ctx.t) =>
  app.app.inject({ method: 'POST', url: '/jamf-pro-logs', headers, payload: body });

type Answer = { received: number; appended: number; duplicates: number; rejected: { line: number; code: string; message: string; details: { path: string }[] }[]; results: { line: number; id: string; entry: string; duplicate?: boolean }[] };

async function rows(ids: readonly string[]) {
  const all = await readStream(ctx.t.redis, ctx.t.config.stream);
  return all.filter((r) => ids.includes(r.fields.id!));
}

describe('log intake', () => {
  test('the real access-log lines, as NDJSON wrappers, land as jamf_pro.login records (then again: duplicates)', async () => {
    const lines = accessLogLines();
    const res = await post(lines.join('\n'));
    assert.equal(res.statusCode, 202, res.body);
    const answer = res.json() as Answer;
    assert.equal(answer.appended, lines.length);
    assert.deepEqual(answer.results.map((r) => r.id), lines.map(sha256), 'id = sha256 of the line as received');
    const validate = createAjv().compile(readSchema('stream-entry.schema.json'));
    const stored = await rows(lines.map(sha256));
    assert.equal(stored.length, lines.length);
    for (const { fields } of stored) {
      assert.ok(validate(fields), JSON.stringify(validate.errors));
      assert.equal(fields.source, 'jamf_pro.login');
      assert.equal(fields.type, 'Jamfpro.Login');
      assert.equal(fields.connector, 'webhook');
    }
    const first = stored.find((r) => r.fields.id === sha256(lines[0]!))!.fields;
    assert.equal(first.time, '2026-09-23T19:52:07.254Z');
    const payload = JSON.parse(first.payload!) as Record<string, string>;
    assert.equal(payload.username, 'Unknown');
    assert.equal(payload.status, 'Failed token creation');
    assert.equal(payload.ipAddress, '81.2.69.142');
    assert.equal(payload.entryPoint, 'Universal API (OAuth)');
    assert.match(payload.message!, /^\[JSSACCESSLOG\] /);
    assert.deepEqual(JSON.parse(first.indicators!), { ip: ['81.2.69.142'], username: ['Unknown'] });

    const again = await post(lines.join('\n'));
    assert.equal(again.statusCode, 200);
    assert.equal((again.json() as Answer).duplicates, lines.length);
  });

  test('raw lines as text/plain, change-management lines, and Compliance Reporter events as a gzip JSON array', async () => {
    const raw = accessLogLines().map((l) => (JSON.parse(l) as { message: string }).message);
    const res = await post(raw.join('\r\n'), { 'content-type': 'text/plain', 'x-orchard-secret': testSecret });
    assert.equal(res.statusCode, 202, res.body);
    // The same lines raw have other ids than wrapped (the id is of the text as received).
    assert.equal((res.json() as Answer).appended, raw.length);

    const changes = changeManagementLines();
    const res2 = await post(changes.join('\n'));
    assert.equal(res2.statusCode, 202, res2.body);
    const stored = await rows(changes.map(sha256));
    assert.equal(stored.length, changes.length);
    assert.ok(stored.every((r) => r.fields.source === 'jamf_pro.change_management'));
    assert.ok(stored.some((r) => r.fields.type === 'READ') && stored.some((r) => r.fields.type === 'CREATE'));

    const corpus = complianceReporterCorpus({ seed: 42, count: 60 });
    const array = `[${corpus.map((e) => e.text).join(',\n')}]`;
    const res3 = await post(gzipSync(array), { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-orchard-secret': testSecret });
    assert.equal(res3.statusCode, 202, res3.body);
    assert.equal((res3.json() as Answer).appended, 60);
    const cr = await rows(corpus.map((e) => sha256(e.text)));
    assert.equal(cr.length, 60, 'each element lands with the id of its own text');
    for (const e of corpus) {
      const r = cr.find((x) => x.fields.id === sha256(e.text))!.fields;
      assert.equal(r.source, 'jamf_pro.compliance_reporter');
      assert.equal(r.type, e.eventName);
      assert.equal(r.time, new Date(e.timeMs).toISOString());
      assert.equal(r.payload, e.text);
    }
  });

  test('malformed lines are refused one by one and kept; the good ones land; all refused is 400', async () => {
    const good = accessLogLines()[2]!.replace('19:56:19', '19:56:18');
    const before = (await readStream(ctx.t.redis, ctx.t.config.rejectedStream)).length;
    const body = [good, '{"time":"x","message":"[JSSACCESSLOG] 2026-09-23T19:52:07,254 - username=u', '[FOO] something', '{"header":{"event_name":"AUE_EXECVE","time_seconds_epoch":{}},"host_info":{},"_event_score":0}'].join('\n');
    const res = await post(body);
    assert.equal(res.statusCode, 202, res.body);
    const answer = res.json() as Answer;
    assert.equal(answer.appended, 1);
    assert.deepEqual(answer.rejected.map((r) => r.line), [2, 3, 4]);
    assert.ok(answer.rejected.every((r) => r.code.startsWith('ORCHARD_ERR_LOG_')));
    assert.match(answer.rejected[2]!.message, /time_seconds_epoch/);
    const kept = (await readStream(ctx.t.redis, ctx.t.config.rejectedStream)).slice(before);
    assert.equal(kept.length, 3);
    assert.ok(kept.every((r) => r.fields.source === 'jamf_pro.logs'));
    const all = await post('[BAR] nope\n\u0000\n', ndjson);
    assert.equal(all.statusCode, 400);
    assert.equal(all.json().code, 'ORCHARD_ERR_INTAKE_BATCH_REJECTED');
  });

  test('authentication: without the secret 401; ORCHARD_LOGS_SECRETS gives the route its own', async () => {
    assert.equal((await post(accessLogLines()[0]!, { 'content-type': 'application/x-ndjson' })).statusCode, 401);
    const own = 'logs-secret-0123456789abcdef';
    const app = await buildTestApp(ctx.server, { ORCHARD_LOGS_SECRETS: own });
    try {
      assert.equal((await post(accessLogLines()[0]!, ndjson, app)).statusCode, 401, 'the webhook secret no longer opens it');
      const ok = await post(accessLogLines()[0]!, { 'content-type': 'application/x-ndjson', 'x-orchard-secret': own }, app);
      assert.ok([200, 202].includes(ok.statusCode), ok.body);
    } finally {
      await app.close();
    }
  });
});
