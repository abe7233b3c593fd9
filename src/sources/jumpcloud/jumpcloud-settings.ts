// The settings JumpCloud's two connector types (Directory Insights, system users) share: how they
// authenticate (an administrator's API key, or a Service Account's OAuth2 client credentials) and which
// organizations they read (one, as today, or several with one MSP key), and the rules between them
// that a schema cannot say (checkJumpCloudSettings, run by the configuration's cross-check).

/**
 * JumpCloud's Service Account token endpoint (JumpCloud's own CLI, TheJumpCloud/jc-cli
 * internal/api/oauth.go `OAuthTokenURL`, and its docs/AUTH.md). The EU data centre's,
 * https://admin-oauth.id.eu.jumpcloud.com/oauth2/token, is reported by third-party clients only.
 */
export const defaultTokenUrl = 'https://admin-oauth.id.jumpcloud.com/oauth2/token';

export const jumpCloudSettingsProperties = {
  api_key: {
    type: 'string',
    minLength: 1,
    'x-secret': true,
    description: "JumpCloud API key (x-api-key) of an administrator. Or set client_id and client_secret instead (a Service Account: JumpCloud's recommendation, as API keys expire). Use ${ENV} in the file.",
  },
  client_id: {
    type: 'string',
    minLength: 1,
    description: 'Service Account client id (JumpCloud console: Settings > Service Accounts): OAuth2 client credentials instead of api_key.',
  },
  client_secret: {
    type: ['string', 'array'],
    minLength: 1,
    items: { type: 'string', minLength: 1 },
    minItems: 1,
    maxItems: 2,
    uniqueItems: true,
    'x-secret': true,
    description: "The Service Account's client secret, or a list of its two secrets during a rotation: when the token endpoint refuses one, the other is used. Use ${ENV} in the file.",
  },
  token_url: {
    type: 'string',
    pattern: '^https?://[^\\s?#]+$',
    default: defaultTokenUrl,
    description: 'OAuth2 token endpoint of Service Accounts (POST, form grant_type=client_credentials&scope=api, HTTP Basic client_id:client_secret). EU data centre: https://admin-oauth.id.eu.jumpcloud.com/oauth2/token (not confirmed by JumpCloud).',
  },
  org_id: {
    type: 'string',
    minLength: 1,
    description: 'One JumpCloud organization of a multi-tenant (MSP) portal, sent as x-org-id. For several, use org_ids.',
  },
  org_ids: {
    type: ['array', 'string'],
    pattern: '^all$',
    items: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    minItems: 1,
    uniqueItems: true,
    description:
      'MSP: the organizations to read with one provider key, each with its own cursor, statistics and tenant; `all`: every organization the key can see (GET /api/organizations, listed again at each run, so an organization added later is read from start).',
  },
  tenants: {
    type: 'object',
    additionalProperties: { type: 'string', minLength: 1 },
    description: 'With org_ids: the tenant of each organization\'s records, by organization id ({5f0c…: acme}). Default: the organization\'s name in JumpCloud (its id when the name cannot be read).',
  },
} as const;

/** Problems of a JumpCloud connector entry that the schema cannot see, each as `<setting>: <problem>`. */
export function checkJumpCloudSettings(entry: Readonly<Record<string, unknown>>): string[] {
  const problems: string[] = [];
  const set = (key: string) => entry[key] !== undefined;
  const type = typeof entry.type === 'string' ? entry.type : 'this type';
  if (set('api_key') && (set('client_id') || set('client_secret'))) {
    problems.push(`${set('client_id') ? 'client_id' : 'client_secret'}: set together with api_key; use one: api_key (an API key), or client_id and client_secret (a Service Account)`);
  } else if (!set('api_key')) {
    if (!set('client_id') && !set('client_secret')) problems.push(`api_key: missing (required for type ${type}, unless client_id and client_secret of a Service Account are set)`);
    else if (!set('client_id')) problems.push('client_id: missing (client_secret is set: a Service Account needs both)');
    else if (!set('client_secret')) problems.push('client_secret: missing (client_id is set: a Service Account needs both)');
  }
  if (set('org_id') && set('org_ids')) problems.push('org_ids: set together with org_id; use one: org_id (one organization) or org_ids (several, or all)');
  if (set('tenants') && !set('org_ids')) problems.push('tenants: only used with org_ids (with org_id or one organization, set tenant)');
  return problems;
}

/** The credential settings a diagnosis names: the ones this entry authenticates with. */
export function jumpCloudCredentialKeys(settings: { readonly api_key?: string }): ('api_key' | 'client_id' | 'client_secret' | 'token_url')[] {
  return settings.api_key !== undefined ? ['api_key'] : ['client_id', 'client_secret', 'token_url'];
}
