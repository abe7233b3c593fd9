import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { jamfWebhooksCommand } from '../../src/cli/jamf-webhooks-command.ts';
import { testCommand } from '../../src/cli/test-command.ts';
import { webhookEventNames } from '../../src/sources/jamf-pro-webhooks/webhook-schemas.ts';
import { configWithConnectors } from '../helpers/connector-harness.ts';
import { MockJamfPro, type MockJamfProOptions } from '../mocks/jamf-pro-server.ts';

const OLD = 'old-orchard-secret-0123456789';
const NEW = 'new-orchard-secret-9876543210';
const PUBLIC = 'https://orchard.example.com';
const URL_ = `${PUBLIC}/jamf-pro-events`;

async function setup(t: TestContext, options: MockJamfProOptions = {}, env: Record<string, string> = {}) {
  const mock = await MockJamfPro.start({ computers: 3, ...options });
  t.after(() => mock.close());
  const config = configWithConnectors([{ name: 'fleet', type: 'jamf_pro.inventory', base_url: mock.url, client_id: 'orchard-test-client', client_secret: 'orchard-test-secret' }], {
    ORCHARD_PUBLIC_URL: PUBLIC,
    ORCHARD_WEBHOOK_SECRETS: `${OLD},${NEW}`,
    ...env,
  });
  const run = async (action: string, events?: string, smartGroupId?: string) => {
    let out = '';
    let err = '';
    const code = await jamfWebhooksCommand(config, { action, name: 'fleet', events, smartGroupId }, { out: (s) => (out += s), err: (s) => (err += s) });
    assert.ok(!(out + err).includes(NEW) && !(out + err).includes(OLD), 'no secret is ever printed');
    return { code, out, err };
  };
  return { mock, config, run };
}

const writes = (mock: MockJamfPro) => mock.requests.filter((r) => r.route === 'webhooks' && r.method !== 'GET');

const smartGroupEvents = ['SmartGroupComputerMembershipChange', 'SmartGroupMobileDeviceMembershipChange', 'SmartGroupUserMembershipChange'];

