import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { testSecret, useTestApp } from '../../helpers/test-app.ts';

const ctx = useTestApp({ ORCHARD_LOG_SUMMARY_INTERVAL_MS: '200' });

describe('operations routes', () => {
  test('/healthz and /readyz need no credentials', async () => {
    assert.deepEqual((await ctx.t.app.inject({ url: '/healthz' })).json(), { status: 'ok' });
    const ready = await ctx.t.app.inject({ url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json(), { status: 'ready' });
  });

  test('/readyz is 503 once the process stops accepting work', async () => {
    ctx.t.lifecycle.accepting = false;
    try {
      const res = await ctx.t.app.inject({ url: '/readyz' });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().reason, 'shutting down');
    } finally {
      ctx.t.lifecycle.accepting = true;
    }
  });

  test('/metrics: requests by route and status, events by source and type, duplicates, rejections, append latency', async () => {
    const body = JSON.stringify({ webhook: { id: 1, name: 'm', webhookEvent: 'JSSStartup', eventTimestamp: 1725007720123 }, event: {} });
    const headers = { 'content-type': 'application/json', 'x-orchard-secret': testSecret };
    await ctx.t.app.inject({ method: 'POST', url: '/jamf-pro-events', headers, payload: body });
    await ctx.t.app.inject({ method: 'POST', url: '/jamf-pro-events', headers, payload: body });
    await ctx.t.app.inject({ method: 'POST', url: '/jamf-pro-events', headers, payload: '{' });
    await ctx.t.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: { 'content-type': 'application/json' }, payload: body });
    const res = await ctx.t.app.inject({ url: '/metrics' });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers['content-type'] as string, /^text\/plain/);
    const text = res.body;
    for (const line of [
      'orchard_http_requests_total{route="/jamf-pro-events",method="POST",status="202"} 1',
      'orchard_http_requests_total{route="/jamf-pro-events",method="POST",status="200"} 1',
      'orchard_http_requests_total{route="/jamf-pro-events",method="POST",status="400"} 1',
      'orchard_http_requests_total{route="/jamf-pro-events",method="POST",status="401"} 1',
      'orchard_events_appended_total{source="jamf_pro.events",type="JSSStartup"} 1',
      'orchard_events_duplicate_total{source="jamf_pro.events"} 1',
      'orchard_events_rejected_total{source="jamf_pro.events",reason="ORCHARD_ERR_INTAKE_MALFORMED_JSON"} 1',
      'orchard_auth_failures_total{route="/jamf-pro-events"} 1',
      'orchard_append_duration_seconds_count 2',
      'orchard_redis_up 1',
    ]) {
      assert.ok(text.includes(line), `missing: ${line}`);
    }
  });

  test('/status: stream, auth mode and Redis state, no secret', async () => {
    const res = await ctx.t.app.inject({ url: '/status' });
    const status = res.json();
    assert.equal(status.stream, ctx.t.config.stream);
    assert.deepEqual(status.webhook, { path: '/jamf-pro-events', auth: 'header', header: 'X-Orchard-Secret', tenants: [] });
    assert.equal(status.accepting, true);
    assert.deepEqual(status.connectors, []);
    assert.ok(!res.body.includes(testSecret));
  });

  test('a request logs one line at most, with its status, and never its headers', async () => {
    const before = ctx.t.logs.length;
    await ctx.t.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: { 'content-type': 'application/json', 'x-orchard-secret': testSecret }, payload: '{"webhook":' });
    const lines = ctx.t.logs.slice(before);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.status, 400);
    assert.equal(lines[0]!.msg, 'Request answered.');
    assert.ok(!JSON.stringify(lines).includes(testSecret));
    // req.log is made only when a request logs (lazy-request-logger.ts), with the request id all the same.
    assert.match(String(lines[0]!.reqId), /^req-/);
  });

  test('401s are not logged one by one: one summary line counts them by code and address, and /metrics counts each', async () => {
    const before = ctx.t.logs.length;
    for (let i = 0; i < 5; i++) {
      const res = await ctx.t.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: { 'content-type': 'application/json', 'x-orchard-secret': 'nope-nope-nope-nope' }, payload: '{}' });
      assert.equal(res.statusCode, 401);
      assert.equal(res.headers.connection, 'close', 'a refused connection is closed');
    }
    assert.equal(ctx.t.logs.slice(before).filter((l) => l.status === 401).length, 0, 'no line per 401');
    const deadline = Date.now() + 10_000;
    let summary: Record<string, unknown> | undefined;
    while (!(summary = ctx.t.logs.slice(before).find((l) => typeof l.answers === 'object'))) {
      assert.ok(Date.now() < deadline, 'a summary line within the summary interval');
      await new Promise((r) => setTimeout(r, 20));
    }
    // The interval may have begun with an earlier test's refusal: at least these five, each counted once.
    const refused = (summary.answers as Record<string, number>)['401 ORCHARD_ERR_INTAKE_UNAUTHORIZED']!;
    assert.ok(refused >= 5, String(refused));
    assert.deepEqual(summary.addresses, [{ address: '127.0.0.1', requests: summary.requests }]);
    assert.ok(!JSON.stringify(ctx.t.logs.slice(before)).includes('nope-nope'));
    const metrics = (await ctx.t.app.inject({ url: '/metrics' })).body;
    assert.match(metrics, /orchard_http_requests_total\{route="\/jamf-pro-events",method="POST",status="401"\} [5-9]/);
  });
});

test('intake routes send the same security headers @fastify/helmet sends on the other routes', async () => {
  const fromHelmet = (await ctx.t.app.inject({ url: '/healthz' })).headers;
  const fromIntake = (await ctx.t.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: { 'content-type': 'application/json' }, payload: '{}' })).headers;
  const names = Object.keys(fromHelmet).filter((h) => !['content-type', 'content-length', 'date', 'connection', 'keep-alive'].includes(h));
  assert.ok(names.length >= 10, names.join());
  for (const name of names) assert.equal(fromIntake[name], fromHelmet[name], name);
});
