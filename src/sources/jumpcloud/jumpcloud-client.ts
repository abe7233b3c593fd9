import type { ConnectorConfig } from '../../config/config-types.ts';
import { vendorClientFor, type TokenProvider, type VendorAttempt, type VendorHttpClient, type VendorRequest, type VendorResponse } from '../http/vendor-http-client.ts';

// Requests to one JumpCloud host (the Directory Insights API, or the console's v1 API), authenticated
// the way the connector entry says: `x-api-key` (an administrator's API key), or `Authorization: Bearer`
// with a Service Account's token (jc-cli internal/api/client.go, `bearerAuthTransport`). An organization
// of an MSP portal is named by `x-org-id` (JumpCloud's v1 API spec, "Multi-Tenant Portal Headers"); the
// organizations list itself is asked without it (its route refuses the header: TheJumpCloud/support
// Invoke-JCApi.ps1, "Organizations endpoint does not accept x-org-id in header").

export interface JumpCloudAuth {
  /** An administrator's API key; or undefined with `tokens`. */
  readonly apiKey: string | undefined;
  /** A Service Account's tokens, when there is no API key. */
  readonly tokens: TokenProvider | undefined;
  /** What error excerpts must not show (the key or the client secrets). */
  readonly secrets: readonly string[];
}

export class JumpCloudClient {
  readonly #http: VendorHttpClient;
  readonly #apiKey: string | undefined;

  constructor(config: ConnectorConfig, baseUrl: string, auth: JumpCloudAuth, options: { onAttempt?: (attempt: VendorAttempt) => void } = {}) {
    this.#http = vendorClientFor({ ...config, baseUrl }, { onAttempt: options.onAttempt, secrets: auth.secrets });
    this.#apiKey = auth.apiKey;
    if (auth.apiKey === undefined && auth.tokens) this.#http.setTokens(auth.tokens);
  }

  get requests(): number {
    return this.#http.requests;
  }

  /** `org`: the organization the request is about (x-org-id); undefined for one's own, or the organizations list. */
  request(req: Omit<VendorRequest, 'auth'>, org: string | undefined, signal: AbortSignal): Promise<VendorResponse> {
    const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
    if (this.#apiKey !== undefined) headers['x-api-key'] = this.#apiKey;
    if (org !== undefined) headers['x-org-id'] = org;
    return this.#http.request({ ...req, headers, auth: this.#apiKey === undefined }, signal);
  }

  close(): Promise<void> {
    return this.#http.close();
  }
}
