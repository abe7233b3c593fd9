import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { logErrorCodes } from '../../../src/errors.ts';
import { IndicatorExtractor } from '../../../src/indicators/indicator-extractor.ts';
import { readSchema } from '../../../src/schema/read-schema.ts';
import type { StreamRecord } from '../../../src/stream/stream-record.ts';
import { changeManagementSource, complianceReporterSource, loginSource } from '../../../src/sources/jamf-pro-logs/log-kinds.ts';
import {
  logRecord,
  maxLogTextBytes,
  parseAccessLine,
  parseChangeManagementLine,
  parseLogTimestamp,
  unwrapLine,
  type LogRecordResult,
} from '../../../src/sources/jamf-pro-logs/log-records.ts';
import { complianceReporterCorpus, corpusEventNames, unknownPropertyName } from '../../helpers/compliance-reporter-corpus.ts';
import { fixtureBytes } from '../../helpers/fixtures.ts';

const receivedMs = Date.UTC(2026, 10, 22, 8, 0, 0, 123);
const make = (text: string): LogRecordResult => logRecord({ text, tenant: 'acme', connector: 'logs-acme', receivedMs });
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

function ok(result: LogRecordResult): StreamRecord {
  assert.ok(result.ok, `expected a record, got ${JSON.stringify(result)}`);
  return result.record;
}

function rejected(result: LogRecordResult, code: string, ...mentions: string[]): { reason: string; details?: unknown[] } {
  assert.equal(result.ok, false, `expected a rejection, got ${JSON.stringify(result).slice(0, 300)}`);
  if (result.ok) throw new Error('unreachable');
  assert.equal(result.code, code, result.reason);
  for (const m of mentions) assert.ok(result.reason.includes(m), `reason ${JSON.stringify(result.reason)} should mention ${JSON.stringify(m)}`);
  assert.ok(result.reason.length < 600, 'the reason is short, whatever the input');
  return result;
}

const accessWrapped = String(fixtureBytes('jamf_pro/access/test-access.log')).split('\n').filter((l) => l.trim() !== '');
const accessRaw = accessWrapped.map((l) => (JSON.parse(l) as { message: string }).message);
const changeWrapped = (JSON.parse(String(fixtureBytes('jamf_pro/change_management/test-change-management.json'))) as { events: { event: { original: string } }[] }).events.map(
  (e) => e.event.original,
);
const changeRaw = changeWrapped.map((l) => (JSON.parse(l) as { message: string }).message);

