import { sha256 } from '../sha256.ts';

// Every Redis key Orchard reads or writes is built here, and every one follows one rule: the keys that
// go with an events stream carry that stream's hash tag, so that one Lua script may touch them all in a
// Redis Cluster (all its keys in one hash slot). `{orchard}:events` has the tag `{orchard}`; a stream
// key without braces (`orchard:events`) hashes as a whole, and the keys built from it carry the whole key
// as their tag (`{orchard:events}:dedup:…`), so they share its slot too.
//
//   <stream>                                         the events stream (ORCHARD_STREAM)
//   <tag>:dedup:<source>:<id>                        a pushed event's id, for the dedup window (string)
//   <tag>:connector:<name>:checkpoint                a pull connector's checkpoint (hash)
//   <tag>:connector:<name>:lease                     which replica runs it (string, with expiry)
//   <tag>:connector:<name>:versions                  object id → last version appended (hash)
//   <tag>:connector:<name>:window-counts             per closed window (org|service|start): distinct events appended (hash)
//   <tag>:connector:<name>:window-ids:<org|service|start>  the ids appended in that window (set, with expiry)
//   <tag>:connector:<name>:completeness              what the window verification found (JSON string)
//   <tag>:webhook-devices:<tenant hash>              serial:/udid: → last check-in or inventory webhook (hash)
//   <tag>:import:<sha256>:<type>:<tenant hash>       an `orchard import` file's progress (hash)
//   <stream>:jumpcloud:<service>                     `stream_per_service` streams
//   <stream>:dead, <stream>:dead:counts              the consumer's dead letters and their counts
//   <tag>:rejected                                   the rejected stream, by default, when the stream has a tag
//   <rejected tag>:spooled:<marker>                  a spooled refusal already drained (string, with expiry)
//
// Suffixes appended to the stream key (`<stream>:dead`) keep its tag when it has one; without one they
// name keys in other slots, which a single Redis (and Sentinel) does not mind, and which a Cluster
// set-up avoids by giving the stream a tag (its configuration check insists on one).

/**
 * The hash tag the keys of a stream share with the stream itself: the stream's own tag when it has
 * one (`{orchard}:events` → `{orchard}`), else the whole key (`orchard:events` hashes like
 * `{orchard:events}`).
 */
export function hashTagOf(streamKey: string): string {
  const open = streamKey.indexOf('{');
  if (open >= 0) {
    const close = streamKey.indexOf('}', open + 1);
    if (close > open + 1) return streamKey.slice(open, close + 1);
  }
  return `{${streamKey}}`;
}

/** Whether the key names its hash tag itself (`{orchard}:events`), as a Redis Cluster needs. */
export function hasHashTag(key: string): boolean {
  const open = key.indexOf('{');
  return open >= 0 && key.indexOf('}', open + 1) > open + 1;
}

/** The Redis keys of one pull connector. */
export interface ConnectorKeys {
  /** Hash: seq, writer, data (the checkpoint JSON), result (of the last page). */
  readonly checkpoint: string;
  /** String: the token of the replica that runs the connector, with expiry. */
  readonly lease: string;
  /** Hash: object id → last version appended (inventories). */
  readonly versions: string;
  /** Hash: `<org>|<service>|<window start>` → distinct events appended in that window; `from|<org>` → where counting began. */
  readonly windowCounts: string;
  /** String: the window verification's progress and unrepaired gaps (JSON). */
  readonly completeness: string;
  /** Set: the ids appended in one window (its `windowCounts` field), kept while the window may still be re-pulled. */
  windowIds(field: string): string;
}

/** The keys of one events stream. */
export class Keyspace {
  /** The tag every key of this stream carries. */
  readonly hashTag: string;

  constructor(readonly stream: string) {
    this.hashTag = hashTagOf(stream);
  }

  /** The key that remembers an appended id for the dedup window, set by the push routes, read by `orchard import`. */
  dedup(source: string, id: string): string {
    return `${this.hashTag}:dedup:${source}:${id}`;
  }

  connector(name: string): ConnectorKeys {
    const prefix = `${this.hashTag}:connector:${name}:`;
    return {
      checkpoint: `${prefix}checkpoint`,
      lease: `${prefix}lease`,
      versions: `${prefix}versions`,
      windowCounts: `${prefix}window-counts`,
      completeness: `${prefix}completeness`,
      windowIds: (field) => `${prefix}window-ids:${field}`,
    };
  }

  /**
   * The last Jamf Pro check-in or inventory webhook seen per device of a tenant (`serial:<serial>`,
   * `udid:<udid>` → event time in ms), written by the push append script, read by the inventory's
   * missed-webhook check. One hash per tenant, bounded by its fleet (the first 16 hex digits of the
   * sha256 of the tenant, as importProgress does).
   */
  webhookDevices(tenant: string): string {
    return `${this.hashTag}:webhook-devices:${sha256(tenant, 'hex').slice(0, 16)}`;
  }

  /**
   * The progress record of a file import: one per decoded content (sha256), `--type` and `--tenant`
   * (the first 16 hex digits of the sha256 of the tenant, so that any tenant makes a tidy key).
   */
  importProgress(contentSha256: string, type: string, tenant: string): string {
    return `${this.hashTag}:import:${contentSha256}:${type}:${sha256(tenant, 'hex').slice(0, 16)}`;
  }

  /** The prefix of JumpCloud's `stream_per_service` streams: `<stream>:jumpcloud:`. */
  get jumpCloudServicePrefix(): string {
    return `${this.stream}:jumpcloud:`;
  }
}

/** The default rejected stream: `<tag>:rejected` beside a tagged stream (`{orchard}:rejected`), else `orchard:rejected`. */
export function defaultRejectedStream(stream: string): string {
  return hasHashTag(stream) ? `${hashTagOf(stream)}:rejected` : 'orchard:rejected';
}

/**
 * The marker of a refused body drained from the local spool into the rejected stream (its entry id,
 * for the record's lifetime): it makes that append idempotent. It carries the rejected stream's tag.
 */
export function spooledRejectedMarker(rejectedStream: string, marker: string): string {
  return `${hashTagOf(rejectedStream)}:spooled:${marker}`;
}

/** The consumer's default dead-letter stream: `<stream>:dead`. */
export function defaultDeadLetterStream(stream: string): string {
  return `${stream}:dead`;
}

/** The hash of dead-lettered counts per group, kept beside the dead-letter stream. */
export function deadLetterCountsKey(deadLetterStream: string): string {
  return `${deadLetterStream}:counts`;
}
