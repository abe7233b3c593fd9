import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createAuthenticator, webhookAuthFromConfig } from '../../src/server/webhook-authenticator.ts';
import { ConfigInvalidError } from '../../src/errors.ts';
import { loadOrchardConfig } from '../../src/sources/index.ts';
import { accessLogLines, fixtureBytes, protectAlertLines } from '../helpers/fixtures.ts';
import { readStream, testSecret, useTestApp } from '../helpers/test-app.ts';

// Tenants for pushed events: each secret of webhook_tenant_secrets stands for a tenant, and what is
// pushed with it carries that tenant (docs/tenants.md).

const acmeOld = 'acme-old-secret-0123456789';
const acme = 'acme-new-secret-0123456789';
const globex = 'globex-secret-0123456789';

describe('the authenticator: accepted secret → tenant', () => {
  const auth = { mode: 'header' as const, header: 'X-Orchard-Secret', secrets: [testSecret], tenantSecrets: [{ tenant: 'acme', secret: acmeOld }, { tenant: 'acme', secret: acme }, { tenant: 'globex', secret: globex }] };

  test('each tenant secret gives its tenant, a plain secret the default tenant, anything else is refused', () => {
    const authenticate = createAuthenticator(auth);
    const with_ = (value: string) => authenticate({ 'x-orchard-secret': value });
    assert.equal(with_(acmeOld), 'acme');
    assert.equal(with_(acme), 'acme');
    assert.equal(with_(globex), 'globex');
    assert.equal(with_(testSecret), '');
    assert.equal(with_('not-a-secret-0123456789'), undefined);
    assert.equal(with_(`${globex}x`), undefined);
    assert.equal(authenticate({}), undefined);
    assert.equal(createAuthenticator(auth, 'house')({ 'x-orchard-secret': testSecret }), 'house', 'the default tenant of plain secrets is a parameter');
    assert.equal(createAuthenticator({ mode: 'none' })({}), '', 'no authentication: accepted, no tenant');
  });

  test('from the configuration: tenant=secret entries (environment, comma-separated), also without webhook_secrets', () => {
    const config = loadOrchardConfig({ ORCHARD_WEBHOOK_TENANT_SECRETS: `acme=${acme}, globex=${globex}` });
    assert.deepEqual(config.webhookTenantSecrets, [{ tenant: 'acme', secret: acme }, { tenant: 'globex', secret: globex }]);
    const auth = webhookAuthFromConfig(config);
    assert.ok(auth?.mode === 'header', 'tenant secrets alone are a configured authentication: nothing is generated');
    assert.equal(createAuthenticator(auth)({ 'x-orchard-secret': globex }), 'globex');
  });

  test('bad entries are refused, naming the setting and never showing the secret', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadOrchardConfig(env);
        return [];
      } catch (err) {
        assert.ok(err instanceof ConfigInvalidError);
        return err.problems;
      }
    };
    const bad = problems({ ORCHARD_WEBHOOK_TENANT_SECRETS: `acme:${acme}` });
    assert.deepEqual(bad, ['ORCHARD_WEBHOOK_TENANT_SECRETS (webhook_tenant_secrets[0]): must be tenant=secret: a tenant name (letters, digits, ., - and _, up to 100) then = then its secret (16 to 512 printable ASCII characters without spaces or commas)']);
    const shared = problems({ ORCHARD_WEBHOOK_SECRETS: globex, ORCHARD_WEBHOOK_TENANT_SECRETS: `acme=${acme},globex=${acme}` });
    assert.deepEqual(shared, ['ORCHARD_WEBHOOK_TENANT_SECRETS: tenant globex has the same secret as tenant acme; each tenant needs a secret of its own, or its events could not be told apart']);
    const plain = problems({ ORCHARD_WEBHOOK_SECRETS: globex, ORCHARD_WEBHOOK_TENANT_SECRETS: `globex=${globex}` });
    assert.match(plain[0]!, /tenant globex has the same secret as webhook_secrets/);
    const basic = problems({ ORCHARD_WEBHOOK_AUTH: 'basic', ORCHARD_WEBHOOK_BASIC_USERNAME: 'u', ORCHARD_WEBHOOK_BASIC_PASSWORD: 'p'.repeat(20), ORCHARD_WEBHOOK_TENANT_SECRETS: `acme=${acme}` });
    assert.match(basic[0]!, /need header authentication, but ORCHARD_WEBHOOK_AUTH is basic/);
    for (const p of [...bad, ...shared, ...plain, ...basic]) assert.ok(!p.includes(acme) && !p.includes(globex), p);
  });
});

