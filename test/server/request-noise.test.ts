import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../src/logger.ts';
import { RequestNoise } from '../../src/server/request-noise.ts';
import { captureLogs } from '../helpers/test-app.ts';

function noise() {
  const { destination, lines } = captureLogs();
  const logger = createLogger({ level: 'info', secretHeader: 'x-orchard-secret', destination });
  return { noise: new RequestNoise(logger, 60_000), logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('answers are counted by status and code and by address, and said in one line, busiest addresses first', () => {
  const { noise: n, logs } = noise();
  for (let i = 0; i < 30; i++) n.count(401, 'ORCHARD_ERR_INTAKE_UNAUTHORIZED', '192.0.2.1');
  for (let i = 0; i < 5; i++) n.count(404, 'ORCHARD_ERR_NOT_FOUND', '192.0.2.2');
  n.count(429, 'ORCHARD_ERR_INTAKE_AUTH_THROTTLED', '192.0.2.1');
  assert.equal(logs().length, 0, 'nothing before the interval ends');
  n.flush();
  const [line] = logs();
  assert.equal(line!.level, 'info');
  assert.equal(line!.requests, 36);
  assert.deepEqual(line!.answers, { '401 ORCHARD_ERR_INTAKE_UNAUTHORIZED': 30, '404 ORCHARD_ERR_NOT_FOUND': 5, '429 ORCHARD_ERR_INTAKE_AUTH_THROTTLED': 1 });
  assert.deepEqual(line!.addresses, [{ address: '192.0.2.1', requests: 31 }, { address: '192.0.2.2', requests: 5 }]);
  n.flush();
  assert.equal(logs().length, 1, 'an interval without answers says nothing');
});

test('503s (Redis away) make the line a warning; addresses beyond the ten busiest are summed, and memory is bounded by a cap on addresses', () => {
  const { noise: n, logs } = noise();
  for (let i = 0; i < 2000; i++) n.count(503, 'ORCHARD_ERR_SINK_UNAVAILABLE', `10.0.${Math.floor(i / 250)}.${i % 250}`);
  n.flush();
  const [line] = logs();
  assert.equal(line!.level, 'warn');
  assert.equal((line!.addresses as unknown[]).length, 10);
  assert.equal(line!.otherRequests, 1990);
  assert.equal(line!.requests, 2000);
});
