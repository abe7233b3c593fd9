import { recordFields } from '../../stream/stream-record.ts';
import { LuaScript } from '../lua-script.ts';

// The push routes' append (RedisStreamSink): one call appends a batch of records idempotently. For each record: when its dedup key exists the
// entry id stored there is returned and nothing is written; otherwise the record is appended and the
// dedup key set to "<entry id> <batch nonce>.<position>" with the window as expiry. Append and mark happen in the
// same script, so they are one atomic step. Every key is passed in KEYS (Redis Cluster: they share
// the stream's hash slot; lua-script.ts runs it so an undeclared key fails loudly).
//
// The nonce tells a real duplicate from our own batch sent again: ioredis re-sends a command whose
// reply was lost with the connection, and that second run must answer "appended", not "duplicate".
// It is per record (batch nonce and position), so two copies of one event in the same batch are
// still one append and one duplicate.
//
// A record may carry a device sighting (a Jamf Pro check-in or inventory webhook, docs/completeness.md):
// once appended, the hash of its tenant's devices (KEYS, sharing the stream's slot) keeps the event
// time under `serial:<serial>` and `udid:<udid>`, the later one winning. The inventory's missed-webhook
// check reads it. It rides in this step, so a sighting costs the webhook path no round trip of its own.
//
// KEYS[1] the stream; KEYS[1 + i] the dedup key of record i; then the device hashes sightings name.
// ARGV[1] the window in seconds; ARGV[2] the batch nonce; ARGV[3] the record count; then per record
// its fields in `recordFields` order and its sighting: '' for none, else
// "<index in KEYS of the device hash>|<event time ms>|<serial>|<udid>" (either may be empty).
// Returns { entry_1, new_1, entry_2, new_2, … } with new_i = 1 when appended by this batch, 0 when a
// duplicate of an earlier append.
const body = `local stride = ${recordFields.length + 1}
local ttl = ARGV[1]
local nonce = ARGV[2]
local out = {}
local function sighted(hash, field, ms)
  if tonumber(redis.call('HGET', hash, field) or '0') < ms then
    redis.call('HSET', hash, field, ms)
  end
end
for i = 1, tonumber(ARGV[3]) do
  local mark = KEYS[i + 1]
  local mine = nonce .. '.' .. i
  local seen = redis.call('GET', mark)
  if seen then
    local space = string.find(seen, ' ', 1, true)
    if space then
      out[#out + 1] = string.sub(seen, 1, space - 1)
      out[#out + 1] = (string.sub(seen, space + 1) == mine) and 1 or 0
    else
      out[#out + 1] = seen
      out[#out + 1] = 0
    end
  else
    local b = 3 + (i - 1) * stride
    local entry = redis.call('XADD', KEYS[1], '*', 'v', '1',
${recordFields.map((f, i) => `      '${f}', ARGV[b + ${i + 1}]`).join(',\n')})
    redis.call('SET', mark, entry .. ' ' .. mine, 'EX', ttl)
    local sighting = ARGV[b + stride]
    if sighting ~= '' then
      local k, ms, serial, udid = string.match(sighting, '^(%d+)|(%d+)|([^|]*)|([^|]*)$')
      if k then
        if serial ~= '' then sighted(KEYS[tonumber(k)], 'serial:' .. serial, tonumber(ms)) end
        if udid ~= '' then sighted(KEYS[tonumber(k)], 'udid:' .. udid, tonumber(ms)) end
      end
    end
    out[#out + 1] = entry
    out[#out + 1] = 1
  end
end
return out
`;

export const appendScript = new LuaScript('orchardAppend', body);