describe('Jamf Pro access log (Jamfpro.Login)', () => {
  test('every fixture line, raw and in its S3 wrapper, becomes a jamf_pro.login record', () => {
    assert.equal(accessRaw.length, 10);
    for (const [i, text] of [...accessRaw, ...accessWrapped].entries()) {
      const r = ok(make(text));
      assert.equal(r.source, loginSource, text);
      assert.equal(r.type, 'Jamfpro.Login');
      assert.equal(r.tenant, 'acme');
      assert.equal(r.connector, 'logs-acme');
      assert.equal(r.id, sha256(text), 'id is the sha256 of the text as received');
      assert.equal(r.received, '2026-11-22T08:00:00.123Z');
      const payload = JSON.parse(r.payload as string) as Record<string, unknown>;
      assert.equal(payload.message, accessRaw[i % accessRaw.length], 'the payload carries the line itself');
      if (i >= accessRaw.length) assert.equal(payload.time, (JSON.parse(text) as { time: string }).time, 'and the wrapper\'s time');
      else assert.equal('time' in payload, false);
    }
  });

  test('fields, time and indicators, field by field', () => {
    const first = parseAccessLine(accessRaw[0]!);
    assert.deepEqual(first, {
      ok: true,
      fields: { timestamp: '2026-09-23T19:52:07,254', username: 'Unknown', status: 'Failed token creation', ipAddress: '81.2.69.142', entryPoint: 'Universal API (OAuth)' },
      timeMs: Date.UTC(2026, 8, 23, 19, 52, 7, 254),
    });
    assert.deepEqual(parseAccessLine(accessRaw[2]!), {
      ok: true,
      fields: { timestamp: '2026-09-23T19:56:19,086', username: 'kftyfgicvdsbhx@buqprrmmj.com', status: 'Successful Login', ipAddress: '89.160.20.128', entryPoint: 'Single Sign On (OIDC)' },
      timeMs: Date.UTC(2026, 8, 23, 19, 56, 19, 86),
    });
    // An empty username ("username=,").
    assert.deepEqual(parseAccessLine(accessRaw[4]!), {
      ok: true,
      fields: { timestamp: '2026-09-23T19:57:54,066', username: '', status: 'Successful SSO Logout', ipAddress: '81.2.69.144', entryPoint: 'Unknown' },
      timeMs: Date.UTC(2026, 8, 23, 19, 57, 54, 66),
    });
    assert.deepEqual(parseAccessLine(accessRaw[9]!), {
      ok: true,
      fields: { timestamp: '2026-09-24T12:03:19,773', username: 'c301cfd0-c2c6-62d6-da4f-0c323d91e883', status: 'Token Expired', ipAddress: '81.2.69.144', entryPoint: 'JSS (API)' },
      timeMs: Date.UTC(2026, 8, 24, 12, 3, 19, 773),
    });

    const r = ok(make(accessWrapped[0]!));
    assert.equal(r.time, '2026-09-23T19:52:07.254Z');
    assert.deepEqual(JSON.parse(r.payload as string), {
      timestamp: '2026-09-23T19:52:07,254',
      username: 'Unknown',
      status: 'Failed token creation',
      ipAddress: '81.2.69.142',
      entryPoint: 'Universal API (OAuth)',
      message: accessRaw[0],
      time: '2026-09-23T19:52:07.25531106Z',
    });
    assert.deepEqual(JSON.parse(r.indicators), { ip: ['81.2.69.142'], username: ['Unknown'] });
    // The empty username is no indicator.
    assert.deepEqual(JSON.parse(ok(make(accessRaw[4]!)).indicators), { ip: ['81.2.69.144'] });
  });

  test('values with commas and "=" stay whole; a username imitating the rest of the line stays the username', () => {
    const line = '[JSSACCESSLOG] 2026-09-23T19:52:07,254 - username=evil, status=Successful Login, ipAddress=10.9.9.9, entryPoint=JSS, status=Failed Login, ipAddress=81.2.69.142, entryPoint=Single Sign On (SAML, IdP=x)';
    const parsed = parseAccessLine(line);
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.fields, {
      timestamp: '2026-09-23T19:52:07,254',
      username: 'evil, status=Successful Login, ipAddress=10.9.9.9, entryPoint=JSS',
      status: 'Failed Login',
      ipAddress: '81.2.69.142',
      entryPoint: 'Single Sign On (SAML, IdP=x)',
    });
    // No ipAddress, or an empty one: the field is left out.
    for (const l of ['[JSSACCESSLOG] 2026-09-23T19:52:07,254 - username=a, status=Failed Login, entryPoint=JSS', '[JSSACCESSLOG] 2026-09-23T19:52:07,254 - username=a, status=Failed Login, ipAddress=, entryPoint=JSS']) {
      const p = parseAccessLine(l);
      assert.ok(p.ok, l);
      assert.deepEqual(p.fields, { timestamp: '2026-09-23T19:52:07,254', username: 'a', status: 'Failed Login', entryPoint: 'JSS' });
    }
    // A trailing line break (CRLF or LF) is not part of the entry point.
    const crlf = parseAccessLine(`${accessRaw[0]}\r\n`);
    assert.ok(crlf.ok);
    assert.equal(crlf.fields.entryPoint, 'Universal API (OAuth)');
  });

  test('times: 1 to 9 fraction digits kept to the millisecond, UTC; impossible times refused', () => {
    assert.equal(parseLogTimestamp('2026-09-23T19:52:07,2'), Date.UTC(2026, 8, 23, 19, 52, 7, 200));
    assert.equal(parseLogTimestamp('2026-09-23T19:52:07,254999999'), Date.UTC(2026, 8, 23, 19, 52, 7, 254));
    assert.equal(parseLogTimestamp('2024-02-29T00:00:00,000'), Date.UTC(2024, 1, 29));
    for (const bad of ['2026-02-30T00:00:00,000', '2026-13-01T00:00:00,000', '2026-09-23T24:00:00,000', '2026-09-23T19:52:60,000', '2026-09-23T19:52:07', '2026-09-23T19:52:07.254', '2026-09-23T19:52:07,2549999999', '1969-12-31T23:59:59,999', '2026-09-23 19:52:07,254']) {
      assert.equal(parseLogTimestamp(bad), undefined, bad);
    }
    const r = rejected(make(accessRaw[0]!.replace('2026-09-23T19:52:07,254', '2026-02-30T19:52:07,254')), logErrorCodes.invalid, 'timestamp', '2026-02-30T19:52:07,254');
    assert.match(r.reason, /%Y-%m-%dT%H:%M:%S,%f/);
  });

  test('lines missing a part are refused, naming the part', () => {
    rejected(make('[JSSACCESSLOG] 2026-09-23T19:52:07,254 - username=a, status=Failed Login, ipAddress=1.2.3.4'), logErrorCodes.invalid, 'entryPoint');
    rejected(make('[JSSACCESSLOG] 2026-09-23T19:52:07,254 - username=a, ipAddress=1.2.3.4, entryPoint=JSS'), logErrorCodes.invalid, 'status');
    rejected(make('[JSSACCESSLOG] 2026-09-23T19:52:07,254 - user=a, status=x, entryPoint=JSS'), logErrorCodes.invalid, 'username=');
    rejected(make('[JSSACCESSLOG]'), logErrorCodes.invalid, 'username=');
  });

  test('property: for random valid lines (usernames with commas, "=", unicode; IPv4 and IPv6) parse recovers every field', () => {
    const separators = [', status=', ', ipAddress=', ', entryPoint='];
    const freeOfSeparators = (s: string) => !separators.some((sep) => s.includes(sep)) && !/[\r\n]$/.test(s);
    const username = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ unit: fc.constantFrom('a', 'b', ',', '=', ' ', 'é', '😀', 'ß', '\u200b'), maxLength: 30 }),
      fc.constantFrom('Unknown', '', 'user, status=Successful Login', 'a=b,c=d', 'x, ipAddress=1.1.1.1, entryPoint=JSS', '李雷@example.com'),
    );
    const status = fc.oneof(
      fc.constantFrom('Successful Login', 'Failed Login', 'Failed token creation', 'Successful SSO Logout', 'Token Expired'),
      fc.string({ unit: 'grapheme', maxLength: 30 }).filter(freeOfSeparators),
    );
    const entryPoint = fc.oneof(
      fc.constantFrom('Universal API (OAuth)', 'Single Sign On (OIDC)', 'Unknown', 'JSS', 'JSS (API)', 'Self Service (macOS)'),
      fc.string({ unit: 'grapheme', maxLength: 30 }).filter(freeOfSeparators),
    );
    const ip = fc.oneof(fc.ipV4(), fc.ipV6());
    const time = fc.record({
      ms: fc.integer({ min: 0, max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }),
      extra: fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 6 }),
    });
    fc.assert(
      fc.property(username, status, ip, entryPoint, time, (u, s, a, e, t) => {
        const iso = new Date(t.ms).toISOString();
        const timestamp = `${iso.slice(0, 19)},${iso.slice(20, 23)}${t.extra}`;
        const line = `[JSSACCESSLOG] ${timestamp} - username=${u}, status=${s}, ipAddress=${a}, entryPoint=${e}`;
        const parsed = parseAccessLine(line);
        assert.ok(parsed.ok, line);
        assert.deepEqual(parsed.fields, { timestamp, username: u, status: s, ipAddress: a, entryPoint: e });
        assert.equal(parsed.timeMs, t.ms);
      }),
      { numRuns: 500 },
    );
  });
});

