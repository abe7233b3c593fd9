import { hashTagOf } from '../sink/append-script.ts';

/** The Redis keys of one connector. They share the stream's hash tag, so one script can touch them all (Redis Cluster). */
export interface ConnectorKeys {
  /** Hash: seq, writer, data (the checkpoint JSON), result (of the last page). */
  readonly checkpoint: string;
  /** String: the token of the replica that runs the connector, with expiry. */
  readonly lease: string;
  /** Hash: object id → last version appended (inventories). */
  readonly versions: string;
}

export function connectorKeys(stream: string, connector: string): ConnectorKeys {
  const prefix = `${hashTagOf(stream)}:connector:${connector}:`;
  return { checkpoint: `${prefix}checkpoint`, lease: `${prefix}lease`, versions: `${prefix}versions` };
}
