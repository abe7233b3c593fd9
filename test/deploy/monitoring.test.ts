// The shipped dashboard and alert rules (deploy/grafana/orchard.json, deploy/prometheus/orchard-rules.yml)
// name only metrics a running Orchard exports, are well-formed, and, where promtool is installed
// (Debian's prometheus package), pass `promtool check rules`, dashboard queries included.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { request } from 'undici';
import { parse } from 'yaml';
import { createAjv } from '../../src/schema/ajv.ts';
import { fixtureBytes } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/free-port.ts';
import { repoRoot } from '../helpers/markdown-pages.ts';
import { killOrchard, startOrchardProcess } from '../helpers/orchard-process.ts';
import { TestRedis } from '../helpers/redis-server.ts';

const rulesFile = join(repoRoot, 'deploy/prometheus/orchard-rules.yml');
const dashboardFile = join(repoRoot, 'deploy/grafana/orchard.json');

interface Rule { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface Panel { id: number; type: string; title: string; datasource?: { uid: string }; gridPos: { x: number; y: number; w: number; h: number }; targets?: { expr: string; refId: string }[] }

const rules = parse(readFileSync(rulesFile, 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8')) as { uid: string; title: string; panels: Panel[]; templating: { list: { name: string; type: string }[] } };

/** The schema of a Prometheus rule file, as https://prometheus.io/docs/prometheus/latest/configuration/recording_rules/ describes it. */
const ruleFileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['groups'],
  properties: {
    groups: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'rules'],
        properties: {
          name: { type: 'string', minLength: 1 },
          interval: { type: 'string', pattern: '^([0-9]+(ms|s|m|h|d|w|y))+$' },
          limit: { type: 'integer', minimum: 0 },
          rules: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['expr'],
              oneOf: [{ required: ['alert'] }, { required: ['record'] }],
              properties: {
                alert: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
                record: { type: 'string', pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]*$' },
                expr: { type: 'string', minLength: 1 },
                for: { type: 'string', pattern: '^([0-9]+(ms|s|m|h|d|w|y))+$' },
                keep_firing_for: { type: 'string' },
                labels: { type: 'object', additionalProperties: { type: 'string' } },
                annotations: { type: 'object', additionalProperties: { type: 'string' } },
              },
            },
          },
        },
      },
    },
  },
} as const;

const allRules = rules.groups.flatMap((g) => g.rules);
const dashboardExprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

/** Metric names in PromQL: Orchard's own and the Node.js process metrics prom-client adds. */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:orchard|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
}

/** The family a series name belongs to in the exposition (`x_bucket` → `x` when x is a histogram). */
function familyOf(name: string, families: Map<string, string>): string | undefined {
  if (families.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count)$/, '');
  return ['histogram', 'summary'].includes(families.get(base) ?? '') ? base : undefined;
}

test('the rule file has the shape Prometheus reads: groups of alerts, each with a severity and a summary', () => {
  const validate = createAjv({ allErrors: true, strictRequired: false }).compile(ruleFileSchema);
  assert.ok(validate(rules), JSON.stringify(validate.errors));
  const names = allRules.map((r) => r.alert);
  assert.equal(new Set(names).size, names.length, 'alert names are unique');
  for (const rule of allRules) {
    assert.match(rule.labels?.severity ?? '', /^(critical|warning|info)$/, `${rule.alert}: severity`);
    assert.ok(rule.annotations?.summary, `${rule.alert}: summary`);
  }
  // What issue #23 asks the alerts to cover.
  for (const needed of ['OrchardAppendsFailing', 'OrchardSpoolFilling', 'OrchardConnectorParked', 'OrchardConnectorSilent', 'OrchardConsumerLagGrowing', 'OrchardVendorDeprecation', 'OrchardRedisUnreachable']) {
    assert.ok(names.includes(needed), needed);
  }
  // The shape check itself refuses a rule without expr, and a bad duration.
  assert.equal(validate({ groups: [{ name: 'g', rules: [{ alert: 'A' }] }] }), false);
  assert.equal(validate({ groups: [{ name: 'g', rules: [{ alert: 'A', expr: 'up', for: 'five minutes' }] }] }), false);
});

test('the dashboard is one Grafana dashboard whose every query runs on the chosen Prometheus', () => {
  assert.equal(dashboard.uid, 'orchard');
  assert.deepEqual(dashboard.templating.list.map((v) => v.name), ['datasource', 'instance']);
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const panel of dashboard.panels) {
    assert.ok(panel.gridPos.x + panel.gridPos.w <= 24, `${panel.title} fits the grid`);
    if (panel.type === 'row') continue;
    assert.equal(panel.datasource?.uid, '${datasource}', panel.title);
    assert.ok(panel.targets?.length, `${panel.title} has a query`);
  }
  const titles = dashboard.panels.map((p) => p.title.toLowerCase()).join('\n');
  for (const topic of ['requests by route', 'answer time', 'append latency', 'duplicates', 'rejections', 'spool', 'runs by outcome', 'time since last successful run', 'errors by connector', 'consumer group lag']) {
    assert.ok(titles.includes(topic), topic);
  }
});