describe('Jamf Pro change-management log', () => {
  test('every fixture line, raw and in its S3 wrapper, becomes a jamf_pro.change_management record typed by its action', () => {
    assert.equal(changeRaw.length, 6);
    const actions = ['READ', 'CREATE', 'DELETE', 'UPDATE', 'READ', 'UPDATE'];
    for (const [i, text] of [...changeRaw, ...changeWrapped].entries()) {
      const r = ok(make(text));
      assert.equal(r.source, changeManagementSource);
      assert.equal(r.type, actions[i % actions.length]);
      assert.equal(r.id, sha256(text));
      const payload = JSON.parse(r.payload as string) as Record<string, unknown>;
      assert.equal(payload.message, changeRaw[i % changeRaw.length]);
    }
  });

  test('fields of every fixture line', () => {
    const expected = [
      { timestamp: '2026-09-23T19:56:24,039', thread: 'Tomcat-380', user: 'dnopnmcns@buqprrmmj.com', userId: -1, action: 'READ', object: 'Advanced Computer Search', objectTime: '2026-09-23T19:56:24.039+0000' },
      { timestamp: '2026-09-23T19:55:11,623', thread: 'Tomcat-9', user: '35ab8ade-7f99-8f06-1413-939ce2cf31e6', userId: 0, action: 'CREATE', object: 'Advanced Computer Search', objectTime: '2026-09-23T19:55:11.623+0000' },
      { timestamp: '2026-09-23T19:56:45,940', thread: 'eralPool-47', user: 'dnopnmcns@buqprrmmj.com', userId: -1, action: 'DELETE', object: 'Computer', objectTime: '2026-09-23T19:56:45.940+0000', details: '\tID             2430\n\tName ......... ZO-RFLEIOF03I-Z' },
      {
        timestamp: '2026-09-23T20:11:24,112',
        thread: 'Tomcat-334',
        user: 'dnopnmcns@buqprrmmj.com',
        userId: -1,
        action: 'UPDATE',
        object: 'Computer PreStage Enrollment',
        objectTime: '2026-09-23T20:11:24.112+0000',
        details: '\tID                   8\n\tName ............... OY SagQwuxx - Agf Zegyfvzlkv\n\tAssigned Devices     5\n\tEnrolled Devices ... 6',
      },
      { timestamp: '2026-09-24T12:08:32,859', thread: 'Tomcat-102', user: 'lewpds@buqprrmmj.com', userId: -1, action: 'READ', object: '', objectTime: '2026-09-24T12:08:32.859+0000', details: '\tFile Vault 2 ID     -1\n\tComputer ID ....... 2648' },
      { timestamp: '2021-09-28T14:23:31,983', thread: 'Tomcat-13', user: 'jssadmin', userId: 1, action: 'UPDATE', object: 'User', objectTime: '2021-09-28T14:23:31.983-0500', details: 'UNKNOWN' },
    ];
    for (const [i, line] of changeRaw.entries()) {
      const parsed = parseChangeManagementLine(line);
      assert.ok(parsed.ok, line);
      const { thread, timestamp, ...rest } = expected[i]!;
      assert.deepEqual(parsed.fields, { timestamp, level: 'INFO', thread, logger: 'file', ...rest }, line);
      assert.equal(parsed.timeMs, parseLogTimestamp(timestamp));
    }
    const r = ok(make(changeWrapped[2]!));
    assert.equal(r.time, '2026-09-23T19:56:45.940Z');
    assert.deepEqual(JSON.parse(r.indicators), { username: ['dnopnmcns@buqprrmmj.com'] });
    assert.equal((JSON.parse(r.payload as string) as { time: string }).time, '2026-09-23T19:56:45.940685642Z');
  });

  test('other shapes: no object time, text after the brackets on the same line, brackets in the user name, no action', () => {
    const noTime = parseChangeManagementLine('[CHANGEMANAGEMENT] 2026-09-23T19:56:24,039 [WARN ] [Tomcat-1 ] [file ] - [a [b] c (ID: 12)] [DELETE] [Policy]');
    assert.ok(noTime.ok);
    assert.deepEqual(noTime.fields, { timestamp: '2026-09-23T19:56:24,039', level: 'WARN', thread: 'Tomcat-1', logger: 'file', user: 'a [b] c', userId: 12, action: 'DELETE', object: 'Policy' });
    const trailing = parseChangeManagementLine('[CHANGEMANAGEMENT] 2026-09-23T19:56:24,039 [INFO ] [T ] [file ] - [u (ID: 3)] [UPDATE] [Script] [2026-09-23T19:56:24.039Z] extra text\n\tID 4');
    assert.ok(trailing.ok);
    assert.equal(trailing.fields.objectTime, '2026-09-23T19:56:24.039Z');
    assert.equal(trailing.fields.details, 'extra text\n\tID 4');
    const r = ok(make('[CHANGEMANAGEMENT] 2026-09-23T19:56:24,039 [INFO ] [T ] [file ] - [u (ID: 3)] [] [Script] [2026-09-23T19:56:24.039+0000]'));
    assert.equal(r.type, 'change', 'a line without an action has the type "change"');
    rejected(make('[CHANGEMANAGEMENT] 2026-09-23T19:56:24,039 [INFO ] [T ] [file ] - [u] [UPDATE] [Script]'), logErrorCodes.invalid, 'shape', '(ID: <n>)');
    rejected(make('[CHANGEMANAGEMENT] 2026-09-23T99:56:24,039 [INFO ] [T ] [file ] - [u (ID: 3)] [UPDATE] [Script]'), logErrorCodes.invalid, 'timestamp');
  });
});