test('from an empty Jamf Pro: plan lists 23 creations and writes nothing; apply creates them; a second apply changes nothing', async (t) => {
  const { mock, run } = await setup(t);
  const plan = await run('plan', undefined, '42');
  assert.equal(plan.code, 0, plan.out + plan.err);
  assert.equal(plan.out.match(/\+ create {2}Orchard \w+ \(event \w+\)/g)?.length, 23);
  assert.match(plan.out, /Plan: 23 to create, 0 to update, 0 unchanged; 0 other webhook\(s\), not Orchard's, untouched\./);
  assert.equal(writes(mock).length, 0, 'plan writes nothing');
  const apply = await run('apply', undefined, '42');
  assert.equal(apply.code, 0, apply.out);
  assert.match(apply.out, /Done: Jamf Pro posts 23 event\(s\) to https:\/\/orchard\.example\.com\/jamf-pro-events with the newest secret/);
  const hooks = mock.webhooks.list();
  assert.deepEqual(hooks.map((h) => h.event).sort(), [...webhookEventNames].sort());
  for (const h of hooks) assert.equal(h.smart_group_id, smartGroupEvents.includes(h.event) ? 42 : -1, h.event);
  for (const h of hooks) {
    assert.equal(h.url, URL_);
    assert.equal(h.enabled, true);
    assert.equal(h.content_type, 'application/json');
    assert.equal(h.authentication_type, 'HEADER');
    assert.deepEqual(JSON.parse(h.header), { 'X-Orchard-Secret': NEW });
    assert.equal(h.read_timeout, 2);
    assert.equal(h.connection_timeout, 5);
    assert.equal(h.name, `Orchard ${h.event}`);
  }
  const before = writes(mock).length;
  const again = await run('apply', undefined, '42');
  assert.equal(again.code, 0);
  assert.match(again.out, /Plan: 0 to create, 0 to update, 23 unchanged/);
  assert.equal(writes(mock).length, before, 'the second apply wrote nothing');
});

test('from a drifted Jamf Pro: a hook disabled, one sending XML, one with the old secret, one unrelated hook untouched', async (t) => {
  const { mock, run } = await setup(t);
  const header = (secret: string) => JSON.stringify({ 'X-Orchard-Secret': secret });
  const base = { url: URL_, content_type: 'application/json', authentication_type: 'HEADER', header: header(NEW) };
  const disabled = mock.webhooks.add({ ...base, name: 'Orchard ComputerAdded', event: 'ComputerAdded', enabled: false });
  const xml = mock.webhooks.add({ ...base, name: 'Jamf to Orchard check-ins', event: 'ComputerCheckIn', content_type: 'text/xml' });
  const rotated = mock.webhooks.add({ ...base, name: 'Orchard PushSent', event: 'PushSent', header: header(OLD), read_timeout: 1 });
  const unrelated = mock.webhooks.add({ name: 'SIEM policy feed', event: 'ComputerPolicyFinished', url: 'https://siem.example.com/jamf', content_type: 'text/xml', authentication_type: 'BASIC', username: 'siem', password: 'siem-password' });
  const untouched = mock.webhooks.list().find((h) => h.id === unrelated)!;
  const plan = await run('plan');
  assert.match(plan.out, new RegExp(`~ update {2}Orchard ComputerAdded \\(id ${disabled}, event ComputerAdded\\): disabled → enabled\\n`));
  assert.match(plan.out, new RegExp(`~ update {2}Jamf to Orchard check-ins \\(id ${xml}, event ComputerCheckIn\\): content type text/xml → application/json`));
  assert.match(plan.out, new RegExp(`~ update {2}Orchard PushSent \\(id ${rotated}, event PushSent\\): header carries an older secret Orchard still accepts → the newest secret \\(rotation\\); read timeout 1 s → 2 s`));
  assert.match(plan.out, /Plan: 17 to create, 3 to update, 0 unchanged; 1 other webhook\(s\), not Orchard's, untouched\./);
  assert.doesNotMatch(plan.out, /SIEM/);
  const apply = await run('apply');
  assert.equal(apply.code, 0, apply.out);
  const after = mock.webhooks.list();
  assert.deepEqual(after.find((h) => h.id === unrelated), untouched, 'the unrelated hook is exactly as it was');
  assert.equal(after.find((h) => h.id === disabled)?.enabled, true);
  assert.equal(after.find((h) => h.id === xml)?.content_type, 'application/json');
  assert.equal(after.find((h) => h.id === xml)?.name, 'Jamf to Orchard check-ins', 'a hook found by its URL keeps its name');
  assert.deepEqual(JSON.parse(after.find((h) => h.id === rotated)!.header), { 'X-Orchard-Secret': NEW });
  assert.equal(after.length, 21, 'the 20 events that need no smart group, and the unrelated hook');
  assert.ok(writes(mock).every((w) => w.query && !w.path.includes(`/id/${unrelated}`)), 'nothing was sent for the unrelated hook');
  assert.match((await run('apply')).out, /0 to create, 0 to update, 20 unchanged; 1 other/);
});

test('the smart group events follow one smart group: left out by default, refused without --smart-group-id, moved to another group when it changes', async (t) => {
  const { mock, run } = await setup(t);
  const plan = await run('plan');
  assert.equal(plan.code, 0, plan.err);
  assert.match(plan.out, /Plan: 20 to create/);
  assert.doesNotMatch(plan.out, /SmartGroup/);
  const refused = await run('plan', 'ComputerAdded,SmartGroupComputerMembershipChange');
  assert.equal(refused.code, 2);
  assert.match(refused.err, /SmartGroupComputerMembershipChange: Jamf Pro sends these for one smart group; give its id with --smart-group-id N/);
  assert.equal((await run('plan', 'SmartGroupComputerMembershipChange', 'twelve')).code, 2);
  assert.equal((await run('apply', 'SmartGroupComputerMembershipChange', '12')).code, 0);
  assert.equal(mock.webhooks.list()[0]!.smart_group_id, 12);
  const moved = await run('apply', 'SmartGroupComputerMembershipChange', '13');
  assert.match(moved.out, /~ update {2}Orchard SmartGroupComputerMembershipChange \(id \d+, event SmartGroupComputerMembershipChange\): smart group 12 → 13/);
  assert.equal(mock.webhooks.list()[0]!.smart_group_id, 13);
  assert.equal(writes(mock).filter((w) => w.method === 'POST').length, 1);
});

test('privileges: without Read Webhooks, 403 with a remedy naming the privileges; without Create Webhooks, apply fails and says so', async (t) => {
  const { mock, run } = await setup(t, { privileges: ['Update Webhooks'] });
  const denied = await run('plan');
  assert.equal(denied.code, 1);
  assert.match(denied.out, /diagnosis: permissions \(HTTP 403\)/);
  assert.match(denied.out, /The API client's role needs Read Webhooks \(plan\), Create Webhooks and Update Webhooks \(apply\)/);
  mock.setPrivileges(['Read Webhooks']);
  const noCreate = await run('apply', 'ComputerAdded');
  assert.equal(noCreate.code, 1);
  assert.match(noCreate.out, /FAIL {2}POST \/JSSResource\/webhooks\/id\/0 \(Orchard ComputerAdded\)/);
});

test('usage and configuration: no public_url, an unknown event, a connector of another vendor', async (t) => {
  const mock = await MockJamfPro.start({ computers: 1 });
  t.after(() => mock.close());
  const config = configWithConnectors([
    { name: 'fleet', type: 'jamf_pro.inventory', base_url: mock.url, client_id: 'a', client_secret: 'b' },
    { name: 'dir', type: 'jumpcloud.system_users', api_key: 'k' },
  ]);
  let err = '';
  const io = { out: () => {}, err: (s: string) => (err += s) };
  assert.equal(await jamfWebhooksCommand(config, { action: 'plan', name: 'fleet' }, io), 2);
  assert.match(err, /public_url \(ORCHARD_PUBLIC_URL\) is not set/);
  assert.equal(await jamfWebhooksCommand(config, { action: 'plan', name: 'fleet', events: 'ComputerAdded,ComputerCheckin' }, io), 2);
  assert.match(err, /unknown event\(s\) ComputerCheckin/);
  assert.equal(await jamfWebhooksCommand(config, { action: 'plan', name: 'dir' }, io), 2);
  assert.equal(await jamfWebhooksCommand(config, { action: 'destroy', name: 'fleet' }, io), 2);
  assert.match(err, /Usage: orchard jamf-webhooks plan\|apply/);
});

test('orchard test reports webhook drift and the vendor\'s deprecation notices, and still passes', async (t) => {
  const { mock, config } = await setup(t, { apiDeprecations: { 4: { deprecation: '@1800000000', link: '</api/v5/computers-inventory>; rel="successor-version"' } } });
  mock.webhooks.add({ name: 'Orchard ComputerAdded', event: 'ComputerAdded', url: URL_, enabled: false });
  let out = '';
  const code = await testCommand(config, 'fleet', { out: (s) => (out += s), err: (s) => (out += s) });
  assert.equal(code, 0, out);
  assert.match(out, /warn {2}deprecated: GET \/api\/v4\/computers-inventory is deprecated by the vendor \(since 2027-01-15; no sunset date given\): move to \/api\/v5\/computers-inventory\./);
  assert.match(out, /warn {2}webhooks: 19 to create, 1 to update, 0 unchanged/);
  assert.match(out, /drift: Orchard ComputerAdded \(id 1\): disabled → enabled; content type text\/xml → application\/json \(Orchard answers XML with 415\); authentication NONE → Header Authentication with the newest secret/);
  assert.ok(!out.includes(NEW));
});
