import { LuaScript } from '../lua-script.ts';

// A refused body that waited in the local spool (src/spool/) while Redis was away, appended to the
// rejected stream once however often the drain sends it: a crash between Redis's answer and the drain
// cursor's sync sends it again, and ioredis re-sends a command whose reply was lost. The marker key
// remembers the entry for the spooled record's lifetime; a second call answers that entry and writes
// nothing. The marker shares the rejected stream's hash tag (keyspace.ts `spooledRejectedMarker`).
//
// KEYS[1] the rejected stream; KEYS[2] the record's marker key.
// ARGV[1] the marker's lifetime in seconds; ARGV[2] the approximate cap of the stream (MAXLEN ~), 0 for
// none; ARGV[3..7] reason, source, received, remote, payload.
// Returns the entry id (of this call's entry, or of the first call's).
export const rejectedOnceScript = new LuaScript('orchardRejectedOnce', `local seen = redis.call('GET', KEYS[2])
if seen then return seen end
local cap = tonumber(ARGV[2])
local entry
if cap > 0 then
  entry = redis.call('XADD', KEYS[1], 'MAXLEN', '~', cap, '*', 'v', '1', 'reason', ARGV[3], 'source', ARGV[4], 'received', ARGV[5], 'remote', ARGV[6], 'payload', ARGV[7])
else
  entry = redis.call('XADD', KEYS[1], '*', 'v', '1', 'reason', ARGV[3], 'source', ARGV[4], 'received', ARGV[5], 'remote', ARGV[6], 'payload', ARGV[7])
end
redis.call('SET', KEYS[2], entry, 'EX', ARGV[1])
return entry
`);