describe('Jamf Compliance Reporter (Jamfpro.ComplianceReporter)', () => {
  const schema = readSchema('jamf-pro-logs/compliance-reporter.schema.json');
  const corpus = complianceReporterCorpus({ seed: 20260923, count: 600 });

  test('the corpus is deterministic from its seed', () => {
    assert.deepEqual(complianceReporterCorpus({ seed: 7, count: 50 }).map((e) => e.text), complianceReporterCorpus({ seed: 7, count: 50 }).map((e) => e.text));
    assert.notDeepEqual(complianceReporterCorpus({ seed: 7, count: 50 }).map((e) => e.text), complianceReporterCorpus({ seed: 8, count: 50 }).map((e) => e.text));
  });

  test('every generated event validates and becomes a record with the right type, time, id, payload and indicators', () => {
    const seenTypes = new Set<string>();
    for (const e of corpus) {
      const r = ok(make(e.text));
      assert.equal(r.source, complianceReporterSource);
      assert.equal(r.type, e.eventName);
      assert.equal(r.time, new Date(e.timeMs).toISOString(), e.text);
      assert.equal(r.id, sha256(e.text));
      assert.equal(r.payload, e.text, 'the payload is the JSON object text as received');
      const got = JSON.parse(r.indicators) as Record<string, string[]>;
      const sorted = Object.fromEntries(Object.entries(got).map(([k, v]) => [k, [...v].sort()]));
      assert.deepEqual(sorted, e.indicators, e.text);
      for (const values of Object.values(got)) assert.equal(new Set(values).size, values.length, 'no duplicates');
      seenTypes.add(r.type);
    }
    assert.deepEqual([...seenTypes].sort(), [...corpusEventNames].sort());
  });

  test('the corpus covers every property path of the schema, and uses no path the schema lacks but the one unknown field', () => {
    const schemaPaths = new Set<string>();
    const walkSchema = (node: Record<string, unknown>, prefix: string) => {
      const properties = node.properties as Record<string, Record<string, unknown>> | undefined;
      for (const [key, sub] of Object.entries(properties ?? {})) {
        schemaPaths.add(prefix + key);
        walkSchema(sub, `${prefix}${key}.`);
      }
      const items = node.items as Record<string, unknown> | undefined;
      if (items?.properties) walkSchema(items, `${prefix}[].`);
    };
    walkSchema(schema, '');
    assert.ok(schemaPaths.size > 150, `${schemaPaths.size} paths`);

    const eventPaths = new Set<string>();
    const walkEvent = (value: unknown, node: Record<string, unknown> | undefined, prefix: string) => {
      if (Array.isArray(value)) {
        const items = node?.items as Record<string, unknown> | undefined;
        if (items?.properties) for (const item of value) walkEvent(item, items, `${prefix}[].`);
        return;
      }
      if (value === null || typeof value !== 'object') return;
      const properties = node?.properties as Record<string, Record<string, unknown>> | undefined;
      // A json field (no properties in the schema) holds anything: its inside is not a schema path.
      if (node && !properties) return;
      for (const [key, item] of Object.entries(value)) {
        eventPaths.add(prefix + key);
        walkEvent(item, properties?.[key], `${prefix}${key}.`);
      }
    };
    for (const e of corpus) walkEvent(e.event, schema, '');

    const missing = [...schemaPaths].filter((p) => !eventPaths.has(p));
    assert.deepEqual(missing, [], 'schema paths no generated event has');
    const unknown = [...eventPaths].filter((p) => !schemaPaths.has(p));
    assert.deepEqual(unknown.filter((p) => !p.startsWith(unknownPropertyName)), [], 'generated paths the schema does not know');
    assert.ok(unknown.includes(unknownPropertyName), 'fields Jamf adds are accepted');
  });

  test('x-indicator sits exactly where Panther lists indicators', () => {
    const paths = new IndicatorExtractor(schema).paths.map((p) => `${p.path.join('.')}=${p.kind}`).sort();
    const actor = (o: string) => [
      `${o}.audit_id=actor_id`,
      `${o}.audit_user_name=username`,
      `${o}.effective_user_id=actor_id`,
      `${o}.effective_user_name=username`,
      `${o}.process_hash=sha1`,
      `${o}.session_id=trace_id`,
      `${o}.terminal_id.ip_address=ip`,
      `${o}.user_id=actor_id`,
      `${o}.user_name=username`,
    ];
    assert.deepEqual(
      paths,
      [
        'ComplianceReporter_license_info.email=email',
        'compliancereporter_license_info.email=email',
        'file_event_info.hash=sha1',
        'host_info.primary_mac_address=mac',
        'identity.cd_hash=sha1',
        ...actor('process'),
        'socket_inet.ip_address=ip',
        ...actor('subject'),
      ].sort(),
    );
    const login = new IndicatorExtractor(readSchema('jamf-pro-logs/login.schema.json')).paths.map((p) => `${p.path.join('.')}=${p.kind}`).sort();
    assert.deepEqual(login, ['ipAddress=ip', 'username=username']);
  });

  test('indicators field by field: IPs validated, MACs and SHA1s lower-cased, emails lower-cased, ids kept, duplicates removed', () => {
    const event = {
      _event_score: 0,
      header: { event_name: 'AUE_CONNECT', time_seconds_epoch: 1571164481, time_milliseconds_offset: 174 },
      host_info: { host_name: 'mac1', primary_mac_address: '38-F9-E8-15-5A-82', serial_number: 'C03XY889JHG3' },
      identity: { cd_hash: '13BF8BBE9E56BC3A1C81D6CC715777F7B4719283' },
      socket_inet: { ip_address: '127.0.0.1', port: 6468 },
      compliancereporter_license_info: { email: 'Dan@Email.COM' },
      file_event_info: { hash: 'not-a-hash' },
      process: {
        audit_id: 502,
        audit_user_name: 'dan',
        user_id: '502',
        user_name: 'dan',
        process_hash: '',
        session_id: 100007,
        terminal_id: { ip_address: '2001:DB8::1', port: 0, type: 6 },
      },
      subject: {
        audit_id: 4294967295,
        audit_user_name: '-1',
        effective_user_id: 0,
        effective_user_name: 'root',
        process_hash: 'F1886C0ACB95228F7DB86674EF6C36539F2BF1AE',
        session_id: '100007',
        terminal_id: { ip_address: 'not an ip', addr: [0] },
        user_id: 502,
        user_name: 'dan',
      },
    };
    const r = ok(make(JSON.stringify(event)));
    assert.equal(r.time, '2019-10-15T18:34:41.174Z');
    assert.deepEqual(JSON.parse(r.indicators), {
      ip: ['2001:db8::1', '127.0.0.1'],
      username: ['dan', '-1', 'root'],
      email: ['dan@email.com'],
      mac: ['38:f9:e8:15:5a:82'],
      sha1: ['13bf8bbe9e56bc3a1c81d6cc715777f7b4719283', 'f1886c0acb95228f7db86674ef6c36539f2bf1ae'],
      actor_id: ['502', '4294967295', '0'],
      trace_id: ['100007'],
    });
    const elasticSpelling = ok(make(JSON.stringify({ ...event, compliancereporter_license_info: undefined, ComplianceReporter_license_info: { email: 'x@y.org' } })));
    assert.deepEqual((JSON.parse(elasticSpelling.indicators) as { email: string[] }).email, ['x@y.org']);
  });

  test('time: seconds as a string, fractional seconds, the millisecond offset as a string', () => {
    const at = (header: Record<string, unknown>) => ok(make(JSON.stringify({ _event_score: '0', header: { event_name: 'X', ...header }, host_info: {} }))).time;
    assert.equal(at({ time_seconds_epoch: '1571164481' }), '2019-10-15T18:34:41.000Z');
    assert.equal(at({ time_seconds_epoch: 1571164481.281 }), '2019-10-15T18:34:41.281Z');
    assert.equal(at({ time_seconds_epoch: '1571164481.2819' }), '2019-10-15T18:34:41.281Z');
    assert.equal(at({ time_seconds_epoch: 1571164481, time_milliseconds_offset: '7' }), '2019-10-15T18:34:41.007Z');
    assert.equal(at({ time_seconds_epoch: 0 }), '1970-01-01T00:00:00.000Z');
  });
});