test('every metric the dashboard and the alert rules name is in the /metrics of a running Orchard', async (t) => {
  const redis = await TestRedis.start();
  t.after(() => redis.stop());
  const dir = mkdtempSync(join(tmpdir(), 'orchard-monitoring-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // A connector whose vendor refuses connections: its runs fail and retry, so its series exist.
  const closedPort = await freePort();
  writeFileSync(
    join(dir, 'orchard.yml'),
    ['connectors:', '  - name: acme-protect', '    type: jamf_protect.alerts', '    tenant: acme', `    base_url: http://127.0.0.1:${closedPort}`, '    client_id: abc', '    password: not-a-real-password', '    max_attempts: 1'].join('\n'),
  );
  const proc = await startOrchardProcess({
    REDIS_URL: redis.url,
    HOST: '127.0.0.1',
    PORT: String(await freePort()),
    ORCHARD_ADMIN_PORT: String(await freePort()),
    ORCHARD_WEBHOOK_SECRETS: 'monitoring-secret-0123456789',
    ORCHARD_DATA_DIR: join(dir, 'data'),
    ORCHARD_CONFIG: join(dir, 'orchard.yml'),
  });
  t.after(() => killOrchard(proc));
  const posted = await request(`${proc.url}/jamf-pro-events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-orchard-secret': 'monitoring-secret-0123456789' },
    body: fixtureBytes('jamf_pro/webhook-templates-camelcase/ComputerCheckIn.json'),
  });
  assert.equal(posted.statusCode, 202);
  await posted.body.dump();
  await redis.client().xgroup('CREATE', 'orchard:events', 'siem', '0', 'MKSTREAM');

  // Wait (generous deadline) until the connector's first run has failed, so its series are there.
  let text = '';
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const res = await request(`${proc.adminUrl}/metrics`);
    text = await res.body.text();
    if (/orchard_connector_errors_total\{connector="acme-protect"/.test(text)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.match(text, /orchard_connector_errors_total\{connector="acme-protect",category="network"\} \d/);

  const families = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!] as [string, string]));
  const named = new Set([...allRules.map((r) => r.expr), ...dashboardExprs].flatMap(metricNames));
  assert.ok(named.size > 30, `only ${named.size} metric names found in the dashboard and rules`);
  const missing = [...named].filter((name) => familyOf(name, families) === undefined);
  assert.deepEqual(missing, [], 'metrics the dashboard or the rules use that Orchard does not export');

  // The metrics added for them carry samples, with the labels the queries group by.
  assert.match(text, /^orchard_http_request_duration_seconds_count\{route="\/jamf-pro-events"\} 1$/m);
  assert.match(text, /^orchard_build_info\{version="\d+\.\d+\.\d+[^"]*",node="\d+\.\d+\.\d+"\} 1$/m);
  assert.match(text, /^orchard_stream_length\{stream="orchard:events"\} 1$/m);
  assert.match(text, /^orchard_stream_length\{stream="orchard:rejected"\} 0$/m);
  assert.match(text, /^orchard_redis_memory_used_bytes [1-9]\d*$/m);
  assert.match(text, /^orchard_redis_memory_max_bytes \d+$/m);
  assert.match(text, /^orchard_connector_info\{connector="acme-protect",type="jamf_protect.alerts",tenant="acme"\} 1$/m);
  assert.match(text, /^orchard_connector_interval_seconds\{connector="acme-protect"\} 300$/m);
  assert.match(text, /^orchard_spool_max_bytes 1073741824$/m);
  assert.match(text, /^orchard_stream_group_lag\{group="siem"\} 1$/m);
  assert.ok(!text.includes('not-a-real-password'), 'no secret in /metrics');
});

const promtool = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;

test('promtool accepts the rules and every dashboard query, and the rules\' unit tests pass', { skip: promtool ? false : 'promtool is not installed (Debian: apt-get install prometheus)' }, () => {
  execFileSync('promtool', ['check', 'rules', rulesFile], { stdio: 'pipe' });
  // deploy/prometheus/orchard-rules.test.yml: when each alert fires, and when it must not.
  const unit = spawnSync('promtool', ['test', 'rules', 'orchard-rules.test.yml'], { cwd: join(repoRoot, 'deploy/prometheus'), encoding: 'utf8' });
  assert.equal(unit.status, 0, unit.stdout + unit.stderr);
  // Grafana's variables, as Grafana substitutes them, so that promtool parses each query.
  const dir = mkdtempSync(join(tmpdir(), 'orchard-promql-'));
  try {
    const asRules = {
      groups: [{ name: 'dashboard', rules: dashboardExprs.map((expr, i) => ({ record: `orchard_dashboard_query_${i}`, expr: expr.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '6h').replaceAll('$instance', '.*') })) }],
    };
    writeFileSync(join(dir, 'dashboard-queries.json'), JSON.stringify(asRules));
    const result = spawnSync('promtool', ['check', 'rules', join(dir, 'dashboard-queries.json')], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stdout + result.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
