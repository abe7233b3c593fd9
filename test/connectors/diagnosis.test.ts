import assert from 'node:assert/strict';
import { test } from 'node:test';
import { diagnose, diagnoseConnector, isRetryable, type Diagnosis, type DiagnosisContext } from '../../src/connectors/diagnosis.ts';
import {
  ConfigInvalidError,
  SinkUnavailableError,
  VendorHttpError,
  VendorNetworkError,
  VendorResponseError,
  VendorGraphqlError,
  VendorResponseTooLargeError,
} from '../../src/errors.ts';

const context: DiagnosisContext = {
  connector: 'jamf-prod',
  settings: { baseUrl: 'https://acme.jamfcloud.com', credentials: ['client_id', 'client_secret'], request: ['sections', 'page_size'] },
};

function httpError(status: number, bodyExcerpt = '', retryAfterMs?: number): VendorHttpError {
  return new VendorHttpError({ connector: 'jamf-prod', method: 'GET', path: '/api/v1/computers-inventory?page=0', status, bodyExcerpt, retryAfterMs });
}

function networkError(errorCode: string, tls = false): VendorNetworkError {
  const cause = Object.assign(new Error(`connect ${errorCode}`), { code: errorCode });
  return new VendorNetworkError({ connector: 'jamf-prod', method: 'GET', path: '/api/v1/computers-inventory', errorCode, tls, cause });
}

function check(err: unknown, expected: Pick<Diagnosis, 'category' | 'retryable'> & { status?: number }): Diagnosis {
  const d = diagnose(err, context);
  assert.equal(d.category, expected.category);
  assert.equal(d.retryable, expected.retryable);
  assert.equal(d.status, expected.status);
  assert.equal(isRetryable(err), expected.retryable, 'isRetryable agrees with diagnose');
  // Full sentences.
  assert.match(d.cause, /^[A-Z].*\.$/s);
  assert.match(d.remedy, /^[A-Z].*\.$/s);
  return d;
}

test('400 is configuration, not retried, and names the settings that shape the request', () => {
  const d = check(httpError(400, '{"errors":[{"description":"Invalid section"}]}'), { category: 'configuration', retryable: false, status: 400 });
  assert.match(d.remedy, /connectors\[jamf-prod\]\.sections/);
  assert.match(d.remedy, /connectors\[jamf-prod\]\.page_size/);
  assert.match(d.remedy, /connectors\[jamf-prod\]\.base_url/);
  assert.match(d.cause, /Invalid section/);
  assert.match(d.cause, /GET \/api\/v1\/computers-inventory\)/, 'no query string');
});

test('401 is credentials, not retried, and the remedy names the credential settings', () => {
  const d = check(httpError(401), { category: 'credentials', retryable: false, status: 401 });
  assert.match(d.remedy, /connectors\[jamf-prod\]\.client_id and connectors\[jamf-prod\]\.client_secret/);
  assert.match(d.cause, /wrong, expired or revoked/);
});

test('400 invalid_client from an OAuth token endpoint is credentials', () => {
  check(httpError(400, '{"error":"invalid_client"}'), { category: 'credentials', retryable: false, status: 400 });
});

test('a token endpoint: 401 is a bad credential; 403, unauthorized_client and invalid_scope are a missing grant (permissions)', () => {
  const token = (status: number, body = '', credentialsTried?: number) =>
    new VendorHttpError({ connector: 'jamf-prod', method: 'POST', path: '/oauth2/token', status, bodyExcerpt: body, credentialsTried });
  const bad = check(token(401, '{"error":"invalid_client"}', 2), { category: 'credentials', retryable: false, status: 401 });
  assert.match(bad.cause, /each of its 2 client secrets tried/);
  assert.doesNotMatch(bad.cause, /fresh token/);
  for (const [status, body] of [[403, ''], [400, '{"error":"unauthorized_client"}'], [400, '{"error":"invalid_scope"}']] as const) {
    const d = check(token(status, body), { category: 'permissions', retryable: false, status });
    assert.match(d.cause, /accepted the credentials .* but does not grant them a token/);
    assert.match(d.remedy, /scope/);
  }
});

