import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { closestName } from '../../src/config/closest-name.ts';
import { descriptorOf, loadOrchardConfig as loadConfig, sourceDescriptors } from '../../src/sources/index.ts';
import { inventoryApiVersions, inventoryPathOf } from '../../src/sources/jamf-pro-inventory/api-versions.ts';
import { jamfProTokenPath, jamfProVersionPath } from '../../src/sources/jamf-pro/jamf-pro-api.ts';
import { mobileDevicesPath } from '../../src/sources/jamf-pro-mobile-devices/jamf-pro-mobile-devices-source.ts';
import { graphqlPath, tokenPath } from '../../src/sources/jamf-protect-alerts/jamf-protect-alerts-source.ts';
import { eventsPath } from '../../src/sources/jumpcloud-directory-insights/directory-insights-source.ts';
import { systemUsersPath } from '../../src/sources/jumpcloud-system-users/system-users-source.ts';
import { ConfigInvalidError } from '../../src/errors.ts';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/srv');
  } catch (err) {
    assert.ok(err instanceof ConfigInvalidError);
    return err.problems;
  }
  assert.fail('expected ConfigInvalidError');
}

function withFile(text: string, run: (file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'orchard-config-'));
  try {
    const file = join(dir, 'orchard.yml');
    writeFileSync(file, text);
    run(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('loadConfig', () => {
  test('trusted_addresses: addresses and CIDRs; anything else is refused by name', () => {
    assert.deepEqual(loadConfig({ ORCHARD_TRUSTED_ADDRESSES: '203.0.113.0/24, 198.51.100.7,2001:db8::/32' }, '/srv').trustedAddresses, ['203.0.113.0/24', '198.51.100.7', '2001:db8::/32']);
    assert.throws(
      () => loadConfig({ ORCHARD_TRUSTED_ADDRESSES: 'jamf.example.com,10.0.0.0/40' }, '/srv'),
      (err: ConfigInvalidError) =>
        err.problems.some((p) => p.startsWith('ORCHARD_TRUSTED_ADDRESSES: jamf.example.com is not an IP address or CIDR')) &&
        err.problems.some((p) => p.includes('10.0.0.0/40 is not an IP address or CIDR')),
    );
  });

  test('defaults are the ones DESIGN.md names', () => {
    const c = loadConfig({}, '/srv');
    assert.equal(c.redisUrl, undefined);
    assert.equal(c.dataDir, '/srv/data');
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.port, 9202);
    assert.equal(c.stream, 'orchard:events');
    assert.equal(c.rejectedStream, 'orchard:rejected');
    assert.equal(c.rejectedStreamMaxLen, 0, 'every refused body kept unless a cap is set');
    assert.equal(c.webhookPath, '/jamf-pro-events');
    assert.equal(c.webhookHeader, 'X-Orchard-Secret');
    assert.equal(c.webhookSecrets, undefined);
    assert.equal(c.webhookAuth, 'header');
    assert.equal(c.dedupWindowSeconds, 3600);
    assert.equal(c.bodyLimitBytes, 1048576);
    assert.equal(c.logLevel, 'info');
    assert.deepEqual(c.connectors, []);
  });

  test('the local spool: on by default with 1 GiB; ORCHARD_SPOOL and ORCHARD_SPOOL_MAX_BYTES are checked by name', () => {
    const c = loadConfig({}, '/srv');
    assert.equal(c.spool, 'on');
    assert.equal(c.spoolMaxBytes, 1073741824);
    assert.equal(loadConfig({ ORCHARD_SPOOL: 'off', ORCHARD_SPOOL_MAX_BYTES: '65536' }, '/srv').spoolMaxBytes, 65536);
    const found = problems({ ORCHARD_SPOOL: 'maybe', ORCHARD_SPOOL_MAX_BYTES: '1000' });
    assert.ok(found.some((p) => /^ORCHARD_SPOOL \(spool\): must be one of/.test(p)), found.join('\n'));
    assert.ok(found.some((p) => /^ORCHARD_SPOOL_MAX_BYTES \(spool_max_bytes\): must be >= 65536/.test(p)), found.join('\n'));
  });

  test('the result is frozen, deeply', () => {
    const c = loadConfig({ ORCHARD_WEBHOOK_SECRETS: 'aaaaaaaaaaaaaaaa' }, '/srv');
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.webhookSecrets));
    assert.throws(() => {
      (c as { port: number }).port = 1;
    });
  });

  test('environment values are converted: integers, comma lists, trust_proxy', () => {
    const c = loadConfig(
      { PORT: '8080', ORCHARD_WEBHOOK_SECRETS: ' aaaaaaaaaaaaaaaa , bbbbbbbbbbbbbbbb ,', ORCHARD_TRUST_PROXY: '10.0.0.0/8, 127.0.0.1', ORCHARD_DATA_DIR: '/var/lib/orchard' },
      '/srv',
    );
    assert.equal(c.port, 8080);
    assert.deepEqual(c.webhookSecrets, ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb']);
    assert.deepEqual(c.trustProxy, ['10.0.0.0/8', '127.0.0.1']);
    assert.equal(c.dataDir, '/var/lib/orchard');
    assert.equal(loadConfig({ ORCHARD_TRUST_PROXY: 'true' }).trustProxy, true);
  });

  test('an empty environment variable counts as unset', () => {
    assert.equal(loadConfig({ PORT: '', REDIS_URL: '' }).port, 9202);
  });

  test('auth mode: basic when its user is set, none only when asked for', () => {
    assert.equal(loadConfig({ ORCHARD_WEBHOOK_BASIC_USERNAME: 'jamf', ORCHARD_WEBHOOK_BASIC_PASSWORD: 'pppppppppppppppp' }).webhookAuth, 'basic');
    assert.equal(loadConfig({ ORCHARD_WEBHOOK_AUTH: 'none' }).webhookAuth, 'none');
    assert.deepEqual(problems({ ORCHARD_WEBHOOK_BASIC_USERNAME: 'jamf' }), [
      'ORCHARD_WEBHOOK_AUTH=basic needs both ORCHARD_WEBHOOK_BASIC_USERNAME and ORCHARD_WEBHOOK_BASIC_PASSWORD',
    ]);
  });

  test('limits are checked at their edges', () => {
    assert.equal(loadConfig({ PORT: '65535' }).port, 65535);
    assert.deepEqual(problems({ PORT: '65536' }), ['PORT (port): must be <= 65535']);
    assert.equal(loadConfig({ ORCHARD_WEBHOOK_SECRETS: 'x'.repeat(16) }).webhookSecrets![0], 'x'.repeat(16));
    assert.equal(problems({ ORCHARD_WEBHOOK_SECRETS: 'x'.repeat(15) }).length, 1);
    assert.equal(loadConfig({ ORCHARD_BODY_LIMIT_BYTES: '1024' }).bodyLimitBytes, 1024);
    assert.deepEqual(problems({ ORCHARD_BODY_LIMIT_BYTES: '1023' }), ['ORCHARD_BODY_LIMIT_BYTES (body_limit_bytes): must be >= 1024']);
    assert.deepEqual(problems({ ORCHARD_DEDUP_WINDOW_SECONDS: '0' }), ['ORCHARD_DEDUP_WINDOW_SECONDS (dedup_window_seconds): must be >= 1']);
  });

  test('cross-setting rules', () => {
    assert.deepEqual(problems({ ORCHARD_TLS_CERT_FILE: '/c.pem' }), ['tls_cert_file and tls_key_file (ORCHARD_TLS_CERT_FILE, ORCHARD_TLS_KEY_FILE) must be set together']);
    assert.deepEqual(problems({ ORCHARD_STREAM: 'x', ORCHARD_REJECTED_STREAM: 'x' }), ['ORCHARD_REJECTED_STREAM (rejected_stream) must differ from ORCHARD_STREAM (stream)']);
    assert.deepEqual(problems({ PORT: '9300', ORCHARD_ADMIN_PORT: '9300' }), ['ORCHARD_ADMIN_PORT (admin_port) must differ from PORT (port)']);
    for (const header of ['Host', 'content-length', 'User-Agent', 'Accept-Encoding', 'Content-Type']) {
      assert.equal(problems({ ORCHARD_WEBHOOK_HEADER: header }).length, 1, header);
    }
    assert.deepEqual(problems({ ORCHARD_WEBHOOK_HEADER: 'X Bad' }), ["ORCHARD_WEBHOOK_HEADER (webhook_header): must be an HTTP header name (letters, digits and !#$%&'*+.^_`|~-), such as X-Orchard-Secret"]);
  });

  test('a YAML file sets values, the environment wins, ${VAR} is substituted', () => {
    withFile('port: 9400\nstream: "{acme}:events"\nwebhook_secrets: ["${HOOK_SECRET}", "literal-secret-0123456789"]\nlog_level: debug\n', (file) => {
      const c = loadConfig({ ORCHARD_CONFIG: file, HOOK_SECRET: 'from-env-0123456789', LOG_LEVEL: 'warn' });
      assert.equal(c.port, 9400);
      assert.equal(c.stream, '{acme}:events');
      assert.deepEqual(c.webhookSecrets, ['from-env-0123456789', 'literal-secret-0123456789']);
      assert.equal(c.logLevel, 'warn');
      assert.equal(c.configFile, file);
    });
  });

  test('substitution happens in values, after parsing: a variable cannot inject YAML', () => {
    withFile('stream: "${EVIL}"\n', (file) => {
      const c = loadConfig({ ORCHARD_CONFIG: file, EVIL: 'x\nport: 1' });
      assert.equal(c.stream, 'x\nport: 1');
      assert.equal(c.port, 9202);
    });
  });

  test('file problems: unreadable, not YAML, not a mapping', () => {
    assert.match(problems({ ORCHARD_CONFIG: '/nonexistent/orchard.yml' })[0]!, /ORCHARD_CONFIG: cannot read \/nonexistent\/orchard.yml: ENOENT/);
    withFile('port: [1, 2\n', (file) => assert.match(problems({ ORCHARD_CONFIG: file })[0]!, /is not valid YAML/));
    withFile('- a\n- b\n', (file) => assert.match(problems({ ORCHARD_CONFIG: file })[0]!, /must hold a YAML mapping/));
    withFile('', (file) => assert.equal(loadConfig({ ORCHARD_CONFIG: file }).port, 9202));
  });

  test('connectors: names, types, intervals and start are validated with the entry named', () => {
    withFile(
      'connectors:\n  - name: Bad Name\n    type: jamf_pro.inventory\n    interval: soon\n    start: yesterday\n  - type: jumpcloud.system_users\n',
      (file) => {
        const found = problems({ ORCHARD_CONFIG: file });
        assert.ok(found.includes('connectors #1 (Bad Name).name: must be 1 to 63 lower-case letters, digits, - and _, starting with a letter or digit'), found.join('\n'));
        assert.ok(found.includes('connectors #1 (Bad Name).interval: "soon" is not a duration: give a duration such as 15m: a whole number and a unit, ms, s, m, h or d (30s, 5m, 24h)'));
        assert.ok(found.includes('connectors #1 (Bad Name).start: must be an RFC 3339 time such as 2026-11-01T00:00:00Z'));
        assert.equal(found.length, new Set(found).size, 'each problem once');
        assert.ok(found.some((p) => p === 'connectors #1 (Bad Name).client_secret: missing (required for type jamf_pro.inventory)'));
        assert.ok(found.some((p) => p === 'connectors #2.name: missing (required for type jumpcloud.system_users)'));
      },
    );
  });

  test('connectors: each type has its own settings; a typo, a wrong value or a duplicate name is named with its entry', () => {
    withFile(
      [
        'connectors:',
        '  - name: acme-jamf',
        '    type: jamf_pro.inventory',
        '    base_url: https://acme.jamfcloud.com/',
        '    client_id: abc',
        '    client_secrt: ${JAMF_SECRET}',
        '    sections: [GENERAL, BOGUS]',
        '    page_size: 5000',
        '  - name: acme-jamf',
        '    type: jumpcloud.directory_insights',
        '    api_key: k',
        '    interval: 0s',
        '  - name: x',
        '    type: jamf_pro.everything',
        '',
      ].join('\n'),
      (file) => {
        const found = problems({ ORCHARD_CONFIG: file, JAMF_SECRET: 's' });
        assert.deepEqual(found.sort(), [
          'connectors #1 (acme-jamf).client_secret: missing (required for type jamf_pro.inventory)',
          "connectors #1 (acme-jamf).client_secrt: unknown setting (did you mean client_secret? check the spelling; see docs/settings.md, connector settings for jamf_pro.inventory)",
          'connectors #1 (acme-jamf).page_size: must be <= 2000',
          `connectors #1 (acme-jamf).sections[1]: must be one of ${['GENERAL', 'DISK_ENCRYPTION', 'PURCHASING', 'APPLICATIONS', 'STORAGE', 'USER_AND_LOCATION', 'CONFIGURATION_PROFILES', 'PRINTERS', 'SERVICES', 'HARDWARE', 'LOCAL_USER_ACCOUNTS', 'CERTIFICATES', 'ATTACHMENTS', 'PLUGINS', 'PACKAGE_RECEIPTS', 'FONTS', 'SECURITY', 'OPERATING_SYSTEM', 'LICENSED_SOFTWARE', 'IBEACONS', 'SOFTWARE_UPDATES', 'EXTENSION_ATTRIBUTES', 'CONTENT_CACHING', 'GROUP_MEMBERSHIPS'].join(', ')}`,
          'connectors #2 (acme-jamf).interval: must be longer than 0',
          'connectors #2 (acme-jamf).name: "acme-jamf" is used by an earlier connector; names must be unique',
          'connectors #3 (x).type: must be one of jamf_pro.inventory, jamf_pro.mobile_devices, jamf_protect.alerts, jumpcloud.directory_insights, jumpcloud.system_users',
        ].sort());
      },
    );
  });

  test('JumpCloud: an API key or a Service Account, one organization or several, each problem named', () => {
    const jc = (lines: string[]) => ['connectors:', '  - name: jc', '    type: jumpcloud.directory_insights', ...lines.map((l) => `    ${l}`), ''].join('\n');
    const cases: [string[], string[]][] = [
      [[], ['connectors #1 (jc).api_key: missing (required for type jumpcloud.directory_insights, unless client_id and client_secret of a Service Account are set)']],
      [['api_key: k', 'client_id: c', 'client_secret: s'], ['connectors #1 (jc).client_id: set together with api_key; use one: api_key (an API key), or client_id and client_secret (a Service Account)']],
      [['client_id: c'], ['connectors #1 (jc).client_secret: missing (client_id is set: a Service Account needs both)']],
      [['client_secret: [a, b]'], ['connectors #1 (jc).client_id: missing (client_secret is set: a Service Account needs both)']],
      [['client_id: c', 'client_secret: [a, b, c]'], ['connectors #1 (jc).client_secret: must NOT have more than 2 items']],
      [['api_key: k', 'org_id: o1', 'org_ids: [o1, o2]'], ['connectors #1 (jc).org_ids: set together with org_id; use one: org_id (one organization) or org_ids (several, or all)']],
      [['api_key: k', 'tenants: {o1: acme}'], ['connectors #1 (jc).tenants: only used with org_ids (with org_id or one organization, set tenant)']],
      [['api_key: k', 'services: [all, Not-A-Service]'], ['connectors #1 (jc).services[1]: must be 1 to 40 lower-case letters, digits and _, such as directory or sso']],
    ];
    for (const [lines, expected] of cases) {
      withFile(jc(lines), (file) => assert.deepEqual(problems({ ORCHARD_CONFIG: file }), expected, lines.join('; ')));
    }
    withFile(jc(['api_key: k', 'org_ids: everything']), (file) => {
      const found = problems({ ORCHARD_CONFIG: file });
      assert.ok(found.length > 0 && found.every((p) => p.startsWith('connectors #1 (jc).org_ids')), found.join('; '));
    });
    for (const ok of [
      ['client_id: c', 'client_secret: s'],
      ['client_id: c', 'client_secret: [old-secret, new-secret]', 'org_ids: all', 'tenants: {5f0c: acme}'],
      ['api_key: k', 'org_ids: [5f0c, 61a2]', 'services: [saas_app_management, access_management, device_trust]'],
    ]) {
      withFile(jc(ok), (file) => {
        const config = loadConfig({ ORCHARD_CONFIG: file, ORCHARD_WEBHOOK_SECRETS: 'unused-secret-0123456789' }, '/srv');
        assert.equal(config.connectors[0]!.settings.token_url, 'https://admin-oauth.id.jumpcloud.com/oauth2/token', 'the documented default');
      });
    }
  });

  test('a ${VAR} that is not set is one problem, not also "must NOT have fewer than 1 characters"', () => {
    withFile('connectors:\n  - name: acme-protect\n    type: jamf_protect.alerts\n    base_url: https://acme.protect.jamfcloud.com\n    client_id: abc\n    password: ${ACME_PROTECT_PASSWORD}\n', (file) => {
      assert.deepEqual(problems({ ORCHARD_CONFIG: file }), ['connectors #1 (acme-protect).password: refers to ${ACME_PROTECT_PASSWORD}, but the environment variable ACME_PROTECT_PASSWORD is not set (nor ACME_PROTECT_PASSWORD_FILE)']);
    });
  });

  test('a misspelt setting gets the nearest known name; a base_url without a scheme gets https://', () => {
    const text = ['log_levle: info', 'connectors:', '  - name: inv', '    type: jamf_pro.inventory', '    base_url: acme.jamfcloud.com', '    client_id: a', '    client_secret: b', '    page_sise: 100', '    zzz: 1', ''].join('\n');
    withFile(text, (file) => {
      assert.deepEqual(problems({ ORCHARD_CONFIG: file }).sort(), [
        'connectors #1 (inv).base_url: must be an http:// or https:// URL without spaces, a query or a fragment; did you mean https://acme.jamfcloud.com?',
        "connectors #1 (inv).page_sise: unknown setting (did you mean page_size? check the spelling; see docs/settings.md, connector settings for jamf_pro.inventory)",
        "connectors #1 (inv).zzz: unknown setting (check the spelling; see docs/settings.md, connector settings for jamf_pro.inventory)",
        "log_levle: unknown setting (did you mean log_level? check the spelling; see docs/settings.md)",
      ]);
    });
    for (const [written, meant] of [
      ['jamf.corp.example:8443', 'https://jamf.corp.example:8443'],
      ['acme.jamfcloud.com/api/v1', 'https://acme.jamfcloud.com'],
      ['proxy.example.com/jamf', 'https://proxy.example.com/jamf'],
    ]) {
      withFile(`connectors:\n  - name: inv\n    type: jamf_pro.inventory\n    base_url: ${written}\n    client_id: a\n    client_secret: b\n`, (file) => {
        const found = problems({ ORCHARD_CONFIG: file });
        assert.equal(found.length, 1, found.join('; '));
        assert.ok(found[0]!.endsWith(`; did you mean ${meant}?`), found[0]);
      });
    }
    assert.equal(closestName('sectoins', ['sections', 'start']), 'sections');
    assert.equal(closestName('tpye', ['type', 'name']), 'type');
    assert.equal(closestName('url', ['base_url', 'name']), undefined);
  });

  test('onlyConnector (orchard test, checkpoint): only the named entry is read; a name no entry has is the one problem', () => {
    const text = [
      'connectors:',
      '  - name: acme-jamf',
      '    type: jamf_pro.inventory',
      '    base_url: https://acme.jamfcloud.com',
      '    client_id: abc',
      '    client_secret: ${ACME_JAMF_CLIENT_SECRET}',
      '  - name: acme-jumpcloud',
      '    type: ${JC_TYPE}',
      '    base_url: ${JC_URL}',
      '    interval: ${JC_INTERVAL}',
      '    api_key: ${ACME_JUMPCLOUD_KEY}',
      '',
    ].join('\n');
    withFile(text, (file) => {
      const env = { ORCHARD_CONFIG: file, ACME_JAMF_CLIENT_SECRET: 's3cret' };
      const config = loadConfig(env, '/srv', { onlyConnector: 'acme-jamf' });
      assert.deepEqual(
        config.connectors.map((c) => [c.name, c.settings.client_secret]),
        [['acme-jamf', 's3cret']],
      );
      assert.throws(
        () => loadConfig({ ORCHARD_CONFIG: file, ACME_JUMPCLOUD_KEY: 'k' }, '/srv', { onlyConnector: 'acme-jamf' }),
        (err: unknown) => err instanceof ConfigInvalidError && err.problems.length === 1 && err.problems[0]!.startsWith('connectors #1 (acme-jamf).client_secret: refers to ${ACME_JAMF_CLIENT_SECRET}'),
      );
      assert.throws(
        () => loadConfig(env, '/srv', { onlyConnector: 'acme-jaf' }),
        (err: unknown) => err instanceof ConfigInvalidError && err.problems[0] === `No connector named "acme-jaf" in ${file}. Configured: acme-jamf, acme-jumpcloud. Did you mean acme-jamf?`,
      );
      // Every entry counts for serve.
      assert.ok(problems(env).includes('connectors #2 (acme-jumpcloud).api_key: refers to ${ACME_JUMPCLOUD_KEY}, but the environment variable ACME_JUMPCLOUD_KEY is not set (nor ACME_JUMPCLOUD_KEY_FILE)'));
    });
  });

  test('the push routes need distinct paths, and a route header needs its secrets', () => {
    const found = problems({ ORCHARD_WEBHOOK_SECRETS: 'x'.repeat(20), ORCHARD_PROTECT_PATH: '/jamf-pro-events', ORCHARD_LOGS_HEADER: 'X-Logs' });
    assert.deepEqual(found.sort(), [
      "ORCHARD_LOGS_HEADER is set without logs_secrets (ORCHARD_LOGS_SECRETS): give the route its secrets too, or unset it to use the webhook's authentication",
      'ORCHARD_PROTECT_PATH (protect_path) is /jamf-pro-events, the same as ORCHARD_WEBHOOK_PATH (webhook_path): each push route needs its own path',
    ]);
  });

  test('connectors: a base_url with credentials is refused without quoting it', () => {
    withFile('connectors:\n  - name: fleet\n    type: jamf_pro.inventory\n    base_url: https://admin:CANARY@acme.jamfcloud.com\n    client_id: a\n    client_secret: b\n', (file) => {
      const found = problems({ ORCHARD_CONFIG: file });
      assert.deepEqual(found, ["connectors #1 (fleet).base_url: must not carry a user, password, query or fragment (credentials go in the connector's own settings)"]);
    });
  });

  test('connectors: a base_url copied from an API address is refused with the base to use; a proxy prefix is kept', () => {
    const credentials: Record<string, string> = {
      'jumpcloud.directory_insights': '    api_key: k\n',
      'jumpcloud.system_users': '    api_key: k\n',
      'jamf_pro.inventory': '    client_id: a\n    client_secret: b\n',
      'jamf_protect.alerts': '    client_id: a\n    password: b\n',
    };
    const file = (type: string, url: string) => `connectors:\n  - name: c\n    type: ${type}\n    base_url: ${url}\n${credentials[type]}`;
    const refused: Array<[string, string, string]> = [
      ['jumpcloud.directory_insights', 'https://console.jumpcloud.com/api', 'https://console.jumpcloud.com'],
      ['jumpcloud.directory_insights', 'https://console.eu.jumpcloud.com/insights/directory/v1/events', 'https://console.eu.jumpcloud.com'],
      ['jumpcloud.system_users', 'https://console.jumpcloud.com/api/systemusers', 'https://console.jumpcloud.com'],
      ['jumpcloud.system_users', 'https://console.jumpcloud.com/api/v2/', 'https://console.jumpcloud.com'],
      ['jumpcloud.system_users', 'https://console.jumpcloud.com/api/systems', 'https://console.jumpcloud.com'],
      ['jamf_pro.inventory', 'https://acme.jamfcloud.com/api/v1/computers-inventory', 'https://acme.jamfcloud.com'],
      ['jamf_pro.inventory', 'https://acme.jamfcloud.com/api/oauth/token', 'https://acme.jamfcloud.com'],
      ['jamf_pro.inventory', 'https://acme.jamfcloud.com/api/doc/', 'https://acme.jamfcloud.com'],
      ['jamf_pro.inventory', 'https://acme.jamfcloud.com/uapi', 'https://acme.jamfcloud.com'],
      ['jamf_pro.inventory', 'https://proxy.example.com/jamf/JSSResource', 'https://proxy.example.com/jamf'],
      ['jamf_pro.inventory', 'https://gw.example.com/api/v1/jamf/api/v1/computers-inventory', 'https://gw.example.com/api/v1/jamf'],
      ['jamf_protect.alerts', 'https://acme.protect.jamfcloud.com/graphql', 'https://acme.protect.jamfcloud.com'],
      ['jamf_protect.alerts', 'https://acme.protect.jamfcloud.com/token', 'https://acme.protect.jamfcloud.com'],
    ];
    for (const [type, url, base] of refused) {
      withFile(file(type, url), (f) => {
        const found = problems({ ORCHARD_CONFIG: f });
        assert.equal(found.length, 1, `${type} ${url}: ${found.join('; ')}`);
        assert.match(found[0]!, /^connectors #1 \(c\)\.base_url: ends in \/\S+, a path of the API itself: .* use (\S+)$/);
        assert.equal(found[0]!.split(' use ').pop(), base, url);
      });
    }
    const accepted: Array<[string, string]> = [
      ['jamf_pro.inventory', 'https://acme.jamfcloud.com/'],
      ['jamf_pro.inventory', 'https://proxy.example.com/jamf'],
      ['jamf_pro.inventory', 'https://gateway.example.com/api/jamf'],
      ['jamf_pro.inventory', 'https://gateway.example.com/api/v1/jamf'],
      ['jamf_protect.alerts', 'https://proxy.example.com/protect'],
      ['jumpcloud.directory_insights', 'https://console.eu.jumpcloud.com'],
      ['jumpcloud.directory_insights', 'https://proxy.example.com/security/insights/jumpcloud'],
      ['jumpcloud.system_users', 'https://console.jumpcloud.com/'],
      ['jumpcloud.system_users', 'https://proxy.example.com/myapi'],
    ];
    for (const [type, url] of accepted) {
      withFile(file(type, url), (f) => {
        assert.equal(loadConfig({ ORCHARD_CONFIG: f }, '/srv').connectors[0]!.baseUrl, url.replace(/\/+$/, ''), url);
      });
    }
  });

  test('connectors: every path a source asks for is one a base_url may not end in', () => {
    const asked: Record<string, string[]> = {
      'jamf_pro.inventory': [...inventoryApiVersions.map(inventoryPathOf), jamfProTokenPath, jamfProVersionPath],
      'jamf_pro.mobile_devices': [mobileDevicesPath, jamfProTokenPath, jamfProVersionPath],
      'jamf_protect.alerts': [graphqlPath, tokenPath],
      'jumpcloud.directory_insights': [eventsPath],
      'jumpcloud.system_users': [systemUsersPath],
    };
    assert.deepEqual(Object.keys(asked).sort(), sourceDescriptors.map((d) => d.type).sort());
    for (const [type, paths] of Object.entries(asked)) {
      for (const path of paths) assert.ok(descriptorOf(type).apiPaths.includes(path), `${type}: ${path}`);
    }
  });

  test('connectors: defaults per type, interval in ms, base_url without a trailing slash, secrets from the environment', () => {
    withFile(
      'connectors:\n  - name: fleet\n    type: jamf_pro.inventory\n    base_url: https://acme.jamfcloud.com/\n    client_id: abc\n    client_secret: ${JAMF_SECRET}\n  - name: users\n    type: jumpcloud.system_users\n    api_key: ${JC_KEY}\n    enabled: false\n',
      (file) => {
        const c = loadConfig({ ORCHARD_CONFIG: file, JAMF_SECRET: 'jamf-secret', JC_KEY: 'jc-key' });
        const [fleet, users] = c.connectors;
        assert.equal(fleet!.intervalMs, 15 * 60_000);
        assert.equal(fleet!.baseUrl, 'https://acme.jamfcloud.com');
        assert.equal(fleet!.tenant, '');
        assert.equal(fleet!.maxConnections, 5);
        assert.deepEqual(fleet!.settings.sections, ['GENERAL', 'HARDWARE', 'OPERATING_SYSTEM']);
        assert.equal(fleet!.settings.page_size, 100);
        assert.equal(fleet!.settings.client_secret, 'jamf-secret');
        assert.equal(users!.intervalMs, 3_600_000);
        assert.equal(users!.baseUrl, 'https://console.jumpcloud.com');
        assert.equal(users!.enabled, false);
        assert.ok(Object.isFrozen(fleet!.settings));
      },
    );
  });

  test('REDIS_URL is checked as a URL and never quoted in the error (it may hold a password)', () => {
    for (const [url, expected] of [
      ['redis://user:CANARY@[::1', /is not a valid URL/],
      ['redis://u:CANARY@host:6390/abc', /the path must be a database number/],
      ['redis://u:%zzCANARY@host', /badly percent-encoded/],
      ['http://u:CANARY@host', /must start with redis:\/\/ or rediss:\/\//],
    ] as const) {
      const found = problems({ REDIS_URL: url });
      assert.equal(found.length, 1, url);
      assert.match(found[0]!, expected);
      assert.ok(!found[0]!.includes('CANARY'));
    }
    for (const ok of ['redis://127.0.0.1:6379', 'rediss://user:p%40ss@redis.example:6380/2', 'redis://[::1]:6379/0']) {
      assert.equal(loadConfig({ REDIS_URL: ok }).redisUrl, ok);
    }
  });

  test('a request may not outlive shutdown', () => {
    assert.deepEqual(problems({ ORCHARD_REQUEST_TIMEOUT_MS: '20000' }), [
      'ORCHARD_REQUEST_TIMEOUT_MS (request_timeout_ms) must be below ORCHARD_SHUTDOWN_TIMEOUT_MS (shutdown_timeout_ms), or a slow request outlives shutdown',
    ]);
  });
});
