import { LuaScript } from '../lua-script.ts';

// The consumer's dead letter (src/consumer/stream-consumer.ts): an entry delivered more than
// maxDeliveries times is copied to the dead-letter stream, counted per group and acknowledged, in one
// atomic step, only while it is still pending for this consumer (so a re-sent call writes nothing twice).

// KEYS[1] the stream, KEYS[2] the dead-letter stream, KEYS[3] the counts hash.
// ARGV[1] group, ARGV[2] entry id, ARGV[3] consumer, ARGV[4] reason (JSON).
// Returns 1 dead-lettered, 0 not pending for this consumer any more (already done, or claimed by
// another consumer), -1 deleted from the stream (acknowledged only).
// The original fields follow the dead-letter header; an original field named like a header field
// (`v`, `reason`, `original_id`, `stream`) is left out so each name appears once.
export const deadLetterScript = new LuaScript('orchardDeadLetter', `local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 or pending[1][2] ~= ARGV[3] then return 0 end
local found = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
if #found == 0 then
  redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
  return -1
end
local header = { v = true, reason = true, original_id = true, stream = true }
local args = { 'XADD', KEYS[2], '*', 'v', '1', 'reason', ARGV[4], 'original_id', ARGV[2], 'stream', KEYS[1] }
local fields = found[1][2]
for i = 1, #fields, 2 do
  if not header[fields[i]] then
    args[#args + 1] = fields[i]
    args[#args + 1] = fields[i + 1]
  end
end
redis.call(unpack(args))
redis.call('HINCRBY', KEYS[3], ARGV[1], 1)
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return 1
`);
