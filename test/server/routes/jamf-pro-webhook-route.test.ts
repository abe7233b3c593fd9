import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { createAjv } from '../../../src/schema/ajv.ts';
import { readSchema } from '../../../src/schema/read-schema.ts';
import { webhookEventNames } from '../../../src/sources/jamf-pro-webhooks/webhook-schemas.ts';
import { elasticWebhookInputs, elasticWebhookLines, webhookTemplates } from '../../helpers/fixtures.ts';
import { buildTestApp, readStream, testSecret, useTestApp } from '../../helpers/test-app.ts';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const json = { 'content-type': 'application/json' };
const authed = { ...json, 'x-orchard-secret': testSecret };

const ctx = useTestApp();

const post = (body: string | Buffer, headers: Record<string, string> = authed, app = ctx.t) =>
  app.app.inject({ method: 'POST', url: '/jamf-pro-events', headers, payload: body });

const deviceRateLimited = Buffer.from(
  JSON.stringify({ webhook: { id: 5, name: 'rate', webhookEvent: 'DeviceRateLimited', eventTimestamp: 1725007720123 }, event: { anything: [1, 2] } }),
);

describe('accepted webhooks', () => {
  test('every one of the 23 Jamf Pro events is answered 202 and lands as a contract v1 entry', async () => {
    const bodies = new Map(webhookTemplates());
    bodies.set('DeviceRateLimited', deviceRateLimited);
    assert.deepEqual([...bodies.keys()].sort(), [...webhookEventNames].sort());

    const validateEntry = createAjv().compile(readSchema('stream-entry.schema.json'));
    const validateIndicators = createAjv().compile(readSchema('indicators.schema.json'));
    for (const [name, body] of bodies) {
      const res = await post(body);
      assert.equal(res.statusCode, 202, `${name}: ${res.body}`);
      const answer = res.json() as { id: string; entry: string };
      assert.equal(answer.id, sha256(body));
      const [row] = await ctx.t.redis.xrange(ctx.t.config.stream, answer.entry, answer.entry);
      assert.ok(row, `${name}: entry ${answer.entry} is in the stream`);
      const fields: Record<string, string> = {};
      for (let i = 0; i < row[1].length; i += 2) fields[row[1][i]!] = row[1][i + 1]!;
      assert.ok(validateEntry(fields), `${name}: ${JSON.stringify(validateEntry.errors)}`);
      assert.ok(validateIndicators(JSON.parse(fields.indicators!)), `${name}: ${JSON.stringify(validateIndicators.errors)}`);
      assert.equal(fields.v, '1');
      assert.equal(fields.id, sha256(body));
      assert.equal(fields.source, 'jamf_pro.events');
      assert.equal(fields.type, name);
      assert.equal(fields.connector, 'webhook');
      assert.equal(fields.tenant, '');
      assert.equal(fields.payload, body.toString('utf8'), `${name}: payload is the body byte for byte`);
    }
  });

  test('field order in the entry follows the contract', async () => {
    const body = Buffer.from(String(webhookTemplates().get('JSSStartup')).replace('999', '998'));
    const res = await post(body);
    const [row] = await ctx.t.redis.xrange(ctx.t.config.stream, res.json().entry, res.json().entry);
    const names = row![1].filter((_v, i) => i % 2 === 0);
    assert.deepEqual(names, ['v', 'id', 'source', 'type', 'tenant', 'connector', 'time', 'received', 'payload', 'indicators']);
  });

  test('real webhook bodies from Elastic\'s samples are accepted, whitespace and key order kept', async () => {
    const lines = elasticWebhookLines();
    assert.ok(lines.length >= 5);
    for (const body of lines) {
      const res = await post(body);
      assert.ok([200, 202].includes(res.statusCode), res.body);
      const entry = res.json().entry as string;
      const [row] = await ctx.t.redis.xrange(ctx.t.config.stream, entry, entry);
      assert.equal(row![1][row![1].indexOf('payload') + 1], body.toString());
    }
  });

  test('Elastic\'s field-coverage inputs, converted back to camelCase, are accepted', async () => {
    const inputs = elasticWebhookInputs();
    assert.ok(inputs.size >= 18);
    for (const [name, body] of inputs) {
      const res = await post(body);
      assert.ok([200, 202].includes(res.statusCode), `${name}: ${res.body}`);
    }
  });

  test('a body with bytes that are not UTF-8 (Latin-1 in a string) is kept byte for byte', async () => {
    const head = Buffer.from('{"webhook":{"id":1,"name":"n","webhookEvent":"JSSStartup","eventTimestamp":1725007720123},"event":{"institution":"Caf');
    const raw = Buffer.concat([head, Buffer.from([0xe9]), Buffer.from(' Orchard"}}')]);
    const res = await post(raw);
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.json().id, sha256(raw));
    const [row] = await ctx.t.redis.xrangeBuffer(ctx.t.config.stream, res.json().entry, res.json().entry);
    const fields = row![1];
    const payload = fields[fields.findIndex((f) => f.toString() === 'payload') + 1]!;
    assert.ok(payload.equals(raw), 'payload bytes equal the body bytes');
  });

  test('eventTimestamp in milliseconds, in seconds (10 digits) and as a string of digits sets `time`', async () => {
    const cases: [number | string, string][] = [
      [1725007720123, '2024-08-30T08:48:40.123Z'],
      [1725269730, '2024-09-02T09:35:30.000Z'],
      ['1725007720123', '2024-08-30T08:48:40.123Z'],
    ];
    for (const [eventTimestamp, time] of cases) {
      const body = JSON.stringify({ webhook: { id: '7', name: 'n', webhookEvent: 'JSSStartup', eventTimestamp }, event: { hostAddress: 'h', isClusterMaster: true } });
      const res = await post(body);
      assert.equal(res.statusCode, 202, res.body);
      const [row] = await ctx.t.redis.xrange(ctx.t.config.stream, res.json().entry, res.json().entry);
      assert.equal(row![1][row![1].indexOf('time') + 1], time);
    }
  });

  test('ids as integer or string, eventActions.action as string or array, nulls and unknown fields are accepted', async () => {
    const body = {
      webhook: { id: '12', name: 'patch', webhookEvent: 'ComputerPatchPolicyCompleted', eventTimestamp: 1725007720123, newField: 1 },
      event: {
        computer: { jssID: '42', managementId: 7, ipAddress: 'not an ip', building: null, brandNew: { x: 1 } },
        eventActions: { action: 'Install' },
        patchPolicyId: '3',
        successful: true,
        addedLater: 'yes',
      },
    };
    assert.equal((await post(JSON.stringify(body))).statusCode, 202);
    body.event.eventActions.action = ['a', 'b'] as unknown as string;
    assert.equal((await post(JSON.stringify(body))).statusCode, 202);
  });

  test('indicators are extracted from the event and normalised', async () => {
    const body = JSON.stringify({
      webhook: { id: 1, name: 'n', webhookEvent: 'ComputerCheckIn', eventTimestamp: 1725007720123 },
      event: {
        computer: {
          ipAddress: '89.160.20.156',
          reportedIpAddress: '89.160.20.156',
          macAddress: 'BE-AA-E5-54-94-DB',
          alternateMacAddress: 'not-a-mac',
          emailAddress: 'Jane.Doe@Example.com',
          serialNumber: 'C02XL0GFJGH5',
          deviceName: 'janes-mac',
          username: 'jdoe',
        },
        username: 'jdoe',
      },
    });
    const res = await post(body);
    const [row] = await ctx.t.redis.xrange(ctx.t.config.stream, res.json().entry, res.json().entry);
    const indicators = JSON.parse(row![1][row![1].indexOf('indicators') + 1]!);
    assert.deepEqual(indicators, {
      ip: ['89.160.20.156'],
      username: ['jdoe'],
      email: ['jane.doe@example.com'],
      mac: ['be:aa:e5:54:94:db'],
      hostname: ['janes-mac'],
      serial: ['C02XL0GFJGH5'],
    });
  });

  test('an unknown webhookEvent with a valid envelope is accepted and counted', async () => {
    const body = JSON.stringify({ webhook: { id: 1, name: 'n', webhookEvent: 'ComputerTeleported', eventTimestamp: 1725007720123 }, event: { where: 'mars' } });
    const res = await post(body);
    assert.equal(res.statusCode, 202);
    const [row] = await ctx.t.redis.xrange(ctx.t.config.stream, res.json().entry, res.json().entry);
    assert.equal(row![1][row![1].indexOf('type') + 1], 'ComputerTeleported');
    const metrics = await ctx.t.metrics.registry.metrics();
    assert.match(metrics, /orchard_webhook_unknown_events_total 1/);
    assert.match(metrics, /orchard_events_appended_total\{source="jamf_pro.events",type="unknown"\} 1/);
  });

  test('content types application/json; charset=utf-8 and application/*+json are accepted', async () => {
    for (const type of ['application/json; charset=utf-8', 'application/vnd.jamf+json', 'APPLICATION/JSON']) {
      const body = JSON.stringify({ webhook: { id: 1, name: type, webhookEvent: 'JSSShutdown', eventTimestamp: 1725007720123 }, event: {} });
      const res = await post(body, { 'content-type': type, 'x-orchard-secret': testSecret });
      assert.equal(res.statusCode, 202, `${type}: ${res.body}`);
    }
  });
});

