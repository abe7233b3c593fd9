import type { ConnectorConfig, ConnectorTypeSpec } from '../config/config-types.ts';
import type { PullSource } from '../connectors/pull-source.ts';
import type { VendorAttempt } from './http/vendor-http-client.ts';

// What a pull source is, for the rest of Orchard: one descriptor per source folder, listed once in
// src/sources/index.ts (as Vector's sources each implement one config trait). The configuration's
// schema, the settings tables (docs/settings.md), the connector registry, diagnosis and the base_url check are
// all derived from the descriptors; nothing else in the tree lists the sources by hand.

/** What a source is given besides its connector entry. */
export interface SourceContext {
  /** Told of every vendor request attempt (metrics; `orchard test` prints the failed ones). */
  readonly onAttempt: (attempt: VendorAttempt) => void;
  /** The configured events stream (a source that routes records to streams of their own names them after it). */
  readonly stream: string;
  /** protect_dedup_window_seconds: how long Jamf Protect alert uuids are remembered. */
  readonly protectDedupWindowSeconds: number;
}

/**
 * A pull source: its connector type and settings (ConnectorTypeSpec, for the configuration), what a
 * diagnosis names, and how a connector of the type is built. `S` is the type of its own settings, as
 * its settings schema describes them.
 */
export interface SourceDescriptor<S = unknown> extends ConnectorTypeSpec {
  /** The `source` of the records it appends (the stream contract). */
  readonly source: string;
  /** The settings that hold credentials, named in diagnoses (`client_id`, `client_secret`); a function when they depend on the entry. */
  readonly credentialKeys: readonly (keyof S & string)[] | ((settings: S) => readonly (keyof S & string)[]);
  /** The setting that sets how many items a page holds, when the type has one (named when an answer is too large). */
  readonly pageSizeSetting?: keyof S & string;
  /** The settings that shape its requests (its own, or `start`), named when the vendor refuses one as invalid (a 400). */
  readonly requestSettings?: readonly ((keyof S & string) | 'start')[];
  /** The source of a connector entry of this type. */
  create(config: ConnectorConfig<S>, context: SourceContext): PullSource;
}

/** Declares a source's descriptor, typed by its settings. */
export function defineSource<S>(descriptor: SourceDescriptor<S>): SourceDescriptor<S> {
  return descriptor;
}
