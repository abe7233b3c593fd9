import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { configSchemaFor } from '../../src/config/load-config.ts';
import { unknownEnvironmentSettings } from '../../src/config/env-overlay.ts';
import { ConfigInvalidError } from '../../src/errors.ts';
import { loadOrchardConfig, sourceDescriptors } from '../../src/sources/index.ts';

// NAME_FILE for every secret setting and every ${NAME} of the configuration file (Docker secrets,
// systemd credentials).

const dir = mkdtempSync(join(tmpdir(), 'orchard-secret-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function secretFile(text: string): string {
  const file = join(dir, `secret-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, text, { mode: 0o600 });
  return file;
}

function problems(env: Record<string, string>): string[] {
  try {
    loadOrchardConfig(env, dir);
  } catch (err) {
    if (err instanceof ConfigInvalidError) return err.problems;
    throw err;
  }
  return [];
}

test('each secret setting can come from NAME_FILE, less one trailing newline', () => {
  const config = loadOrchardConfig(
    {
      ORCHARD_WEBHOOK_SECRETS_FILE: secretFile('old-secret-0123456789,new-secret-0123456789\n'),
      ORCHARD_PROTECT_SECRETS_FILE: secretFile('protect-secret-0123456789\r\n'),
      ORCHARD_LOGS_SECRETS_FILE: secretFile('logs-secret-0123456789'),
      REDIS_URL_FILE: secretFile('redis://:p%40ss@127.0.0.1:6390\n'),
    },
    dir,
  );
  assert.deepEqual(config.webhookSecrets, ['old-secret-0123456789', 'new-secret-0123456789']);
  assert.deepEqual(config.protectSecrets, ['protect-secret-0123456789']);
  assert.deepEqual(config.logsSecrets, ['logs-secret-0123456789']);
  assert.equal(config.redisUrl, 'redis://:p%40ss@127.0.0.1:6390');
  const basic = loadOrchardConfig({ ORCHARD_WEBHOOK_AUTH: 'basic', ORCHARD_WEBHOOK_BASIC_USERNAME: 'jamf', ORCHARD_WEBHOOK_BASIC_PASSWORD_FILE: secretFile('basic-password-0123\n') }, dir);
  assert.equal(basic.webhookBasicPassword, 'basic-password-0123');
});

test('a ${NAME} in the configuration file can come from NAME_FILE (connector credentials); only one newline is taken off', () => {
  const config = join(dir, 'orchard.yml');
  writeFileSync(config, 'connectors:\n  - name: jc\n    type: jumpcloud.system_users\n    api_key: ${JC_KEY}\n');
  const loaded = loadOrchardConfig({ ORCHARD_CONFIG: config, JC_KEY_FILE: secretFile('key-from-a-file-0123456789\n') }, dir);
  assert.equal(loaded.connectors[0]!.settings.api_key, 'key-from-a-file-0123456789');
  const twoNewlines = loadOrchardConfig({ ORCHARD_CONFIG: config, JC_KEY_FILE: secretFile('key-two-newlines\n\n') }, dir);
  assert.equal(twoNewlines.connectors[0]!.settings.api_key, 'key-two-newlines\n');
  assert.deepEqual(problems({ ORCHARD_CONFIG: config }), ['connectors #1 (jc).api_key: refers to ${JC_KEY}, but the environment variable JC_KEY is not set (nor JC_KEY_FILE)']);
});

test('NAME and NAME_FILE both set, or an unreadable file, is a problem naming NAME_FILE; the value is never shown', () => {
  const value = 'both-set-secret-0123456789';
  const both = problems({ ORCHARD_WEBHOOK_SECRETS: value, ORCHARD_WEBHOOK_SECRETS_FILE: secretFile(value) });
  assert.deepEqual(both, ['ORCHARD_WEBHOOK_SECRETS_FILE and ORCHARD_WEBHOOK_SECRETS are both set: set one (ORCHARD_WEBHOOK_SECRETS_FILE names a file holding the value)']);
  assert.deepEqual(problems({ REDIS_URL_FILE: join(dir, 'missing') }), [`REDIS_URL_FILE: cannot read ${join(dir, 'missing')}: ENOENT`]);
  if (process.getuid?.() !== 0) {
    const unreadable = secretFile('x');
    chmodSync(unreadable, 0o000);
    assert.deepEqual(problems({ ORCHARD_LOGS_SECRETS_FILE: unreadable }), [`ORCHARD_LOGS_SECRETS_FILE: cannot read ${unreadable}: EACCES`]);
  }
  assert.ok(!both.join('\n').includes(value));
});

test('the NAME_FILE variables are known settings: no "not an Orchard setting" warning', () => {
  const properties = configSchemaFor(sourceDescriptors).properties;
  assert.deepEqual(unknownEnvironmentSettings({ ORCHARD_WEBHOOK_SECRETS_FILE: '/run/secrets/x', ORCHARD_PROTECT_SECRETS_FILE: '/x' }, properties), []);
  assert.equal(unknownEnvironmentSettings({ ORCHARD_PORT_FILE: '/x' }, properties).length, 1, 'only secret settings have a _FILE variant');
});