describe('once', () => {
  test('the same body again is answered 200 with the same id and entry, and not appended', async () => {
    const body = Buffer.from(JSON.stringify({ webhook: { id: 1, name: 'dup', webhookEvent: 'PushSent', eventTimestamp: 1725007720999 }, event: { managementId: 1, type: 'x' } }));
    const before = await ctx.t.redis.xlen(ctx.t.config.stream);
    const first = await post(body);
    const second = await post(body);
    assert.equal(first.statusCode, 202);
    assert.equal(second.statusCode, 200);
    assert.equal(second.json().id, first.json().id);
    assert.equal(second.json().entry, first.json().entry);
    assert.equal(await ctx.t.redis.xlen(ctx.t.config.stream), before + 1);
    assert.match(await ctx.t.metrics.registry.metrics(), /orchard_events_duplicate_total\{source="jamf_pro.events"\} [1-9]/);
  });

  test('100 concurrent posts of one body append it once and all answer the same entry', async () => {
    const body = Buffer.from(JSON.stringify({ webhook: { id: 2, name: 'race', webhookEvent: 'PushSent', eventTimestamp: 1725007720555 }, event: {} }));
    const before = await ctx.t.redis.xlen(ctx.t.config.stream);
    const answers = await Promise.all(Array.from({ length: 100 }, () => post(body)));
    assert.equal(answers.filter((a) => a.statusCode === 202).length, 1);
    assert.equal(answers.filter((a) => a.statusCode === 200).length, 99);
    assert.equal(new Set(answers.map((a) => a.json().entry)).size, 1);
    assert.equal(await ctx.t.redis.xlen(ctx.t.config.stream), before + 1);
  });

  test('the dedup mark expires with the window', async () => {
    const short = await buildTestApp(ctx.server, { ORCHARD_DEDUP_WINDOW_SECONDS: '1' });
    try {
      const body = JSON.stringify({ webhook: { id: 3, name: 'w', webhookEvent: 'PushSent', eventTimestamp: 1725007720556 }, event: {} });
      assert.equal((await post(body, authed, short)).statusCode, 202);
      const ttl = await short.redis.ttl(short.sink.dedupKey('jamf_pro.events', sha256(body)));
      assert.ok(ttl === 1 || ttl === 0, `ttl ${ttl}`);
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await post(body, authed, short)).statusCode, 202);
      assert.equal(await short.redis.xlen(short.config.stream), 2);
    } finally {
      await short.close();
    }
  });
});

