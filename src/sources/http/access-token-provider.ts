import type { TokenProvider, VendorHttpClient, VendorRequest } from './vendor-http-client.ts';
import { VendorResponseError } from '../../errors.ts';

/**
 * An access token exchanged for credentials by one request that answers `{access_token, expires_in}`:
 * Jamf Pro's OAuth2 client credentials (`POST /api/oauth/token`, a form) and Jamf Protect's
 * `POST /token` (JSON). The token is cached until shortly before `expires_in` (a tenth of its life, at
 * most 60 s, early); concurrent callers share one token request; `invalidate` (after a 401) makes the
 * next call fetch a new one.
 */
export class AccessTokenProvider implements TokenProvider {
  readonly #client: VendorHttpClient;
  readonly #request: VendorRequest;
  #token: string | undefined;
  #refreshAtMs = 0;
  #pending: Promise<string> | undefined;
  /** Tokens fetched so far (tests, /status). */
  fetched = 0;

  /** `request`: the token request, credentials in its body. */
  constructor(client: VendorHttpClient, request: VendorRequest) {
    this.#client = client;
    this.#request = request;
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
    const response = await this.#client.request(this.#request, signal);
    const json = response.json<{ access_token?: unknown; expires_in?: unknown }>();
    if (typeof json?.access_token !== 'string' || json.access_token === '') {
      throw new VendorResponseError(this.#client.connector, `${this.#request.method} ${this.#request.path} answered without an access_token.`);
    }
    const lifeMs = (typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : 60) * 1000;
    this.#token = json.access_token;
    this.#refreshAtMs = Date.now() + lifeMs - Math.min(60_000, lifeMs / 10);
    this.fetched += 1;
    return this.#token;
  }
}
