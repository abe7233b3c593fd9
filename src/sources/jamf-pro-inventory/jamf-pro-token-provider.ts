import type { TokenProvider, VendorHttpClient } from '../../connectors/vendor-http-client.ts';
import { VendorResponseError } from '../../errors.ts';

/**
 * OAuth2 client credentials against Jamf Pro (`POST /api/oauth/token`). The token is cached until
 * shortly before `expires_in` (a tenth of its life, at most 60 s, early); concurrent callers share
 * one token request; `invalidate` (after a 401) makes the next call fetch a new one.
 */
export class JamfProTokenProvider implements TokenProvider {
  readonly #client: VendorHttpClient;
  readonly #clientId: string;
  readonly #clientSecret: string;
  #token: string | undefined;
  #refreshAtMs = 0;
  #pending: Promise<string> | undefined;
  /** Tokens fetched so far (tests, /status). */
  fetched = 0;

  constructor(client: VendorHttpClient, clientId: string, clientSecret: string) {
    this.#client = client;
    this.#clientId = clientId;
    this.#clientSecret = clientSecret;
  }

  token(signal?: AbortSignal): Promise<string> {
    if (this.#token !== undefined && Date.now() < this.#refreshAtMs) return Promise.resolve(this.#token);
    this.#pending ??= this.#fetch(signal).finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  invalidate(): void {
    this.#token = undefined;
    this.#refreshAtMs = 0;
  }

  async #fetch(signal?: AbortSignal): Promise<string> {
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: this.#clientId, client_secret: this.#clientSecret }).toString();
    const response = await this.#client.request(
      { method: 'POST', path: '/api/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body },
      signal,
    );
    const json = response.json<{ access_token?: unknown; expires_in?: unknown }>();
    if (typeof json?.access_token !== 'string' || json.access_token === '') {
      throw new VendorResponseError(this.#client.connector, 'POST /api/oauth/token answered without an access_token.');
    }
    const lifeMs = (typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 60) * 1000;
    this.#token = json.access_token;
    this.#refreshAtMs = Date.now() + lifeMs - Math.min(60_000, lifeMs / 10);
    this.fetched += 1;
    return this.#token;
  }
}