test('when the vendor says the credential expired, the diagnosis says so and quotes it', () => {
  const d = check(httpError(401, '{"message":"API key has expired"}'), { category: 'credentials', retryable: false, status: 401 });
  assert.match(d.cause, /reports that the credentials of connector jamf-prod expired/);
  assert.match(d.cause, /API key has expired/);
  assert.match(d.remedy, /Create a new secret or key/);
  const plain = check(httpError(401, '{"message":"Unauthorized"}'), { category: 'credentials', retryable: false, status: 401 });
  assert.doesNotMatch(plain.cause, /reports that/);
});

test('a field the vendor\'s schema does not serve is a response problem with the source\'s remedy', () => {
  const err = new VendorGraphqlError('jamf-prod', '/graphql', [{ message: "Validation error of type FieldUndefined: Field 'updated' in type 'Alert' is undefined" }], { field: 'Alert.updated', remedy: 'Set follow_updates: false.' });
  const d = check(err, { category: 'response', retryable: false });
  assert.equal(err.code, 'ORCHARD_ERR_VENDOR_GRAPHQL');
  assert.match(d.cause, /does not serve Alert\.updated/);
  assert.match(d.remedy, /^Set follow_updates: false\. Then run `orchard test jamf-prod`/);
});

test('403 is permissions, not retried, and the remedy names the connector and read privileges', () => {
  const d = check(httpError(403), { category: 'permissions', retryable: false, status: 403 });
  assert.match(d.remedy, /jamf-prod/);
  assert.match(d.remedy, /read privileges/);
});

test('404 is a wrong URL, not retried, and the remedy names base_url and its value', () => {
  const d = check(httpError(404), { category: 'url', retryable: false, status: 404 });
  assert.match(d.remedy, /connectors\[jamf-prod\]\.base_url/);
  assert.match(d.remedy, /https:\/\/acme\.jamfcloud\.com/);
});

test('a redirect is a wrong URL', () => {
  check(httpError(302), { category: 'url', retryable: false, status: 302 });
});

test('429 is rate limit, retried, and says how long the vendor asked to wait', () => {
  const d = check(httpError(429, '', 30_000), { category: 'rate_limit', retryable: true, status: 429 });
  assert.match(d.cause, /wait 30 s/);
});

for (const status of [500, 502, 503, 504, 599]) {
  test(`${status} is vendor trouble and retried`, () => {
    check(httpError(status), { category: 'vendor', retryable: true, status });
  });
}

test('other 4xx are configuration and not retried', () => {
  check(httpError(422), { category: 'configuration', retryable: false, status: 422 });
});

for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']) {
  test(`network error ${code} is network and retried`, () => {
    const d = check(networkError(code), { category: 'network', retryable: true });
    assert.match(d.cause, new RegExp(code));
    assert.match(d.remedy, /connectors\[jamf-prod\]\.base_url/);
  });
}

test('ENOTFOUND is a wrong host name: url, not retried, remedy names base_url', () => {
  const d = check(networkError('ENOTFOUND'), { category: 'url', retryable: false });
  assert.match(d.cause, /does not resolve/);
  assert.match(d.remedy, /connectors\[jamf-prod\]\.base_url/);
});

for (const code of ['CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'SELF_SIGNED_CERT_IN_CHAIN']) {
  test(`TLS error ${code} is tls and not retried; the remedy speaks of the certificate chain and the CA`, () => {
    const d = check(networkError(code, true), { category: 'tls', retryable: false });
    assert.match(d.cause, new RegExp(code));
    assert.match(d.remedy, /certificate chain/);
    assert.match(d.remedy, /trust store/);
    assert.match(d.remedy, /connectors\[jamf-prod\]\.base_url/);
  });
}

test('raw Node and undici errors are classified by their code too', () => {
  check(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), { category: 'network', retryable: true });
  check(Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }), { category: 'tls', retryable: false });
  check(new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'UND_ERR_SOCKET' }) }), { category: 'network', retryable: true });
});

