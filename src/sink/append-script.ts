import { recordFields } from './stream-record.ts';

// One call appends a batch of records idempotently. For each record: when its dedup key exists the
// entry id stored there is returned and nothing is written; otherwise the record is appended and the
// dedup key set to the new entry id with the window as expiry. Append and mark happen in the same
// script, so they are one atomic step. Every key is passed in KEYS (Redis Cluster: they share the
// stream's hash slot) and the shebang makes an undeclared key fail loudly.
//
// KEYS[1] the stream; KEYS[1 + i] the dedup key of record i.
// ARGV[1] the window in seconds; then the fields of each record in `recordFields` order.
// Returns { entry_1, new_1, entry_2, new_2, … } with new_i = 1 when appended, 0 when a duplicate.
export const appendScript = `#!lua
local stride = ${recordFields.length}
local ttl = ARGV[1]
local out = {}
for i = 1, #KEYS - 1 do
  local mark = KEYS[i + 1]
  local seen = redis.call('GET', mark)
  if seen then
    out[#out + 1] = seen
    out[#out + 1] = 0
  else
    local b = 1 + (i - 1) * stride
    local entry = redis.call('XADD', KEYS[1], '*', 'v', '1',
${recordFields.map((f, i) => `      '${f}', ARGV[b + ${i + 1}]`).join(',\n')})
    redis.call('SET', mark, entry, 'EX', ttl)
    out[#out + 1] = entry
    out[#out + 1] = 1
  end
end
return out
`;

/**
 * The hash tag the dedup keys of a stream share with the stream itself: the stream's own tag when it
 * has one (`{orchard}:events` → `{orchard}`), else the whole key (`orchard:events` hashes like
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
