import { recordFields } from '../../stream/stream-record.ts';
import { LuaScript } from '../lua-script.ts';

// The repair of a closed window (connectors/window-verifier.ts, `orchard verify --repair`): the
// window's events read again from the vendor are appended only when their id is not in the window's id
// set, which the page scripts fill as they append (page-scripts.ts, windowTallies), and the number
// newly appended is added to the window's count, in one step. So a repair never appends an event
// twice, whether it runs beside the connector, twice, or again after a crash; and without the id set
// (expired) a window that holds events is not repaired at all: its events could not be told apart.
//
// KEYS: 1 window counts hash, 2 the window's id set, 3… the streams the records go to.
// ARGV: 1 the window's field in the counts hash, 2 the id set's expiry in seconds, 3 record count, then
// per record: the index in KEYS of its stream, and its fields in `recordFields` order.
// Returns the number appended, or -1 when the id set is gone while the window's count is not zero.
const stride = 1 + recordFields.length;
const idAt = 2 + recordFields.indexOf('id');

export const windowRepairScript = new LuaScript(
  'orchardWindowRepair',
  `local stride = ${stride}
if redis.call('EXISTS', KEYS[2]) == 0 and tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') > 0 then
  return -1
end
local added = 0
for i = 0, tonumber(ARGV[3]) - 1 do
  local b = 3 + i * stride
  local id = ARGV[b + ${idAt}]
  if redis.call('SISMEMBER', KEYS[2], id) == 0 then
    redis.call('XADD', KEYS[tonumber(ARGV[b + 1])], '*', 'v', '1',
${recordFields.map((f, i) => `      '${f}', ARGV[b + ${i + 2}]`).join(',\n')})
    redis.call('SADD', KEYS[2], id)
    added = added + 1
  end
end
if added > 0 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], added)
  redis.call('EXPIRE', KEYS[2], ARGV[2])
end
return added
`,
);
