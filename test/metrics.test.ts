import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Counter, Registry } from 'prom-client';
import { CounterTally } from '../src/metrics.ts';

test('a tally hands its increments to the counter whenever the counter is read, and only once', async () => {
  const registry = new Registry();
  const tally: { current?: CounterTally<'kind'> } = {};
  const counter = new Counter({ name: 'orchard_test_total', help: 'test', labelNames: ['kind'] as const, registers: [registry], collect: () => tally.current!.flush() });
  tally.current = new CounterTally(counter);
  const a = tally.current.labels({ kind: 'a' });
  const b = tally.current.labels({ kind: 'b' });
  a.inc();
  a.inc();
  b.inc();
  assert.match(await registry.metrics(), /orchard_test_total\{kind="a"\} 2\norchard_test_total\{kind="b"\} 1/);
  // Read again with nothing new: the same values, not doubled.
  assert.match(await registry.metrics(), /orchard_test_total\{kind="a"\} 2\n/);
  a.inc();
  const values = (await counter.get()).values.map((v) => [v.labels.kind, v.value]);
  assert.deepEqual(values, [['a', 3], ['b', 1]]);
});
