import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createAjv } from '../../src/schema/ajv.ts';
import { readSchema } from '../../src/schema/read-schema.ts';
import { startConnector } from '../helpers/connector-harness.ts';
import { TestRedis } from '../helpers/redis-server.ts';
import { readStream } from '../helpers/test-app.ts';
import { MockJamfPro } from '../mocks/jamf-pro-server.ts';

// Inventory snapshots: each finished scan appends a snapshot marker (scan, bounds, count) with its last
// page, and a computer gone from Jamf Pro gets one `removed` record once two whole scans missed it.

let server: TestRedis;
before(async () => {
  server = await TestRedis.start();
});
after(() => server.stop());

interface Marker { scan: number; startedAt: string | null; endedAt: string; count: number; totalCount: number; removed: number }

test('each scan ends with its snapshot marker; a removed computer gets one removal record after the two-scan rule', async (t) => {
  const mock = await MockJamfPro.start({ computers: 40 });
  t.after(() => mock.close());
  const h = await startConnector(server, { name: 'acme-jamf', type: 'jamf_pro.inventory', tenant: 'acme', base_url: mock.url, client_id: 'orchard-test-client', client_secret: 'orchard-test-secret', interval: '200ms', page_size: 15 });
  t.after(() => h.stop());
  await h.waitForRuns(1);
  mock.removeComputers(['4', '17']);
  const runs = h.status().totals.runs;
  await h.waitForRuns(runs + 4);
  await h.stop();
  const reader = server.client();
  t.after(() => reader.disconnect());
  const entries = await readStream(reader, h.stream);
  const validate = createAjv().compile(readSchema('stream-entry.schema.json'));
  for (const e of entries) assert.ok(validate(e.fields), JSON.stringify(validate.errors));
  const markers = entries.filter((e) => e.fields.type === 'snapshot');
  const payloads = markers.map((e) => JSON.parse(e.fields.payload!) as Marker);
  const validateMarker = createAjv().compile(readSchema('inventory/snapshot.schema.json'));
  for (const p of payloads) assert.ok(validateMarker(p), JSON.stringify(validateMarker.errors));
  assert.equal(markers.length, h.status().totals.runs, 'one marker per finished scan');
  assert.deepEqual(payloads.map((p) => p.scan), payloads.map((_, i) => i + 1));
  assert.equal(payloads[0]!.count, 40);
  assert.equal(payloads[0]!.totalCount, 40);
  for (const p of payloads.slice(1)) assert.equal(p.count, 38, 'the scans after the removal count 38');
  for (const p of payloads) {
    assert.ok(p.startedAt !== null && Date.parse(p.startedAt) <= Date.parse(p.endedAt), 'bounds');
  }
  for (const [i, e] of markers.entries()) {
    assert.equal(e.fields.source, 'jamf_pro.inventory');
    assert.equal(e.fields.tenant, 'acme');
    assert.equal(e.fields.time, payloads[i]!.endedAt);
    assert.equal(e.fields.id, `snapshot:acme-jamf:${payloads[i]!.scan}:${payloads[i]!.startedAt}`);
  }
  // Removal records: once, for the two computers, in the scan whose rule forgets them (the third: not seen in scans 2 and 3).
  const removed = entries.filter((e) => e.fields.type === 'removed');
  const validateRemoved = createAjv().compile(readSchema('inventory/removed.schema.json'));
  for (const r of removed) assert.ok(validateRemoved(JSON.parse(r.fields.payload!)), JSON.stringify(validateRemoved.errors));
  assert.deepEqual(removed.map((e) => JSON.parse(e.fields.payload!).id).sort(), ['17', '4']);
  assert.deepEqual(payloads.map((p) => p.removed), payloads.map((p) => (p.scan === 3 ? 2 : 0)));
  const thirdMarker = entries.findIndex((e) => e.fields.type === 'snapshot' && JSON.parse(e.fields.payload!).scan === 3);
  assert.deepEqual(removed.map((r) => entries.indexOf(r)), [thirdMarker - 2, thirdMarker - 1], 'written with the third scan\'s last page, just before its marker');
  for (const r of removed) {
    const payload = JSON.parse(r.fields.payload!);
    assert.equal(payload.lastSeenScan, 1);
    assert.equal(payload.scan, 3);
  }
  assert.equal(await reader.hlen(h.state.keys('acme-jamf').versions), 38, 'and their versions are forgotten');
  const status = h.status() as unknown as { lastScan: { seen: number; totalCount: number; short: number } };
  assert.deepEqual([status.lastScan.seen, status.lastScan.totalCount, status.lastScan.short], [38, 38, 0]);
});

test('a checkpoint written before snapshots (a scan under way, no startedAt) carries over: nothing appended again, the marker\'s start unknown', async (t) => {
  const mock = await MockJamfPro.start({ computers: 40 });
  t.after(() => mock.close());
  const stream = `u${Math.random().toString(36).slice(2, 8)}:events`;
  const entry = { name: 'acme-jamf', type: 'jamf_pro.inventory', tenant: 'acme', base_url: mock.url, client_id: 'orchard-test-client', client_secret: 'orchard-test-secret', interval: '1h', page_size: 10 };
  const first = await startConnector(server, entry, { stream });
  t.after(() => first.stop());
  await first.waitForRuns(1);
  await first.stop();
  // The checkpoint as an Orchard before this change left it: scan 2 under way at page 2, without startedAt.
  const reader = server.client();
  t.after(() => reader.disconnect());
  const keys = first.state.keys('acme-jamf');
  const stored = JSON.parse((await reader.hget(keys.checkpoint, 'data'))!);
  const cursor = { scan: 2, page: 2, lastId: String(mock.computers()[19]!.id), pageSize: 10, totalCount: 40, seen: 20 };
  await reader.hset(keys.checkpoint, 'data', JSON.stringify({ ...stored, cursor, runOpen: true }));
  const before = (await readStream(reader, stream)).length;
  const again = await startConnector(server, entry, { stream });
  t.after(() => again.stop());
  const s = await again.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  const added = (await readStream(reader, stream)).slice(before);
  assert.deepEqual(added.map((e) => e.fields.type), ['snapshot'], 'no computer appended again');
  const marker = JSON.parse(added[0]!.fields.payload!) as Marker;
  assert.deepEqual([marker.scan, marker.startedAt, marker.count, marker.totalCount], [2, null, 40, 40]);
  assert.equal(added[0]!.fields.id, `snapshot:acme-jamf:2:${marker.endedAt}`);
});
