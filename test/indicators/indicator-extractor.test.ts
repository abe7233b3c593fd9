import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IndicatorExtractor, normaliseIndicator } from '../../src/indicators/indicator-extractor.ts';
import { readSchema } from '../../src/schema/read-schema.ts';

describe('indicator extraction', () => {
  test('IPs are validated: v4, v6 (lower-cased, brackets removed); hostnames and junk dropped', () => {
    assert.equal(normaliseIndicator('ip', '89.160.20.156'), '89.160.20.156');
    assert.equal(normaliseIndicator('ip', ' 10.0.0.1 '), '10.0.0.1');
    assert.equal(normaliseIndicator('ip', '2001:DB8::1'), '2001:db8::1');
    assert.equal(normaliseIndicator('ip', '[2001:db8::1]'), '2001:db8::1');
    for (const bad of ['acme-ipAddress', '999.1.1.1', '', 'string', '10.0.0.1/24', 42]) assert.equal(normaliseIndicator('ip', bad), undefined, String(bad));
  });

  test('MACs lower-cased with colons; hashes lower-cased and length-checked; emails lower-cased', () => {
    assert.equal(normaliseIndicator('mac', 'BE-AA-E5-54-94-DB'), 'be:aa:e5:54:94:db');
    assert.equal(normaliseIndicator('mac', 'be:aa:e5:54:94:db'), 'be:aa:e5:54:94:db');
    assert.equal(normaliseIndicator('mac', 'be:aa-e5:54:94:db'), undefined);
    assert.equal(normaliseIndicator('mac', 'string'), undefined);
    assert.equal(normaliseIndicator('sha1', 'A'.repeat(40)), 'a'.repeat(40));
    assert.equal(normaliseIndicator('sha1', 'a'.repeat(39)), undefined);
    assert.equal(normaliseIndicator('sha256', 'F'.repeat(64)), 'f'.repeat(64));
    assert.equal(normaliseIndicator('email', 'Jane@Example.COM'), 'jane@example.com');
    assert.equal(normaliseIndicator('email', 'no-at-sign'), undefined);
  });

  test('usernames, hostnames and serials keep their case; empty and oversized values are dropped', () => {
    assert.equal(normaliseIndicator('username', 'JDoe'), 'JDoe');
    assert.equal(normaliseIndicator('serial', 123), '123');
    assert.equal(normaliseIndicator('hostname', '   '), undefined);
    assert.equal(normaliseIndicator('username', 'x'.repeat(513)), undefined);
    assert.equal(normaliseIndicator('username', { a: 1 }), undefined);
  });

  test('paths through lists, single items where lists were expected, duplicates removed, contract key order', () => {
    const extractor = new IndicatorExtractor(readSchema('jamf-pro-webhooks/SmartGroupMobileDeviceMembershipChange.json'));
    const device = (ip: string, mac: string) => ({ ipAddress: ip, wifiMacAddress: mac, serialNumber: 'SER1', username: 'u1' });
    const many = extractor.extract({ event: { groupAddedDevices: [device('10.0.0.1', 'AA:BB:CC:DD:EE:FF'), device('10.0.0.2', 'aa:bb:cc:dd:ee:ff')] } });
    assert.deepEqual(many, { ip: ['10.0.0.1', '10.0.0.2'], username: ['u1'], mac: ['aa:bb:cc:dd:ee:ff'], serial: ['SER1'] });
    assert.deepEqual(Object.keys(many), ['ip', 'username', 'mac', 'serial']);
    const single = extractor.extract({ event: { groupAddedDevices: device('10.0.0.3', 'x') } });
    assert.deepEqual(single, { ip: ['10.0.0.3'], username: ['u1'], serial: ['SER1'] });
  });

  test('documents of the wrong shape yield no indicators and no error', () => {
    const extractor = new IndicatorExtractor(readSchema('jamf-pro-webhooks/ComputerCheckIn.json'));
    for (const doc of [null, 5, 'x', [], { event: 'x' }, { event: { computer: [1, 2] } }]) assert.deepEqual(extractor.extract(doc), {});
  });

  test('an unknown x-indicator kind in a schema is a programming error, caught at start', () => {
    assert.throws(() => new IndicatorExtractor({ properties: { a: { 'x-indicator': 'phone' } } }), /Unknown x-indicator "phone"/);
  });
});