describe('malformed input is refused with a clear reason', () => {
  const valid = complianceReporterCorpus({ seed: 1, count: 1 })[0]!;
  const withHeader = (header: Record<string, unknown>) => JSON.stringify({ ...valid.event, header: { ...(valid.event.header as object), ...header } });

  test('empty and blank lines', () => {
    rejected(make(''), logErrorCodes.empty, 'empty');
    rejected(make('  \r\n'), logErrorCodes.empty, 'empty');
  });

  test('truncated JSON, a JSON array, a JSON scalar', () => {
    rejected(make(valid.text.slice(0, Math.floor(valid.text.length / 2))), logErrorCodes.malformedJson, 'malformed JSON');
    rejected(make('{"time":"2026-09-23T19:52:07Z","message":"[JSSACCESSLOG] 2026'), logErrorCodes.malformedJson, 'malformed JSON');
    rejected(make(`[${valid.text}]`), logErrorCodes.unrecognised, 'array');
    rejected(make('[]'), logErrorCodes.unrecognised, 'array');
  });

  test('wrong types name the field', () => {
    const r = rejected(make(withHeader({ time_seconds_epoch: { seconds: 1 } })), logErrorCodes.invalid, '/header/time_seconds_epoch');
    assert.deepEqual(r.details, [{ path: '/header/time_seconds_epoch', message: 'must be number,string' }]);
    rejected(make(withHeader({ event_name: 42 })), logErrorCodes.invalid, '/header/event_name');
    rejected(make(withHeader({ time_seconds_epoch: 'yesterday' })), logErrorCodes.invalid, '/header/time_seconds_epoch', 'pattern');
    rejected(make(withHeader({ time_seconds_epoch: -5 })), logErrorCodes.invalid, '/header/time_seconds_epoch');
    rejected(make(JSON.stringify({ ...valid.event, host_info: 'mac1' })), logErrorCodes.invalid, '/host_info', 'object');
    rejected(make(JSON.stringify({ ...valid.event, subject: { terminal_id: { port: { n: 1 } } } })), logErrorCodes.invalid, '/subject/terminal_id/port');
    rejected(make(JSON.stringify({ ...valid.event, path: 'not-a-list' })), logErrorCodes.invalid, '/path');
    rejected(make('{"time":"2026-09-23T19:52:07Z","message":42}'), logErrorCodes.invalid, '"message"');
    rejected(make(JSON.stringify({ time: 5, message: accessRaw[0] })), logErrorCodes.invalid, '"time"');
  });

  test('missing required fields name the field', () => {
    const drop = (key: string) => {
      const copy: Record<string, unknown> = { ...valid.event };
      delete copy[key];
      return JSON.stringify(copy);
    };
    const dropHeader = (key: string) => {
      const header: Record<string, unknown> = { ...(valid.event.header as object) };
      delete header[key];
      return JSON.stringify({ ...valid.event, header });
    };
    for (const key of ['_event_score', 'header', 'host_info']) {
      const r = rejected(make(drop(key)), logErrorCodes.invalid, `/${key}`, 'required');
      assert.deepEqual(r.details, [{ path: `/${key}`, message: `must have required property '${key}'` }]);
    }
    for (const key of ['event_name', 'time_seconds_epoch']) rejected(make(dropHeader(key)), logErrorCodes.invalid, `/header/${key}`, 'required');
    rejected(make(withHeader({ event_name: '' })), logErrorCodes.invalid, '/header/event_name');
  });

  test('times out of range', () => {
    rejected(make(withHeader({ time_seconds_epoch: 1e13 })), logErrorCodes.invalid, '/header/time_seconds_epoch', 'out of range');
    rejected(make(withHeader({ time_seconds_epoch: 1e300 })), logErrorCodes.invalid, '/header/time_seconds_epoch');
    rejected(make(withHeader({ time_milliseconds_offset: 1500 })), logErrorCodes.invalid, '/header/time_milliseconds_offset');
    rejected(make(withHeader({ time_milliseconds_offset: 'soon' })), logErrorCodes.invalid, '/header/time_milliseconds_offset');
    rejected(make(accessRaw[0]!.replace('2026-09-23T19:52:07,254', '1969-12-31T23:59:59,999')), logErrorCodes.invalid, 'timestamp');
  });

  test('a 1 MB garbage line, and anything over the size limit', () => {
    let garbage = '';
    const chunk = 'x9#\t[]{}=, ';
    while (garbage.length < 1_000_000) garbage += chunk;
    const r = rejected(make(garbage), logErrorCodes.unrecognised, 'not a Jamf Pro log line');
    assert.ok(r.reason.length < 300);
    rejected(make(`[JSSACCESSLOG] ${'a'.repeat(maxLogTextBytes)}`), logErrorCodes.tooLarge, String(maxLogTextBytes));
    rejected(make(`{"a":"${'é'.repeat(maxLogTextBytes / 2)}"}`), logErrorCodes.tooLarge, 'bytes');
  });

  test('NUL characters: in a line (naming the field), raw in JSON, escaped in a Compliance Reporter event', () => {
    const r = rejected(make(accessRaw[0]!.replace('username=Unknown', 'username=Unk\0nown')), logErrorCodes.invalid, 'username', 'NUL');
    assert.deepEqual(r.details, [{ path: '/username', message: 'must not contain a NUL character' }]);
    rejected(make(changeRaw[0]!.replace('[READ]', '[RE\0AD]')), logErrorCodes.invalid, 'action', 'NUL');
    rejected(make(JSON.stringify({ time: 't', message: accessRaw[0]!.replace('Universal', 'Uni\0versal') })), logErrorCodes.invalid, 'entryPoint', 'NUL');
    rejected(make(valid.text.replace('"header":{', '"header":{"x":"a\0b",')), logErrorCodes.malformedJson, 'JSON');
    rejected(make(JSON.stringify({ ...valid.event, texts: ['ok', 'b\u0000d'] })), logErrorCodes.invalid, '/texts/1', 'NUL');
  });

  test('unknown lines: [FOO], plain text, a wrapper around an unknown line, an object that is neither', () => {
    rejected(make('[FOO] 2026-09-23T19:52:07,254 - something happened'), logErrorCodes.unrecognised, '[JSSACCESSLOG]', '"[FOO] 2026-09-23T19:52:07,254 - somethin…"');
    rejected(make('hello'), logErrorCodes.unrecognised, '"hello"');
    rejected(make(JSON.stringify({ time: '2026-09-23T19:52:07Z', message: '[FOO] bar' })), logErrorCodes.unrecognised, 'wrapped line', '[FOO] bar');
    rejected(make('{"foo":1}'), logErrorCodes.invalid, '/header', '/host_info');
  });
});

describe('unwrapLine', () => {
  test('a raw line as it is; the S3 wrapper gives its line and time; JSON that is no wrapper is refused', () => {
    assert.deepEqual(unwrapLine(accessRaw[0]!), { ok: true, line: accessRaw[0], wrapped: false });
    assert.deepEqual(unwrapLine(`${accessRaw[0]}\n`), { ok: true, line: accessRaw[0], wrapped: false });
    assert.deepEqual(unwrapLine(accessWrapped[0]!), { ok: true, line: accessRaw[0], time: '2026-09-23T19:52:07.25531106Z', wrapped: true });
    assert.deepEqual(unwrapLine(JSON.stringify({ message: changeRaw[2] })), { ok: true, line: changeRaw[2], wrapped: true });
    for (const bad of ['{"time":"x"}', '{"message":[1]}', '{"message":"m","time":{}}', '{"message":', '{}']) {
      const r = unwrapLine(bad);
      assert.equal(r.ok, false, bad);
    }
  });
});