test('a bad response is schema drift: response, not retried', () => {
  const d = check(new VendorResponseError('jamf-prod', 'results is not an array', { method: 'GET', path: '/api/v1/computers-inventory' }), {
    category: 'response',
    retryable: false,
  });
  assert.match(d.cause, /schema drift/);
  assert.match(d.remedy, /connectors\[jamf-prod\]\.base_url/);
});

test('an answer too large to read is configuration, not retried, and the remedy names the page-size setting of the type', () => {
  const err = new VendorResponseTooLargeError('di', { method: 'POST', path: '/insights/directory/v1/events', status: 200, limitBytes: 268435456 });
  check(err, { category: 'configuration', retryable: false });
  const di = diagnoseConnector(err, { name: 'di', baseUrl: 'https://console.jumpcloud.com' }, { credentialKeys: ['api_key'], pageSizeSetting: 'limit' });
  assert.match(di.cause, /POST \/insights\/directory\/v1\/events \(HTTP 200\) of connector di is larger than 268435456 bytes/);
  assert.match(di.remedy, /lower connectors\[di\]\.limit/);
  const inventory = diagnoseConnector(err, { name: 'inv', baseUrl: 'https://acme.jamfcloud.com' }, { credentialKeys: ['client_id', 'client_secret'], pageSizeSetting: 'page_size' });
  assert.match(inventory.remedy, /lower connectors\[inv\]\.page_size/);
  const users = diagnoseConnector(err, { name: 'users', baseUrl: 'https://console.jumpcloud.com' }, { credentialKeys: ['api_key'] });
  assert.match(users.remedy, /fixed size.*report it/);
  assert.doesNotMatch(users.remedy, /schema drift|limit|page_size/);
  const token = new VendorResponseTooLargeError('inv', { method: 'POST', path: '/api/oauth/token', status: 200, limitBytes: 268435456 });
  const d = diagnoseConnector(token, { name: 'inv', baseUrl: 'https://acme.jamfcloud.com' }, { credentialKeys: ['client_id', 'client_secret'], pageSizeSetting: 'page_size' });
  assert.match(d.cause, /not the vendor's token endpoint/);
  assert.match(d.remedy, /connectors\[inv\]\.base_url/);
  assert.doesNotMatch(d.remedy, /page_size/);
});

test('SinkUnavailableError is redis and retried', () => {
  const d = check(new SinkUnavailableError('Redis is not connected (reconnecting).'), { category: 'redis', retryable: true });
  assert.match(d.remedy, /redis_url/);
});

test('an invalid configuration is configuration and not retried', () => {
  check(new ConfigInvalidError(['connectors/0/page_size must be <= 2000']), { category: 'configuration', retryable: false });
});

test('anything else is internal and not retried', () => {
  check(new RangeError('oops'), { category: 'internal', retryable: false });
  check('a string', { category: 'internal', retryable: false });
  check(undefined, { category: 'internal', retryable: false });
  check(Object.assign(new Error('x'), { code: 20 }), { category: 'internal', retryable: false });
});

test('a cancelled run (AbortError) is internal, not retried, and says so', () => {
  const d = check(AbortSignal.abort().reason, { category: 'internal', retryable: false });
  assert.match(d.cause, /cancelled/);
});

test('no cause or remedy repeats a secret from the error or the base URL', () => {
  const secret = 'CANARY-5ecret-value';
  const ctx: DiagnosisContext = {
    connector: 'jamf-prod',
    settings: { baseUrl: `https://user:${secret}@acme.jamfcloud.com/?token=${secret}`, credentials: ['client_id', 'client_secret'] },
  };
  const errors: unknown[] = [
    new Error(`token ${secret} rejected`),
    httpError(401),
    httpError(404),
    networkError('ECONNREFUSED'),
    networkError('CERT_HAS_EXPIRED', true),
    networkError('ENOTFOUND'),
    new VendorHttpError({ connector: 'jamf-prod', method: 'GET', path: `/x?api_key=${secret}`, status: 403 }),
  ];
  for (const err of errors) {
    const d = diagnose(err, ctx);
    assert.ok(!JSON.stringify(d).includes(secret), `${d.category}: ${JSON.stringify(d)}`);
  }
  assert.match(diagnose(httpError(404), ctx).remedy, /https:\/\/acme\.jamfcloud\.com/);
});
