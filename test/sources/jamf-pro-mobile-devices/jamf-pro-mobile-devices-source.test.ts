import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { createAjv } from '../../../src/schema/ajv.ts';
import { readSchema } from '../../../src/schema/read-schema.ts';
import { startConnector, type ConnectorHarness } from '../../helpers/connector-harness.ts';
import { TestRedis } from '../../helpers/redis-server.ts';
import { readStream } from '../../helpers/test-app.ts';
import { MockJamfPro, type MockJamfProOptions } from '../../mocks/jamf-pro-server.ts';

let server: TestRedis;
before(async () => {
  server = await TestRedis.start();
});
after(() => server.stop());

async function setup(t: TestContext, mockOptions: MockJamfProOptions, entry: Record<string, unknown> = {}): Promise<{ mock: MockJamfPro; h: ConnectorHarness }> {
  const mock = await MockJamfPro.start(mockOptions);
  t.after(() => mock.close());
  const h = await startConnector(server, { name: 'acme-mobile', type: 'jamf_pro.mobile_devices', tenant: 'acme', base_url: mock.url, client_id: 'orchard-test-client', client_secret: 'orchard-test-secret', interval: '1h', ...entry });
  t.after(() => h.stop());
  return { mock, h };
}

const expectedIds = (mock: MockJamfPro) => mock.mobileDevices().map((d) => `${d.mobileDeviceId as string}:${(d.general as { lastInventoryUpdateDate: string }).lastInventoryUpdateDate}`);
const pages = (mock: MockJamfPro) => mock.requests.filter((r) => r.route === 'mobile');

test('the first run reads every mobile device once, as stream contract v1 records with their indicators', async (t) => {
  const { mock, h } = await setup(t, { mobileDevices: 260 }, { page_size: 50 });
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  const all = await readStream(h.redis, h.stream);
  const entries = all.filter((e) => e.fields.type === 'mobile_device');
  assert.deepEqual(entries.map((e) => e.fields.id).sort(), expectedIds(mock).sort());
  assert.equal(all.at(-1)!.fields.type, 'snapshot', 'the scan ends with its snapshot marker');
  assert.equal(JSON.parse(all.at(-1)!.fields.payload!).count, 260);
  const validate = createAjv().compile(readSchema('stream-entry.schema.json'));
  for (const e of all) assert.ok(validate(e.fields), JSON.stringify(validate.errors));
  const iphone = entries.find((e) => JSON.parse(e.fields.payload!).deviceType === 'iOS')!.fields;
  const device = mock.mobileDevices().find((d) => d.mobileDeviceId === JSON.parse(iphone.payload!).mobileDeviceId)!;
  const general = device.general as Record<string, string>;
  const hardware = device.hardware as Record<string, string>;
  const user = device.userAndLocation as Record<string, string>;
  assert.equal(iphone.source, 'jamf_pro.mobile_devices');
  assert.equal(iphone.type, 'mobile_device');
  assert.equal(iphone.connector, 'acme-mobile');
  assert.equal(iphone.time, new Date(general.lastInventoryUpdateDate!).toISOString());
  assert.deepEqual(JSON.parse(iphone.indicators!), {
    ip: [general.ipAddress],
    username: [user.username],
    email: [user.emailAddress],
    mac: [hardware.wifiMacAddress, hardware.bluetoothMacAddress],
    serial: [general.udid, hardware.serialNumber],
  });
  const first = pages(mock)[0]!;
  assert.deepEqual(first.query.section, ['GENERAL', 'HARDWARE', 'USER_AND_LOCATION']);
  assert.deepEqual(first.query.sort, ['mobileDeviceId:asc']);
  assert.deepEqual(first.query['exception-handling'], ['LENIENT']);
  assert.equal(pages(mock).length, 6);
  // The versions count in /status is read again after the run, without holding it up.
  await h.waitFor((x) => x.checkpoint?.versions === 260, 'the status to show 260 remembered versions');
});

test('later runs append exactly the devices that reported again; removed ones are forgotten; a Jamf Pro before 11.29 gets no exception-handling', async (t) => {
  const { mock, h } = await setup(t, { mobileDevices: 90, jamfProVersion: '11.28.0' }, { page_size: 25, interval: '100ms' });
  await h.waitForRuns(1);
  const touched = mock.touchMobileDevices(['3', '77']);
  mock.removeMobileDevices(['10']);
  const runs = h.status().totals.runs;
  const s = await h.waitForRuns(runs + 3);
  const ids = await h.ids('mobile_device');
  assert.equal(ids.length, 92);
  assert.ok(ids.includes(`3:${touched[0]}`) && ids.includes(`77:${touched[1]}`));
  assert.equal(s.lastRun?.appended, 1, 'an unchanged fleet appends only its snapshot marker');
  assert.equal(await h.redis.hexists(h.state.keys('acme-mobile').versions, '10'), 0);
  const removed = await h.ids('removed');
  assert.equal(removed.length, 1, 'one removal record, for the device gone');
  assert.match(removed[0]!, /^removed:10:\d+$/);
  assert.ok(pages(mock).every((r) => r.query['exception-handling'] === undefined));
});

test('a clamp below page_size: every device once', async (t) => {
  const { mock, h } = await setup(t, { mobileDevices: 700, clampPageSize: 90 }, { page_size: 400 });
  const s = await h.waitForRuns(1);
  assert.equal(s.lastRun?.outcome, 'success', JSON.stringify(s.lastError));
  assert.deepEqual((await h.ids('mobile_device')).sort(), expectedIds(mock).sort());
});

test('wrong credentials park the connector with a credentials diagnosis, and the secret appears nowhere', async (t) => {
  const { h } = await setup(t, { mobileDevices: 5 }, { client_secret: 'wrong-mobile-secret' });
  const s = await h.waitFor((x) => x.state === 'parked', 'parked');
  assert.equal(s.lastError?.diagnosis.category, 'credentials');
  assert.match(s.lastError!.diagnosis.remedy, /client_secret/);
  assert.ok(!JSON.stringify(s).includes('wrong-mobile-secret') && !JSON.stringify(h.logs()).includes('wrong-mobile-secret'));
});
