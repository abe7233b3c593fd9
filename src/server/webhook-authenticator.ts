import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/load-config.ts';
import { sha256 } from '../sha256.ts';

/** A secret that stands for a tenant (webhook_tenant_secrets): what is pushed with it carries that tenant. */
export interface TenantSecret {
  readonly tenant: string;
  readonly secret: string;
}

export type WebhookAuth =
  | { readonly mode: 'header'; readonly header: string; readonly secrets: readonly string[]; readonly tenantSecrets?: readonly TenantSecret[] }
  | { readonly mode: 'basic'; readonly username: string; readonly password: string }
  | { readonly mode: 'none' };

/** The authentication the configuration sets, or undefined in header mode without secrets (main.ts generates one). */
export function webhookAuthFromConfig(config: Config): WebhookAuth | undefined {
  switch (config.webhookAuth) {
    case 'none':
      return { mode: 'none' };
    case 'basic':
      return { mode: 'basic', username: config.webhookBasicUsername!, password: config.webhookBasicPassword! };
    case 'header': {
      const tenantSecrets = config.webhookTenantSecrets ?? [];
      if (config.webhookSecrets?.length) return { mode: 'header', header: config.webhookHeader, secrets: config.webhookSecrets, tenantSecrets };
      // Only tenants' secrets: nothing to generate, every sender is some tenant's.
      return tenantSecrets.length > 0 ? { mode: 'header', header: config.webhookHeader, secrets: [], tenantSecrets } : undefined;
    }
  }
}

/**
 * The tenant of the credentials the request headers carry, when they are accepted: the tenant mapped
 * to the secret that matched (webhook_tenant_secrets), or `defaultTenant` for the other accepted
 * secrets; undefined when refused. Checks run in constant time.
 */
export type Authenticator = (headers: IncomingHttpHeaders) => string | undefined;

/**
 * The index of the accepted secret a credential is, or -1: every digest is compared (no early exit),
 * so timing says nothing about which matched. The digest of what was received goes into one Buffer
 * that every check reuses (checks are synchronous): a new Buffer per request cost more than the hash.
 */
function matcher(secrets: readonly string[]): (got: string) => number {
  // The digests as 'binary' text, a character per byte: cheaper to take from the hash than a Buffer.
  const accepted = secrets.map((s) => Buffer.from(sha256(s, 'binary'), 'binary'));
  const received = Buffer.alloc(32);
  return (got) => {
    received.write(sha256(got, 'binary'), 'binary');
    let found = -1;
    for (let i = 0; i < accepted.length; i++) found = timingSafeEqual(received, accepted[i]!) ? i : found;
    return found;
  };
}

/**
 * The authenticator of a route. `defaultTenant` is the tenant of what is pushed with a secret mapped to
 * no tenant ('' by default). The tenant strings are made once, here: a request allocates nothing more.
 */
export function createAuthenticator(auth: WebhookAuth, defaultTenant = ''): Authenticator {
  switch (auth.mode) {
    case 'none':
      return () => defaultTenant;
    case 'header': {
      const name = auth.header.toLowerCase();
      const tenantSecrets = auth.tenantSecrets ?? [];
      const tenants = [...auth.secrets.map(() => defaultTenant), ...tenantSecrets.map((t) => t.tenant)];
      const matches = matcher([...auth.secrets, ...tenantSecrets.map((t) => t.secret)]);
      return (headers) => {
        const got = headers[name];
        if (typeof got !== 'string') return undefined;
        const index = matches(got);
        return index === -1 ? undefined : tenants[index];
      };
    }
    case 'basic': {
      const matches = matcher([`${auth.username}:${auth.password}`]);
      return (headers) => {
        const got = headers.authorization;
        if (typeof got !== 'string' || got.length > 4096) return undefined;
        const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(got);
        if (!match) return undefined;
        return matches(Buffer.from(match[1]!, 'base64').toString('utf8')) === -1 ? undefined : defaultTenant;
      };
    }
  }
}
