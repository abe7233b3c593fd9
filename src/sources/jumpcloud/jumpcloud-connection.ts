import type { ConnectorConfig } from '../../config/config-types.ts';
import type { VendorAttempt } from '../http/vendor-http-client.ts';
import { JumpCloudClient, type JumpCloudAuth } from './jumpcloud-client.ts';
import { ServiceAccountTokens } from './service-account-tokens.ts';

// What one JumpCloud connector talks to JumpCloud with: its credentials (an API key, or a Service
// Account whose token every request shares) and a client per host it asks (the Directory Insights API
// and, for an MSP's organizations, the console's v1 API).

export type JumpCloudCredentialSettings = {
  readonly api_key?: string;
  readonly client_id?: string;
  readonly client_secret?: string | readonly string[];
  readonly token_url?: string;
};

export class JumpCloudConnection {
  readonly #config: ConnectorConfig;
  readonly #auth: JumpCloudAuth;
  readonly #tokens: ServiceAccountTokens | undefined;
  readonly #clients = new Map<string, JumpCloudClient>();
  readonly #onAttempt: ((attempt: VendorAttempt) => void) | undefined;

  constructor(config: ConnectorConfig, settings: JumpCloudCredentialSettings, options: { onAttempt?: (attempt: VendorAttempt) => void } = {}) {
    this.#config = config;
    this.#onAttempt = options.onAttempt;
    if (settings.api_key !== undefined) {
      this.#auth = { apiKey: settings.api_key, tokens: undefined, secrets: [settings.api_key] };
    } else {
      // The configuration made sure a Service Account has both (checkJumpCloudSettings).
      const secret = settings.client_secret ?? '';
      this.#tokens = new ServiceAccountTokens(config, { client_id: settings.client_id ?? '', client_secret: secret, token_url: settings.token_url ?? '' }, options);
      this.#auth = { apiKey: undefined, tokens: this.#tokens, secrets: typeof secret === 'string' ? [secret] : secret };
    }
  }

  /** The client of a host (base URL), made once. */
  client(baseUrl: string): JumpCloudClient {
    let client = this.#clients.get(baseUrl);
    if (!client) {
      client = new JumpCloudClient(this.#config, baseUrl, this.#auth, { onAttempt: this.#onAttempt });
      this.#clients.set(baseUrl, client);
    }
    return client;
  }

  /** Requests made to JumpCloud (attempts), token requests included. */
  get requests(): number {
    let n = this.#tokens?.requests ?? 0;
    for (const client of this.#clients.values()) n += client.requests;
    return n;
  }

  /** `The API key` or `The service account (the first of its 2 client secrets)`, for `orchard test`. */
  describeCredentials(): string {
    return this.#tokens ? `The service account (token from the token URL, using ${this.#tokens.inUse})` : 'The API key';
  }

  /** What the run should be told about the credentials (a refused client secret). */
  takeNotices(): string[] {
    return this.#tokens?.takeNotices() ?? [];
  }

  async close(): Promise<void> {
    await Promise.all([...[...this.#clients.values()].map((c) => c.close()), this.#tokens?.close()]);
  }
}
