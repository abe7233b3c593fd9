import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config/load-config.ts';

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

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Compares against every accepted digest (no early exit), so timing says nothing about which matched. */
function matchesAny(got: string, accepted: readonly Buffer[]): boolean {
  const d = digest(got);
  let ok = false;
  for (const a of accepted) ok = timingSafeEqual(d, a) || ok;
  return ok;
}

export function createAuthenticator(auth: WebhookAuth): Authenticator {
  switch (auth.mode) {
    case 'none':
      return () => true;
    case 'header': {
      const name = auth.header.toLowerCase();
      const accepted = auth.secrets.map(digest);
      return (headers) => {
        const got = headers[name];
        return typeof got === 'string' && matchesAny(got, accepted);
      };
    }
    case 'basic': {
      const accepted = [digest(`${auth.username}:${auth.password}`)];
      return (headers) => {
        const got = headers.authorization;
        if (typeof got !== 'string' || got.length > 4096) return false;
        const match = /^Basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(got);
        if (!match) return false;
        return matchesAny(Buffer.from(match[1]!, 'base64').toString('utf8'), accepted);
      };
    }
  }
}
