import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { OrchardError } from '../../../src/errors.ts';
import { readSchemaFolder } from '../../../src/schema/read-schema.ts';
import { eventTimeMs } from '../../../src/sources/jamf-pro-webhooks/webhook-record.ts';
import { allWebhookSchemas, webhookEventNames } from '../../../src/sources/jamf-pro-webhooks/webhook-schemas.ts';
import { WebhookValidator } from '../../../src/sources/jamf-pro-webhooks/webhook-validator.ts';
import { webhookTemplates } from '../../helpers/fixtures.ts';

const validator = new WebhookValidator();

describe('webhook schemas', () => {
  test('the files in schemas/jamf-pro-webhooks/ are what `npm run schemas` generates', () => {
    const files = readSchemaFolder('jamf-pro-webhooks');
    const generated = allWebhookSchemas();
    assert.deepEqual([...files.keys()].sort(), [...generated.keys()].sort());
    for (const [name, schema] of generated) assert.deepEqual(files.get(name), schema, `${name}.json is stale: run npm run schemas`);
  });

  test('one schema per documented event, 23 in all', () => {
    assert.equal(webhookEventNames.length, 23);
    assert.deepEqual(validator.knownEvents.sort(), [...webhookEventNames].sort());
  });

  test('each template validates against its own schema', () => {
    for (const [name, body] of webhookTemplates()) {
      const result = validator.validate(JSON.parse(String(body)));
      assert.equal(result.webhookEvent, name);
      assert.equal(result.known, true);
    }
  });

  const template = JSON.parse(String(webhookTemplates().get('ComputerCheckIn'))) as {
    webhook: Record<string, unknown>;
    event: { computer: Record<string, unknown> } & Record<string, unknown>;
  };
  const idValue = fc.oneof(fc.integer({ min: 0 }), fc.stringMatching(/^[0-9]{1,12}$/), fc.string(), fc.constant(null));
  const timestamp = fc.oneof(
    fc.integer({ min: 0, max: 9_999_999_999 }),
    fc.integer({ min: 1e12, max: 4_102_444_800_000 }),
    fc.integer({ min: 0, max: 9_999_999_999_999 }).map(String),
  );

  test('property: ids of any documented form, timestamps in s or ms, unknown fields are accepted', () => {
    fc.assert(
      fc.property(idValue, idValue, timestamp, fc.dictionary(fc.string().filter((k) => !(k in template.event.computer) && k !== '__proto__'), fc.jsonValue()), (webhookId, jssID, ts, extra) => {
        const body = {
          webhook: { ...template.webhook, id: webhookId, eventTimestamp: ts },
          event: { ...template.event, computer: { ...template.event.computer, jssID, managementId: jssID, ...extra } },
        };
        const result = validator.validate(JSON.parse(JSON.stringify(body)));
        assert.equal(result.webhookEvent, 'ComputerCheckIn');
        const ms = eventTimeMs(result.eventTimestamp);
        assert.ok(Number.isFinite(ms) && ms >= 0 && !Number.isNaN(new Date(ms).getTime()));
      }),
      { numRuns: 300 },
    );
  });

  test('property: an object or array where a scalar belongs is refused, naming that path', () => {
    const keys = Object.keys(template.event.computer);
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.oneof(fc.object(), fc.array(fc.integer(), { minLength: 1 })), (key, wrong) => {
        const body = { ...template, event: { ...template.event, computer: { ...template.event.computer, [key]: wrong } } };
        try {
          validator.validate(body);
        } catch (err) {
          assert.ok(err instanceof OrchardError);
          assert.ok(err.details.some((d) => (d as { path: string }).path === `/event/computer/${key}`));
          return;
        }
        assert.fail(`accepted ${key}: ${JSON.stringify(wrong)}`);
      }),
      { numRuns: 200 },
    );
  });

  test('property: arbitrary JSON never throws anything but a schema violation', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          validator.validate(value);
        } catch (err) {
          assert.ok(err instanceof OrchardError && err.code === 'ORCHARD_ERR_INTAKE_SCHEMA', String(err));
        }
      }),
      { numRuns: 500 },
    );
  });

  test('event time: 10 digits are seconds, 13 are milliseconds, strings of digits count as numbers', () => {
    assert.equal(eventTimeMs(1725269730), 1725269730000);
    assert.equal(eventTimeMs(9_999_999_999), 9_999_999_999_000);
    assert.equal(eventTimeMs(1725007720123), 1725007720123);
    assert.equal(eventTimeMs('1725007720123'), 1725007720123);
    assert.equal(eventTimeMs(1725269730.5), 1725269730500);
  });
});
