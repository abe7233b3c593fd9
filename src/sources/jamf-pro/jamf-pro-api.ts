import type { ConnectorConfig } from '../../config/config-types.ts';
import { VendorHttpError, VendorResponseError } from '../../errors.ts';
import { AccessTokenProvider } from '../http/access-token-provider.ts';
import { vendorClientFor, type VendorAttempt, type VendorHttpClient } from '../http/vendor-http-client.ts';

// What the Jamf Pro sources share: the Jamf Pro API's client with its OAuth2 client-credentials token,
// and Jamf Pro's version, which says which API versions the server offers.

/** Jamf Pro's OAuth2 token endpoint (an API client's credentials, form-encoded). */
export const jamfProTokenPath = '/api/oauth/token';

/**
 * `GET /api/v1/jamf-pro-version` → `{"version": "11.30.1-t1784555528405"}`: any authenticated client may
 * ask (deploymenttheory/go-sdk-jamfpro-v2: openapi-specs/11.30.1-t1784555528405/api-schema.json,
 * paths["/v1/jamf-pro-version"]; the -t suffix is the build's timestamp).
 */
export const jamfProVersionPath = '/api/v1/jamf-pro-version';

export interface JamfProVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** As Jamf Pro wrote it. */
  readonly text: string;
}

/** `11.30.1-t1784555528405` → 11, 30, 1; undefined when it does not start with three numbers. */
export function parseJamfProVersion(text: unknown): JamfProVersion | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^\s*(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), text: text.trim().slice(0, 60) } : undefined;
}

/** Whether `v` is `[major, minor, patch]` or later. */
export function atLeast(v: JamfProVersion, [major, minor, patch]: readonly [number, number, number]): boolean {
  if (v.major !== major) return v.major > major;
  if (v.minor !== minor) return v.minor > minor;
  return v.patch >= patch;
}

export type JamfProCredentials = {
  readonly client_id: string;
  readonly client_secret: string;
};

/** A connector's Jamf Pro API: its client, token and the server's version. */
export class JamfProApi {
  readonly client: VendorHttpClient;
  readonly tokens: AccessTokenProvider;
  #version: Promise<JamfProVersion | null> | undefined;

  /** `secrets`: more values to blank out of error excerpts (the webhook secrets `orchard jamf-webhooks` sends). */
  constructor(config: ConnectorConfig<JamfProCredentials>, options: { onAttempt?: (attempt: VendorAttempt) => void; secrets?: readonly string[] } = {}) {
    const { client_id, client_secret } = config.settings;
    this.client = vendorClientFor(config, { onAttempt: options.onAttempt, secrets: [client_secret, ...(options.secrets ?? [])] });
    this.tokens = new AccessTokenProvider(this.client, {
      method: 'POST',
      path: jamfProTokenPath,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id, client_secret }).toString(),
    });
    this.client.setTokens(this.tokens);
  }

  /**
   * Jamf Pro's version, asked once and kept until `forgetVersion()` (each run asks again: Jamf Cloud
   * upgrades itself). Null when the server does not say (404 or 403 to the version path, or an answer
   * without a version, or not JSON); other failures (401, 5xx after retries, network) are thrown.
   */
  serverVersion(signal?: AbortSignal): Promise<JamfProVersion | null> {
    const asked = (this.#version ??= this.#askVersion(signal));
    asked.catch(() => (this.#version = undefined));
    return asked;
  }

  forgetVersion(): void {
    this.#version = undefined;
  }

  async #askVersion(signal?: AbortSignal): Promise<JamfProVersion | null> {
    try {
      const response = await this.client.request({ method: 'GET', path: jamfProVersionPath, headers: { accept: 'application/json' }, auth: true }, signal);
      return parseJamfProVersion(response.json<{ version?: unknown }>()?.version) ?? null;
    } catch (err) {
      if ((err instanceof VendorHttpError && (err.status === 404 || err.status === 403)) || err instanceof VendorResponseError) return null;
      throw err;
    }
  }

  get requests(): number {
    return this.client.requests;
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
