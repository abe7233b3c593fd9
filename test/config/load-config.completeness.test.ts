import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigInvalidError } from '../../src/errors.ts';
import { configWithConnectors } from '../helpers/connector-harness.ts';

// The completeness settings (docs/completeness.md): their defaults, and a clear error naming the
// setting for a bad value.

const di = { name: 'acme-jc', type: 'jumpcloud.directory_insights', api_key: 'k-0123456789' };
const inventory = { name: 'acme-jamf', type: 'jamf_pro.inventory', base_url: 'https://acme.jamfcloud.com', client_id: 'c', client_secret: 's' };

function problemsOf(entries: Record<string, unknown>[], env: Record<string, string> = {}): string[] {
  try {
    configWithConnectors(entries, env);
  } catch (err) {
    assert.ok(err instanceof ConfigInvalidError, String(err));
    return err.problems;
  }
  assert.fail('expected ConfigInvalidError');
}

test('defaults: verify_after 15m, verify_window 1h, missed_webhook_tolerance 10m, no expect_events_within, an empty webhook tenant', () => {
  const config = configWithConnectors([di, inventory]);
  const [jc, jamf] = config.connectors;
  assert.equal(jc!.settings.verify_after, '15m');
  assert.equal(jc!.settings.verify_window, '1h');
  assert.equal(jamf!.settings.missed_webhook_tolerance, '10m');
  assert.equal(jc!.expectEventsWithinMs, undefined);
  assert.equal(config.webhookTenant, '');
});

test('ORCHARD_WEBHOOK_TENANT sets the webhook route\'s tenant; expect_events_within is a duration', () => {
  const config = configWithConnectors([{ ...di, expect_events_within: '2h' }, { ...inventory, missed_webhook_tolerance: 'off' }], { ORCHARD_WEBHOOK_TENANT: 'acme' });
  assert.equal(config.webhookTenant, 'acme');
  assert.equal(config.connectors[0]!.expectEventsWithinMs, 7_200_000);
  assert.equal(config.connectors[1]!.settings.missed_webhook_tolerance, 'off');
  assert.equal(configWithConnectors([{ ...di, verify_after: 'off' }]).connectors[0]!.settings.verify_after, 'off');
});

test('bad values are refused, each naming its setting', () => {
  const problems = problemsOf([
    { ...di, verify_after: 'soon', expect_events_within: 'off' },
    { ...di, name: 'other-jc', verify_window: '30s' },
    { ...di, name: 'third-jc', verify_window: '2d' },
    { ...inventory, missed_webhook_tolerance: '10 minutes' },
  ]).join('\n');
  assert.match(problems, /verify_after/);
  assert.match(problems, /expect_events_within/);
  assert.match(problems, /other-jc.*verify_window: 30s is not between 1m and 1d/);
  assert.match(problems, /third-jc.*verify_window: 2d is not between 1m and 1d/);
  assert.match(problems, /missed_webhook_tolerance/);
});
