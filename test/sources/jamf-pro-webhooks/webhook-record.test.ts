import assert from 'node:assert/strict';
import { test } from 'node:test';
import { webhookRecord } from '../../../src/sources/jamf-pro-webhooks/webhook-record.ts';
import { WebhookValidator } from '../../../src/sources/jamf-pro-webhooks/webhook-validator.ts';
import { webhookTemplates } from '../../helpers/fixtures.ts';

// The webhook record carries the route's tenant, and for a check-in or inventory webhook its computer's
// sighting (serial, udid, event time) for the push sink; other events carry none.

const validator = new WebhookValidator();

function recordOf(name: string, edit: (body: Record<string, any>) => void, tenant?: string) {
  const body = JSON.parse(webhookTemplates().get(name)!.toString()) as Record<string, any>;
  edit(body);
  const raw = Buffer.from(JSON.stringify(body));
  return webhookRecord(raw, body, validator.validate(body), Date.now(), tenant);
}

test('ComputerCheckIn and ComputerInventoryCompleted carry their computer\'s serial and udid at the event time', () => {
  for (const name of ['ComputerCheckIn', 'ComputerInventoryCompleted']) {
    const r = recordOf(name, (b) => {
      b.webhook.eventTimestamp = 1_767_225_600_000;
      // A check-in wraps the computer in event.computer; an inventory's event is the computer.
      const computer = name === 'ComputerCheckIn' ? b.event.computer : b.event;
      computer.serialNumber = 'C02XL0GFJGH5';
      computer.udid = '55900BDC-347C-58B1-D249-F32244B11D30';
    }, 'acme');
    assert.deepEqual(r.device, { serial: 'C02XL0GFJGH5', udid: '55900BDC-347C-58B1-D249-F32244B11D30', atMs: 1_767_225_600_000 }, name);
    assert.equal(r.tenant, 'acme');
  }
  const noUdid = recordOf('ComputerCheckIn', (b) => {
    b.event.computer.serialNumber = 'C02XL0GFJGH5';
    b.event.computer.udid = null;
  });
  assert.deepEqual(Object.keys(noUdid.device!).sort(), ['atMs', 'serial']);
  assert.equal(noUdid.tenant, '', 'the default tenant is empty');
  const neither = recordOf('ComputerCheckIn', (b) => {
    b.event.computer.serialNumber = '';
    b.event.computer.udid = null;
  });
  assert.equal(neither.device, undefined);
});

test('other events carry no sighting', () => {
  assert.equal(recordOf('ComputerAdded', () => {}).device, undefined);
  assert.equal(recordOf('MobileDeviceCheckIn', () => {}).device, undefined);
});
