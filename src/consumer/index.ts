// The consumer side of the events stream, for Orchard and for other Node programs: a consumer-group
// reader with acknowledgement after the handler, a janitor and a dead-letter stream; retention that
// never drops unread entries; and the lag of every group.

export {
  StreamConsumer,
  parseEntry,
  type StreamEntry,
  type StreamEntryHandler,
  type StreamConsumerOptions,
  type StreamConsumerStats,
  type DeadLetterReason,
  type GroupCreated,
} from './stream-consumer.ts';
export { StreamTrimmer, type StreamTrimmerOptions, type TrimResult, type TrimReason } from './stream-trimmer.ts';
export { deadLetterCodes } from '../errors.ts';
export { deadLetterCountsKey } from '../redis/keyspace.ts';
export { readGroupLag, type GroupLag, type ReadGroupLagOptions } from './group-lag.ts';
