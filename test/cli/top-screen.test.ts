import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrometheusText } from '../../src/cli/prometheus-text.ts';
import { age, renderTop, renderUnreachable, type TopSample, type TopStatus } from '../../src/cli/top-screen.ts';

// The screen of `orchard top` from two samples given here (top-command.test.ts renders it against a
// running Orchard): what each column says for a connector that runs, and the rates between samples.

const atMs = Date.parse('2026-12-03T10:05:39Z');

function status(appended: number): TopStatus {
  return {
    webhook: { path: '/jamf-pro-events' },
    protect: { path: '/jamf-protect-events' },
    logs: { path: '/jamf-pro-logs' },
    accepting: true,
    uptimeSeconds: 312,
    redis: { status: 'ready', embedded: false },
    stream: 'orchard:events',
    spool: { enabled: true, state: 'draining', records: 12, bytes: 3 * 1024 * 1024, maxBytes: 1073741824, oldestRecordAgeMs: 75_000 },
    connectors: [
      {
        name: 'acme-jc',
        type: 'jumpcloud.directory_insights',
        state: 'retrying',
        lastRun: { startedAt: '2026-12-03T10:04:58Z', endedAt: '2026-12-03T10:04:59Z', outcome: 'failed', eventsPerSecond: 0 },
        totals: { appended },
        nextRunAt: '2026-12-03T10:06:09Z',
        lastError: { message: 'JumpCloud answered 503 Service Unavailable' },
      },
    ],
    streamState: { length: 43_210, groups: [{ group: 'siem', consumers: 2, pending: 5, lag: 1500, oldestPendingAgeMs: 9000 }] },
  };
}

function metrics(requests: number): string {
  return [
    '# HELP orchard_http_requests_total Requests answered.',
    '# TYPE orchard_http_requests_total counter',
    `orchard_http_requests_total{route="/jamf-pro-events",method="POST",status="202"} ${requests}`,
    'orchard_http_requests_total{route="/jamf-pro-events",method="POST",status="401"} 3',
    'orchard_http_requests_total{route="/jamf-pro-events",method="POST",status="503"} 1',
    'orchard_http_requests_total{route="/status",method="GET",status="200"} 40',
    'orchard_auth_failures_total{route="/jamf-pro-events"} 3',
    'orchard_connector_errors_total{connector="acme-jc",category="vendor"} 2',
    `orchard_connector_last_success_timestamp_seconds{connector="acme-jc"} ${(atMs - 10 * 60_000) / 1000}`,
  ].join('\n');
}

const sample = (offsetMs: number, requests: number, appended: number): TopSample => ({ atMs: atMs + offsetMs, status: status(appended), metrics: parsePrometheusText(metrics(requests)) });

test('two samples: requests and events per second are their differences; answers, errors, lag, spool and groups as read', () => {
  const screen = renderTop(sample(0, 1250, 5000), sample(-2000, 1000, 4000), 'http://127.0.0.1:9203');
  const lines = screen.split('\n');
  assert.equal(lines[0], 'Orchard http://127.0.0.1:9203  up 5m12s  accepting  Redis ready  10:05:39 UTC');
  assert.match(screen, /^\/jamf-pro-events\s+125\s+1250\s+3\s+1\s+0\s+3$/m, screen);
  assert.match(screen, /^\/jamf-protect-events\s+0\.0\s+0\s+0\s+0\s+0\s+0$/m);
  assert.match(screen, /^CONNECTOR\s+TYPE\s+STATE\s+EVENTS\/S\s+APPENDED\s+ERRORS\s+LAST RUN\s+LAG\s+NEXT RUN\s+LAST ERROR$/m);
  assert.match(screen, /^acme-jc\s+jumpcloud\.directory_insights\s+retrying\s+500\s+5000\s+2\s+failed 40s ago\s+10m\s+in 30s\s+JumpCloud answered 503 Service Unavailable$/m, screen);
  assert.match(screen, /^Spool: draining, 12 records, 3\.0 MiB of 1\.0 GiB, oldest 1m15s$/m);
  assert.match(screen, /^Stream orchard:events: 43\.2k entries$/m);
  assert.match(screen, /^siem\s+2\s+5\s+1500\s+9s$/m);
});

test('one sample: no rates yet, shown as -', () => {
  const screen = renderTop(sample(0, 10, 10), undefined, 'http://x:1');
  assert.match(screen, /^\/jamf-pro-events\s+-\s+10\s/m);
  assert.match(screen, /^acme-jc\s+\S+\s+retrying\s+-\s+10\s/m);
});

test('durations read as a person says them; the unreachable screen names the URL and the reason', () => {
  assert.deepEqual([age(0), age(59_000), age(60_000), age(75_000), age(3_600_000), age(90_061_000), age(null)], ['0s', '59s', '1m', '1m15s', '1h', '1d1h', '-']);
  const text = renderUnreachable('http://127.0.0.1:9203', 'ECONNREFUSED', atMs);
  assert.match(text, /^Cannot reach Orchard at http:\/\/127\.0\.0\.1:9203: ECONNREFUSED$/m);
  assert.match(text, /ORCHARD_ADMIN_PORT/);
});

test('the Prometheus text parser reads labels with escapes and skips comments', () => {
  const samples = parsePrometheusText('# HELP x y\nm{a="1",b="q\\"uote"} 2.5\nplain 7\n');
  assert.deepEqual(samples, [
    { name: 'm', labels: { a: '1', b: 'q"uote' }, value: 2.5 },
    { name: 'plain', labels: {}, value: 7 },
  ]);
});
