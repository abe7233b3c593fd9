// The shape of Orchard's configuration once loaded (load-config.ts): one validated, frozen object whose
// keys mirror the file keys in camelCase, and the connector entries with their type's settings.
import type { RedisSettings } from '../redis/redis-target.ts';

export type WebhookAuthMode = 'header' | 'basic' | 'none';

/** One entry of `connectors:`, validated against its type's schema, defaults applied. */
export interface ConnectorConfig<S = Readonly<Record<string, unknown>>> {
  readonly name: string;
  /** One of the connector types the sources describe (src/sources/index.ts). */
  readonly type: string;
  readonly tenant: string;
  readonly enabled: boolean;
  readonly intervalMs: number;
  readonly baseUrl: string;
  /** RFC 3339; changing it resets the checkpoint. */
  readonly start: string | undefined;
  readonly timeoutMs: number;
  readonly maxConnections: number;
  readonly maxAttempts: number;
  /** expect_events_within: runs that append nothing for longer make the connector "silent"; undefined: never. */
  readonly expectEventsWithinMs: number | undefined;
  /** The entry as written (file keys), with defaults: its type's own settings, typed by its schema. */
  readonly settings: S;
}

/** The validated, frozen configuration. Keys mirror the file keys in camelCase. */
export interface Config extends RedisSettings {
  readonly dataDir: string;
  readonly redisAppendfsync: 'always' | 'everysec';
  readonly host: string;
  readonly port: number;
  readonly adminPort: number | undefined;
  readonly adminHost: string;
  readonly stream: string;
  readonly rejectedStream: string;
  /** Approximate cap of the rejected stream (XADD MAXLEN ~); 0: none. */
  readonly rejectedStreamMaxLen: number;
  /** Retention (src/consumer/stream-trimmer.ts): never trims what a consumer group has not acknowledged. */
  readonly streamMaxLen: number | undefined;
  readonly streamMaxAge: string | undefined;
  readonly streamMaxAgeMs: number | undefined;
  readonly streamTrimIntervalMs: number;
  readonly streamTrimWithoutGroups: boolean;
  readonly webhookPath: string;
  /** The tenant of the Jamf Pro webhook route's records (ORCHARD_WEBHOOK_TENANT), '' for none. */
  readonly webhookTenant: string;
  /** Orchard's external address as Jamf Pro reaches it (`orchard jamf-webhooks`), without a trailing slash. */
  readonly publicUrl: string | undefined;
  readonly webhookAuth: WebhookAuthMode;
  readonly webhookHeader: string;
  /** Undefined in header mode until main.ts loads or generates the secret. */
  readonly webhookSecrets: readonly string[] | undefined;
  /** webhook_tenant_secrets: secrets that each stand for a tenant; what is pushed with one carries it. */
  readonly webhookTenantSecrets: readonly { readonly tenant: string; readonly secret: string }[] | undefined;
  readonly webhookBasicUsername: string | undefined;
  readonly webhookBasicPassword: string | undefined;
  readonly dedupWindowSeconds: number;
  readonly protectPath: string;
  /** Unset (with protectSecrets): the Jamf Protect route uses the webhook's authentication. */
  readonly protectHeader: string | undefined;
  readonly protectSecrets: readonly string[] | undefined;
  readonly protectDedupWindowSeconds: number;
  readonly logsPath: string;
  /** Unset (with logsSecrets): the logs route uses the webhook's authentication. */
  readonly logsHeader: string | undefined;
  readonly logsSecrets: readonly string[] | undefined;
  readonly bodyLimitBytes: number;
  readonly decodedBodyLimitBytes: number;
  readonly rateLimitPerMinute: number;
  readonly authFailureLimit: number;
  readonly maxConnections: number;
  readonly unauthenticatedConnectionsPerAddress: number;
  readonly trustedAddresses: readonly string[];
  readonly trustProxy: boolean | string[];
  readonly appendTimeoutMs: number;
  readonly redisWaitReplicas: number;
  readonly redisWaitTimeoutMs: number;
  /** The local write-ahead spool for pushed events (src/spool/). */
  readonly spool: 'on' | 'off';
  readonly spoolMaxBytes: number;
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  readonly logLevel: string;
  readonly logBufferBytes: number;
  readonly logSummaryIntervalMs: number;
  readonly connectorLeaseTtlMs: number;
  readonly connectors: readonly ConnectorConfig[];
  /** Where the configuration came from, for the start-up log line. */
  readonly configFile: string | undefined;
}

/** One setting in the schema, with Orchard's annotations. */
export interface SettingSchema {
  type?: string | readonly string[];
  enum?: readonly string[];
  const?: string;
  items?: { enum?: readonly string[] };
  minimum?: number;
  maximum?: number;
  pattern?: string;
  format?: string;
  'x-env'?: string;
  'x-secret'?: boolean;
  default?: unknown;
  description?: string;
}

/**
 * What the configuration needs to know of a connector type: its own settings (a JSON Schema object,
 * validated with the settings every connector shares), its base URL, and the API paths a base_url
 * must not end in. Each source's descriptor is one (src/sources/source-descriptor.ts).
 */
export interface ConnectorTypeSpec {
  readonly type: string;
  /** The type's own settings: a JSON Schema of an object (properties, required). */
  readonly settings: { readonly properties: Readonly<Record<string, object>>; readonly required?: readonly string[] };
  /** base_url: its default (when the vendor has one address for everyone) and its description. */
  readonly baseUrl: { readonly default?: string; readonly description: string };
  readonly defaultInterval: string;
  /** What `start` means for this type, when it is not the earliest event time of the first run. */
  readonly startDescription?: string;
  /**
   * Paths a base_url must not end in: the paths Orchard asks for after it, their leading parts, and
   * the vendor addresses most often pasted instead of the base (API docs, the Classic API). Any other
   * path is a prefix (a proxy) and stays.
   */
  readonly apiPaths: readonly string[];
  /**
   * The rules between the type's settings that its schema cannot say (one credential or another), run
   * once the entry validated: each problem as `<setting>: <problem>`.
   */
  readonly checkSettings?: (entry: Readonly<Record<string, unknown>>) => string[];
}