describe('refused requests', () => {
  const valid = () => Buffer.from(JSON.stringify({ webhook: { id: 1, name: 'n', webhookEvent: 'JSSStartup', eventTimestamp: Date.now() }, event: {} }));

  test('no secret, a wrong secret, or an empty one: 401 with a JSON error, nothing stored anywhere', async () => {
    const lengths = [await ctx.t.redis.xlen(ctx.t.config.stream), await ctx.t.redis.xlen(ctx.t.config.rejectedStream)];
    for (const headers of [json, { ...json, 'x-orchard-secret': 'wrong-secret-0123456789' }, { ...json, 'x-orchard-secret': '' }, { ...json, 'x-orchard-secret': `${testSecret} ` }]) {
      const res = await post(valid(), headers);
      assert.equal(res.statusCode, 401);
      assert.deepEqual(res.json(), { code: 'ORCHARD_ERR_INTAKE_UNAUTHORIZED', message: 'Missing or wrong webhook credentials.', details: [] });
    }
    assert.deepEqual([await ctx.t.redis.xlen(ctx.t.config.stream), await ctx.t.redis.xlen(ctx.t.config.rejectedStream)], lengths);
  });

  test('the secret in another header does not count', async () => {
    const res = await post(valid(), { ...json, authorization: testSecret, 'x-other-secret': testSecret });
    assert.equal(res.statusCode, 401);
  });

  test('a non-JSON content type is answered 415 and the body kept in the rejected stream', async () => {
    const xml = '<?xml version="1.0"?><JSSEvent><webhook><webhookEvent>JSSStartup</webhookEvent></webhook></JSSEvent>';
    const res = await post(xml, { 'content-type': 'application/xml', 'x-orchard-secret': testSecret });
    assert.equal(res.statusCode, 415);
    assert.equal(res.json().code, 'ORCHARD_ERR_INTAKE_MEDIA_TYPE');
    assert.match(res.json().message, /application\/xml/);
    const rejected = await readStream(ctx.t.redis, ctx.t.config.rejectedStream);
    const last = rejected.at(-1)!.fields;
    assert.equal(last.payload, xml);
    assert.equal(JSON.parse(last.reason!).code, 'ORCHARD_ERR_INTAKE_MEDIA_TYPE');
  });

  test('malformed, truncated and empty JSON: 400 with the reason, body kept', async () => {
    for (const [body, code] of [
      ['{"webhook": {"webhookEvent": "JSSStartup"', 'ORCHARD_ERR_INTAKE_MALFORMED_JSON'],
      ['{"a":1}{"b":2}', 'ORCHARD_ERR_INTAKE_MALFORMED_JSON'],
      ['\u0000\u0001binary', 'ORCHARD_ERR_INTAKE_MALFORMED_JSON'],
      ['', 'ORCHARD_ERR_INTAKE_EMPTY_BODY'],
    ] as const) {
      const res = await post(body);
      assert.equal(res.statusCode, 400, body);
      assert.equal(res.json().code, code);
      const last = (await readStream(ctx.t.redis, ctx.t.config.rejectedStream)).at(-1)!.fields;
      assert.equal(last.payload, body);
      assert.equal(JSON.parse(last.reason!).code, code);
      assert.equal(last.source, 'jamf_pro.events');
      assert.equal(last.remote, '127.0.0.1');
      assert.ok(createAjv().validate(readSchema('rejected-entry.schema.json'), last));
    }
  });

  test('a body that breaks the schema: 400 naming every failing path, body kept with that reason', async () => {
    const body = JSON.stringify({
      webhook: { id: 1, name: 'n', webhookEvent: 'ComputerCheckIn', eventTimestamp: 1725007720123 },
      event: { computer: 'not an object', trigger: 5, username: ['x'] },
    });
    const res = await post(body);
    assert.equal(res.statusCode, 400);
    const answer = res.json();
    assert.equal(answer.code, 'ORCHARD_ERR_INTAKE_SCHEMA');
    const paths = answer.details.map((d: { path: string }) => d.path).sort();
    assert.deepEqual(paths, ['/event/computer', '/event/trigger', '/event/username']);
    const last = (await readStream(ctx.t.redis, ctx.t.config.rejectedStream)).at(-1)!.fields;
    assert.equal(last.payload, body);
    assert.deepEqual(JSON.parse(last.reason!).details, answer.details);
  });

  test('envelope errors: missing webhook, missing event, bad timestamps, wrong top-level types', async () => {
    const cases: [unknown, string][] = [
      [{ event: {} }, '/webhook'],
      [{ webhook: { webhookEvent: 'JSSStartup', eventTimestamp: 1 } }, '/event'],
      [{ webhook: { webhookEvent: 'JSSStartup' }, event: {} }, '/webhook/eventTimestamp'],
      [{ webhook: { webhookEvent: 'JSSStartup', eventTimestamp: -5 }, event: {} }, '/webhook/eventTimestamp'],
      [{ webhook: { webhookEvent: 'JSSStartup', eventTimestamp: 'yesterday' }, event: {} }, '/webhook/eventTimestamp'],
      [{ webhook: { webhookEvent: 'JSSStartup', eventTimestamp: 9e15 }, event: {} }, '/webhook/eventTimestamp'],
      [{ webhook: { webhookEvent: 'Bad Event!', eventTimestamp: 1 }, event: {} }, '/webhook/webhookEvent'],
      [{ webhook: { webhookEvent: 7, eventTimestamp: 1 }, event: {} }, '/webhook/webhookEvent'],
      [{ webhook: 'x', event: {} }, '/webhook'],
      [{ webhook: { webhookEvent: 'JSSStartup', eventTimestamp: 1 }, event: [] }, '/event'],
      [[], '/'],
      ['just a string', '/'],
      [null, '/'],
      [42, '/'],
    ];
    for (const [body, path] of cases) {
      const res = await post(JSON.stringify(body));
      assert.equal(res.statusCode, 400, JSON.stringify(body));
      assert.equal(res.json().code, 'ORCHARD_ERR_INTAKE_SCHEMA');
      assert.ok(res.json().details.some((d: { path: string }) => d.path === path), `${JSON.stringify(body)} → ${JSON.stringify(res.json().details)}`);
    }
  });

  test('thousands of wrong ids report at most 20 details', async () => {
    const body = JSON.stringify({
      webhook: { id: 1, name: 'n', webhookEvent: 'SmartGroupComputerMembershipChange', eventTimestamp: 1725007720123 },
      event: { groupAddedDevicesIds: Array.from({ length: 5000 }, () => true) },
    });
    const res = await post(body);
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().details.length, 20);
  });

  test('a smart-group change with 20,000 ids is accepted', async () => {
    const body = JSON.stringify({
      webhook: { id: 1, name: 'n', webhookEvent: 'SmartGroupComputerMembershipChange', eventTimestamp: 1725007720123 },
      event: { computer: true, jssid: 1, name: 'big', smartGroup: true, groupAddedDevicesIds: Array.from({ length: 20_000 }, (_v, i) => i), groupRemovedDevicesIds: [] },
    });
    assert.equal((await post(body)).statusCode, 202);
  });

  test('a body over the limit is answered 413, the refusal recorded without the body', async () => {
    const small = await buildTestApp(ctx.server, { ORCHARD_BODY_LIMIT_BYTES: '2048' });
    try {
      const body = JSON.stringify({ webhook: { webhookEvent: 'JSSStartup', eventTimestamp: 1 }, event: { pad: 'x'.repeat(3000) } });
      const res = await post(body, authed, small);
      assert.equal(res.statusCode, 413);
      assert.equal(res.json().code, 'ORCHARD_ERR_INTAKE_BODY_TOO_LARGE');
      const [rejected] = await readStream(small.redis, small.config.rejectedStream);
      assert.equal(JSON.parse(rejected!.fields.reason!).code, 'ORCHARD_ERR_INTAKE_BODY_TOO_LARGE');
      assert.equal(rejected!.fields.payload, '');
      const atLimit = JSON.stringify({ webhook: { webhookEvent: 'JSSStartup', eventTimestamp: 1 }, event: {} });
      const padded = atLimit.slice(0, -1) + ' '.repeat(2048 - atLimit.length) + '}';
      assert.equal(Buffer.byteLength(padded), 2048);
      assert.equal((await post(padded, authed, small)).statusCode, 202);
    } finally {
      await small.close();
    }
  });

  test('the rejected stream keeps every body by default, about ORCHARD_REJECTED_STREAM_MAX_LEN when set, the newest last', async () => {
    const uncapped = await buildTestApp(ctx.server);
    const capped = await buildTestApp(ctx.server, { ORCHARD_REJECTED_STREAM_MAX_LEN: '10' });
    try {
      for (let i = 0; i < 350; i++) {
        assert.equal((await post(`{"not json ${i}`, authed, capped)).statusCode, 400);
        assert.equal((await post(`{"not json ${i}`, authed, uncapped)).statusCode, 400);
      }
      assert.equal(await uncapped.redis.xlen(uncapped.config.rejectedStream), 350);
      // MAXLEN ~ trims whole stream nodes (100 entries each by default): about the cap, never below it.
      const length = await capped.redis.xlen(capped.config.rejectedStream);
      assert.ok(length >= 10 && length <= 110, `XLEN ${length}`);
      const kept = await readStream(capped.redis, capped.config.rejectedStream);
      assert.equal(kept.at(-1)!.fields.payload, '{"not json 349');
    } finally {
      await capped.close();
      await uncapped.close();
    }
  });

  test('an unauthenticated oversized body is 401, not read, not stored', async () => {
    const res = await post('x'.repeat(2 * 1024 * 1024), json);
    assert.equal(res.statusCode, 401);
  });

  test('other methods and paths: JSON 404, never stored', async () => {
    const get = await ctx.t.app.inject({ method: 'GET', url: '/jamf-pro-events', headers: authed });
    assert.equal(get.statusCode, 404);
    assert.equal(get.json().code, 'ORCHARD_ERR_NOT_FOUND');
    const other = await ctx.t.app.inject({ method: 'POST', url: '/jamf-pro-events/x', headers: authed, payload: valid() });
    assert.equal(other.statusCode, 404);
  });

  test('security headers are set', async () => {
    const res = await post(valid());
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.ok(res.headers['strict-transport-security']);
    assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
  });
});

