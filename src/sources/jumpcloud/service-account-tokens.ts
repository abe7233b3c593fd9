import type { ConnectorConfig } from '../../config/config-types.ts';
import { VendorHttpError } from '../../errors.ts';
import { AccessTokenProvider } from '../http/access-token-provider.ts';
import { VendorHttpClient, type TokenProvider, type VendorAttempt } from '../http/vendor-http-client.ts';

// A JumpCloud Service Account's access token (OAuth2 client credentials), as JumpCloud's own CLI gets
// it (TheJumpCloud/jc-cli internal/api/oauth.go, docs/AUTH.md): POST to the token URL
// (https://admin-oauth.id.jumpcloud.com/oauth2/token) with the form `grant_type=client_credentials&scope=api`
// and HTTP Basic `client_id:client_secret`; the answer is `{access_token, token_type, expires_in}` (about
// an hour, no refresh token), sent as `Authorization: Bearer <token>` on every API call. The token is
// cached until shortly before it expires (AccessTokenProvider) and shared by every organization.
//
// A Service Account has two secrets so that one can be rotated while the other works: when the token
// endpoint refuses the secret in use (401, or 400 invalid_client), the next one is tried, and kept while
// it works; a notice says which secret was refused. When every secret is refused, the last refusal is
// thrown with the number tried. A 403 (or another answer) is not the secret's fault and is thrown at once.

export interface ServiceAccountSettings {
  readonly client_id: string;
  readonly client_secret: string | readonly string[];
  readonly token_url: string;
}

const ordinal = ['first', 'second'];

export class ServiceAccountTokens implements TokenProvider {
  readonly #client: VendorHttpClient;
  readonly #path: string;
  readonly #providers: AccessTokenProvider[];
  readonly #notices: string[] = [];
  #active = 0;

  constructor(config: ConnectorConfig, settings: ServiceAccountSettings, options: { onAttempt?: (attempt: VendorAttempt) => void } = {}) {
    const url = new URL(settings.token_url);
    const secrets = typeof settings.client_secret === 'string' ? [settings.client_secret] : [...settings.client_secret];
    this.#path = url.pathname;
    this.#client = new VendorHttpClient({
      baseUrl: url.origin,
      connector: config.name,
      maxConnections: 1,
      timeoutMs: config.timeoutMs,
      maxAttempts: config.maxAttempts,
      onAttempt: options.onAttempt,
      secrets,
    });
    this.#providers = secrets.map(
      (secret) =>
        new AccessTokenProvider(this.#client, {
          method: 'POST',
          path: this.#path,
          headers: {
            authorization: `Basic ${Buffer.from(`${settings.client_id}:${secret}`).toString('base64')}`,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: 'grant_type=client_credentials&scope=api',
        }),
    );
  }

  /** Token requests made (attempts). */
  get requests(): number {
    return this.#client.requests;
  }

  /** Tokens fetched so far. */
  get fetched(): number {
    return this.#providers.reduce((n, p) => n + p.fetched, 0);
  }

  /** Which secret is in use, for `orchard test`: `the first of 2 client secrets`. */
  get inUse(): string {
    const n = this.#providers.length;
    return n === 1 ? 'its client secret' : `the ${ordinal[this.#active]} of its ${n} client secrets`;
  }

  async token(signal?: AbortSignal): Promise<string> {
    const count = this.#providers.length;
    let refused: VendorHttpError | undefined;
    for (let tried = 0; tried < count; tried++) {
      const index = (this.#active + tried) % count;
      try {
        const token = await this.#providers[index]!.token(signal);
        if (index !== this.#active) {
          this.#notices.push(`The token endpoint refused the ${ordinal[this.#active]} client_secret (HTTP ${refused?.status}); the ${ordinal[index]} one is accepted and now in use. Replace the refused secret in client_secret.`);
          this.#active = index;
        }
        return token;
      } catch (err) {
        if (!(err instanceof VendorHttpError) || !isRefusedSecret(err)) throw err;
        refused = err;
      }
    }
    const last = refused!;
    throw new VendorHttpError({ connector: last.connector, method: last.method, path: last.path, status: last.status, bodyExcerpt: last.bodyExcerpt, credentialsTried: count });
  }

  invalidate(): void {
    this.#providers[this.#active]!.invalidate();
  }

  /** What happened to the secrets since the last call (a refused one, a switch): for the run's warnings. */
  takeNotices(): string[] {
    return this.#notices.splice(0);
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}

/** The token endpoint refused the secret itself (RFC 6749 §5.2: invalid_client, answered 401 or 400). */
function isRefusedSecret(err: VendorHttpError): boolean {
  return err.status === 401 || (err.status === 400 && /\binvalid_client\b/.test(err.bodyExcerpt));
}
