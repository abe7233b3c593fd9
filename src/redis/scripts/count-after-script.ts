import { LuaScript } from '../lua-script.ts';

// A consumer group's lag where Redis does not report it (src/consumer/group-lag.ts): the entries after
// the group's last-delivered id, counted inside Redis, bounded.

// KEYS[1] the stream. ARGV[1] the id after which to count, ARGV[2] the most entries to count.
// Returns the number of entries with an id greater than ARGV[1], up to ARGV[2].
export const countAfterScript = new LuaScript('orchardCountAfter', `local limit = tonumber(ARGV[2])
local counted = 0
local cursor = '(' .. ARGV[1]
while counted < limit do
  local chunk = redis.call('XRANGE', KEYS[1], cursor, '+', 'COUNT', math.min(1000, limit - counted))
  if #chunk == 0 then break end
  counted = counted + #chunk
  cursor = '(' .. chunk[#chunk][1]
end
return counted
`);
