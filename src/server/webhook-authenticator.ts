import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/load-config.ts';
import { sha256 } from '../sha256.ts';

export type WebhookAuth =
  | { readonly mode: 'header'; readonly header: string; readonly secrets: readonly string[] }
  | { readonly mode: 'basic'; readonly username: string; readonly password: string }
  | { readonly mode: 'none' };

/** The authentication the configuration sets, or undefined in header mode without secrets (main.ts generates one). */
export function webhookAuthFromConfig(config: Config): WebhookAuth | undefined {
  switch (config.webhookAuth) {
    case 'none':
      return { mode: 'none' };
    case 'basic':
      return { mode: 'basic', username: config.webhookBasicUsername!, password: config.webhookBasicPassword! };
    case 'header':
      return config.webhookSecrets?.length ? { mode: 'header', header: config.webhookHeader, secrets: config.webhookSecrets } : undefined;
  }
}

/** Returns true when the request headers carry accepted credentials. Checks run in constant time. */
export type Authenticator = (headers: IncomingHttpHeaders) => boolean;

/**
 * Checks a credential against every accepted digest (no early exit), so timing says nothing about
 * which matched. The digest of what was received goes into one Buffer that every check reuses (checks
 * are synchronous): a new Buffer per request cost more than the hash itself.
 */
function matcher(secrets: readonly string[]): (got: string) => boolean {
  // The digests as 'binary' text, a character per byte: cheaper to take from the hash than a Buffer.
  const accepted = secrets.map((s) => Buffer.from(sha256(s, 'binary'), 'binary'));
  const received = Buffer.alloc(32);
  return (got) => {
    received.write(sha256(got, 'binary'), 'binary');
    let ok = false;
    for (const a of accepted) ok = timingSafeEqual(received, a) || ok;
    return ok;
  };
}

export function createAuthenticator(auth: WebhookAuth): Authenticator {
  switch (auth.mode) {
    case 'none':
      return () => true;
    case 'header': {
      const name = auth.header.toLowerCase();
      const matches = matcher(auth.secrets);
      return (headers) => {
        const got = headers[name];
        return typeof got === 'string' && matches(got);
      };
    }
    case 'basic': {
      const matches = matcher([`${auth.username}:${auth.password}`]);
      return (headers) => {
        const got = headers.authorization;
        if (typeof got !== 'string' || got.length > 4096) return false;
        const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(got);
        if (!match) return false;
        return matches(Buffer.from(match[1]!, 'base64').toString('utf8'));
      };
    }
  }
}