describe('pushed events carry the tenant of their secret', () => {
  const ctx = useTestApp({ ORCHARD_WEBHOOK_TENANT_SECRETS: `acme=${acme},globex=${globex}` });
  const headers = (secret: string, type = 'application/json') => ({ 'content-type': type, 'x-orchard-secret': secret });
  const tenantOf = async (id: string) => (await readStream(ctx.t.redis, ctx.t.config.stream)).find((r) => r.fields.id === id)?.fields.tenant;

  test('Jamf Pro webhooks', async () => {
    const body = fixtureBytes('jamf_pro/webhook-templates-camelcase/ComputerAdded.json');
    const asAcme = await ctx.t.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: headers(acme), payload: body });
    assert.equal(asAcme.statusCode, 202, asAcme.body);
    assert.equal(await tenantOf(asAcme.json().id), 'acme');
    const other = fixtureBytes('jamf_pro/webhook-templates-camelcase/ComputerCheckIn.json');
    const plain = await ctx.t.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: headers(testSecret), payload: other });
    assert.equal(plain.statusCode, 202);
    assert.equal(await tenantOf(plain.json().id), '', 'a secret of no tenant: no tenant');
    const refused = await ctx.t.app.inject({ method: 'POST', url: '/jamf-pro-events', headers: headers('wrong-secret-0123456789'), payload: body });
    assert.equal(refused.statusCode, 401);
  });

  test('/status names the tenants that have secrets, never the secrets', async () => {
    const res = await ctx.t.app.inject({ method: 'GET', url: '/status' });
    assert.deepEqual(res.json().webhook.tenants, ['acme', 'globex']);
    assert.ok(!res.body.includes(acme) && !res.body.includes(globex));
  });

  test('Jamf Protect alerts and log lines, on routes that share the webhook authentication', async () => {
    const alert = protectAlertLines()[0]!;
    const protect = await ctx.t.app.inject({ method: 'POST', url: '/jamf-protect-events', headers: headers(globex), payload: alert });
    assert.equal(protect.statusCode, 202, protect.body);
    assert.equal(await tenantOf(protect.json().results[0].id), 'globex');
    const line = accessLogLines()[0]!;
    const logs = await ctx.t.app.inject({ method: 'POST', url: '/jamf-pro-logs', headers: headers(acme, 'application/x-ndjson'), payload: line });
    assert.equal(logs.statusCode, 202, logs.body);
    assert.equal(await tenantOf(logs.json().results[0].id), 'acme');
  });

  test('on a listening server, where the intake gate checks the secret and the route takes its tenant from the gate', async () => {
    const url = await ctx.t.app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const post = async (secret: string, name: string) => {
        const res = await fetch(`${url}/jamf-pro-events`, { method: 'POST', headers: headers(secret), body: new Uint8Array(fixtureBytes(`jamf_pro/webhook-templates-camelcase/${name}.json`)) });
        return { status: res.status, body: (await res.json()) as { id: string } };
      };
      const asGlobex = await post(globex, 'ComputerPolicyFinished');
      assert.equal(asGlobex.status, 202);
      assert.equal(await tenantOf(asGlobex.body.id), 'globex');
      const asAcme = await post(acme, 'ComputerPushCapabilityChanged');
      assert.equal(asAcme.status, 202);
      assert.equal(await tenantOf(asAcme.body.id), 'acme');
      assert.equal((await post('wrong-secret-0123456789', 'ComputerAdded')).status, 401);
    } finally {
      ctx.t.app.server.closeAllConnections();
    }
  });
});
