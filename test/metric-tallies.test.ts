import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { HistogramTally, labelCache } from '../src/metric-tallies.ts';

const buckets = [0.001, 0.01, 0.1, 1, 2];

test('a histogram tally writes exactly what prom-client\'s own histogram writes for the same observations', async () => {
  const own = new Registry();
  const tallied = new Registry();
  const reference = new Histogram({ name: 'orchard_test_seconds', help: 'test', labelNames: ['route'] as const, buckets, registers: [own] });
  const tally = new HistogramTally({ name: 'orchard_test_seconds', help: 'test', labelNames: ['route'] as const, buckets, registers: [tallied] });
  const child = labelCache((route: string) => tally.child({ route }));
  // At a bound (counted in that bucket: le is "less than or equal"), between bounds, above all of them.
  const observations: [string, number][] = [['/a', 0.001], ['/a', 0.0005], ['/a', 0.05], ['/b', 1.5], ['/a', 7], ['/b', 0.01], ['/a', 2]];
  for (const [route, value] of observations) {
    reference.observe({ route }, value);
    child(route).observe(value);
  }
  const text = await tallied.metrics();
  assert.equal(text, await own.metrics());
  assert.match(text, /orchard_test_seconds_bucket\{le="0.001",route="\/a"\} 2\n/);
  assert.match(text, /orchard_test_seconds_bucket\{le="\+Inf",route="\/a"\} 5\n/);
  assert.match(text, /orchard_test_seconds_count\{route="\/b"\} 2\n/);
  // Read again: the same figures, not doubled; then a new observation adds to them.
  assert.equal(await tallied.metrics(), text);
  child('/b').observe(0.2);
  assert.match(await tallied.metrics(), /orchard_test_seconds_count\{route="\/b"\} 3\n/);
  tally.reset();
  assert.match(await tallied.metrics(), /orchard_test_seconds_count\{route="\/b"\} 0\n/);
});

test('get() gives the same figures as the text, with the le label on each bucket', async () => {
  const tally = new HistogramTally({ name: 'orchard_test_seconds', help: 'test', labelNames: ['route'] as const, buckets, registers: [] });
  tally.child({ route: '/a' }).observe(0.5);
  const metric = await tally.get();
  assert.equal(metric.name, 'orchard_test_seconds');
  assert.equal(String(metric.type), 'histogram');
  const bucket1 = metric.values.find((v) => v.metricName === 'orchard_test_seconds_bucket' && (v.labels as Record<string, unknown>).le === 1);
  assert.equal(bucket1?.value, 1);
  assert.equal(metric.values.find((v) => v.metricName === 'orchard_test_seconds_sum')?.value, 0.5);
});