describe('authentication modes', () => {
  test('rotation: every configured secret is accepted', async () => {
    const rotating = await buildTestApp(ctx.server, { ORCHARD_WEBHOOK_SECRETS: 'old-secret-0123456789ab, new-secret-0123456789ab', ORCHARD_WEBHOOK_HEADER: 'X-Jamf-Key' });
    try {
      for (const secret of ['old-secret-0123456789ab', 'new-secret-0123456789ab']) {
        const res = await post(valid2(), { ...json, 'x-jamf-key': secret }, rotating);
        assert.equal(res.statusCode, 202);
      }
      assert.equal((await post(valid2(), { ...json, 'x-orchard-secret': 'old-secret-0123456789ab' }, rotating)).statusCode, 401);
    } finally {
      await rotating.close();
    }
  });

  test('basic: right user and password accepted; wrong ones and malformed headers refused', async () => {
    const basic = await buildTestApp(ctx.server, { ORCHARD_WEBHOOK_BASIC_USERNAME: 'jamf', ORCHARD_WEBHOOK_BASIC_PASSWORD: 'basic-password-0123' });
    try {
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      assert.equal((await post(valid2(), { ...json, authorization: `Basic ${b64('jamf:basic-password-0123')}` }, basic)).statusCode, 202);
      for (const authorization of [`Basic ${b64('jamf:wrong')}`, `Basic ${b64('other:basic-password-0123')}`, 'Basic !!!', `Bearer ${b64('jamf:basic-password-0123')}`, 'Basic']) {
        assert.equal((await post(valid2(), { ...json, authorization }, basic)).statusCode, 401, authorization);
      }
      assert.equal((await post(valid2(), { ...json, 'x-orchard-secret': testSecret }, basic)).statusCode, 401);
    } finally {
      await basic.close();
    }
  });

  test('none: accepted without credentials, only when configured', async () => {
    const open = await buildTestApp(ctx.server, { ORCHARD_WEBHOOK_AUTH: 'none' });
    try {
      assert.equal((await post(valid2(), json, open)).statusCode, 202);
    } finally {
      await open.close();
    }
  });

  test('repeated failures from one address are throttled with 429 and Retry-After; the right secret still passes', async () => {
    const strict = await buildTestApp(ctx.server, { ORCHARD_AUTH_FAILURE_LIMIT: '3' });
    try {
      const wrong = { ...json, 'x-orchard-secret': 'wrong-secret-0123456789' };
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await post(valid2(), wrong, strict)).statusCode);
      assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
      const throttled = await post(valid2(), wrong, strict);
      assert.equal(throttled.json().code, 'ORCHARD_ERR_INTAKE_AUTH_THROTTLED');
      assert.ok(Number(throttled.headers['retry-after']) > 0);
      assert.equal((await post(valid2(), authed, strict)).statusCode, 202);
      const other = await strict.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: wrong, payload: valid2(), remoteAddress: '10.9.8.7' });
      assert.equal(other.statusCode, 401);
    } finally {
      await strict.close();
    }
  });

  test('the per-address rate limit answers 429 past its limit; health probes are not limited', async () => {
    const limited = await buildTestApp(ctx.server, { ORCHARD_RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await post(valid2(), authed, limited)).statusCode);
      assert.deepEqual(statuses, [202, 202, 202, 429]);
      const res = await post(valid2(), authed, limited);
      assert.equal(res.json().code, 'ORCHARD_ERR_RATE_LIMITED');
      for (let i = 0; i < 5; i++) assert.equal((await limited.app.inject({ url: '/healthz' })).statusCode, 200);
    } finally {
      await limited.close();
    }
  });
});

let counter = 0;
function valid2(): Buffer {
  counter += 1;
  return Buffer.from(JSON.stringify({ webhook: { id: counter, name: 'n', webhookEvent: 'JSSStartup', eventTimestamp: 1725007720000 + counter }, event: {} }));
}
