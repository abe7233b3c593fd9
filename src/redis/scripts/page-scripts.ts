import { recordFields } from '../../stream/stream-record.ts';
import { LuaScript } from '../lua-script.ts';

// One call writes a pull connector's page and its new checkpoint: the records, the per-object
// versions they carry (inventories) and the checkpoint land together or not at all (DESIGN.md,
// promise 3). The call is fenced twice:
//   - by the connector's lease: a replica that lost its lease writes nothing ("lease_lost");
//   - by the checkpoint's sequence number: the call names the sequence it read, and a checkpoint
//     written since (another replica, or `orchard checkpoint reset`) makes it write nothing
//     ("stale"). When the checkpoint was written by this very call (ioredis re-sent it after a lost
//     reply), the first run's result is answered ("done"), so a resend never appends twice.
//
// A record with a version field is appended only when the versions hash holds a different version for
// that field (a computer's report not seen before); the hash is updated in the same step. A record
// whose append flag is 0 only updates the versions hash (reports older than `start`). With a stamp
// (the inventory's scan number) each field is stored as "<version>|<stamp>", so objects not seen for
// a while can be pruned (connector-state-scripts.ts) and the hash stays bounded by the fleet.
//
// A record with a dedup key (Jamf Protect alerts, which also arrive pushed) is appended only when that
// key does not exist, and the key is then set like the push path's append script sets it
// (append-script.ts): "<entry id> page", expiring after the dedup TTL. So an alert pushed first and
// pulled later, or pulled first and pushed later, lands once.
//
// A page may name a tally (one organization of an MSP connector): its pages, received, appended and
// duplicates are counted in the checkpoint hash (`tally:<name>:<count>`) in the same step, so the
// counts never disagree with the stream, whatever crash comes between two pages.
//
// A page may carry window tallies (Directory Insights, completeness.md): the ids it appends, grouped by
// the closed window (organization, service, start) their event time falls in. Each group's ids are
// added to that window's id set and the number newly added to its field of the window counts hash, in
// the same step as the records: what a window's count says the stream holds, the stream holds.
//
// KEYS: 1 stream, 2 checkpoint hash, 3 lease, 4 versions hash, 5… further streams a record may be
// routed to (JumpCloud's `stream_per_service`), then the records' dedup keys, then the window counts
// hash and the window id sets (when the page carries window tallies).
// ARGV: 1 lease token, 2 expected sequence, 3 writer id, 4 checkpoint JSON, 5 tally name ('' for
// none), 6 items the vendor answered (received), 7 items the source already dropped as duplicates,
// 8 stamp ('' for none), 9 dedup TTL in seconds, 10 record count, then per record: version field ('' for
// none), version value, append flag ('1'/'0'/'2'), the index in KEYS of its stream, the index in KEYS of
// its dedup key (0 for none), and the fields of the record in `recordFields` order; then the window
// tallies (see windowTallies; absent: none). Flag '2': the version was already stored when the sink
// read the versions hash (redis-page-sink.ts), and the record's fields are not sent (an unchanged
// computer costs Redis five short arguments, not its 2 KB report); should its stored version differ
// now, the page is answered 'stale' before anything is written (the sequence fence makes that a change
// made under this writer).
// The append flag may also be 'w': appended like '1', and when the versions hash held an older version
// of the object, its field and that version are returned (an inventory report that advanced: the
// missed-webhook check); or 'r': a removal record (inventory snapshots), appended only while the
// versions hash still holds exactly the version value sent, which it then forgets, in the same step.
// Returns { outcome, detail, advanced }: {'ok', '<appended> <duplicates>', {field, old version, …}},
// {'done', '<appended> <duplicates>'}, {'lease_lost', ''}, {'stale', '<current sequence>'}.
const stride = 5 + recordFields.length;

/** Tally fields in the checkpoint hash: `tally:<name>:<pages|received|appended|duplicates>`. */
export const tallyFieldPrefix = 'tally:';

/** The fence both page scripts start with (KEYS 2 and 3, ARGV 1 to 3). */
const fence = `if redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return {'lease_lost', ''}
end
local seq = redis.call('HGET', KEYS[2], 'seq') or '0'
if seq ~= ARGV[2] then
  if redis.call('HGET', KEYS[2], 'writer') == ARGV[3] then
    return {'done', redis.call('HGET', KEYS[2], 'result') or '0 0'}
  end
  return {'stale', seq}
end
local appended = 0
local duplicates = 0
local advanced = {}
`;

/**
 * The window tallies both page scripts run before their commit, from ARGV[w] on: the group count, then
 * (absent when the page carries no tallies) the index in KEYS of the window counts hash, the id sets'
 * expiry in seconds, a field and value to set (where counting began again, '' for none), then per
 * group the index in KEYS of its id set, its field in the counts hash, its id count and the ids.
 */
const windowTallies = (w: string) => `local w = ${w}
local groups = tonumber(ARGV[w] or '0')
if ARGV[w + 1] then
  local counts = KEYS[tonumber(ARGV[w + 1])]
  local ttl = ARGV[w + 2]
  if ARGV[w + 3] ~= '' then
    redis.call('HSET', counts, ARGV[w + 3], ARGV[w + 4])
  end
  local a = w + 5
  for g = 1, groups do
    local set = KEYS[tonumber(ARGV[a])]
    local last = a + 2 + tonumber(ARGV[a + 2])
    local added = 0
    local i = a + 3
    while i <= last do
      local j = math.min(i + 999, last)
      added = added + redis.call('SADD', set, unpack(ARGV, i, j))
      i = j + 1
    end
    if last >= a + 3 then
      redis.call('EXPIRE', set, ttl)
    end
    if added > 0 then
      redis.call('HINCRBY', counts, ARGV[a + 1], added)
    end
    a = last + 1
  end
end
`;

/** The commit both page scripts end with: the checkpoint (ARGV 4), the tally (ARGV 5 to 7) and the result, in the same step. */
const commit = `local result = appended .. ' ' .. duplicates
redis.call('HSET', KEYS[2], 'seq', tostring(tonumber(seq) + 1), 'writer', ARGV[3], 'data', ARGV[4], 'result', result)
if ARGV[5] ~= '' then
  local tally = '${tallyFieldPrefix}' .. ARGV[5] .. ':'
  redis.call('HINCRBY', KEYS[2], tally .. 'pages', 1)
  redis.call('HINCRBY', KEYS[2], tally .. 'received', tonumber(ARGV[6]))
  redis.call('HINCRBY', KEYS[2], tally .. 'appended', appended)
  redis.call('HINCRBY', KEYS[2], tally .. 'duplicates', duplicates + tonumber(ARGV[7]))
end
return {'ok', result, advanced}
`;

const body = `local stride = ${stride}
${fence}local stamp = ARGV[8]
local ttl = ARGV[9]
local function add(b)
  local r = b + 5
  return redis.call('XADD', KEYS[tonumber(ARGV[b + 4])], '*', 'v', '1',
${recordFields.map((f, i) => `    '${f}', ARGV[r + ${i + 1}]`).join(',\n')})
end
local count = tonumber(ARGV[10])
local b = 10
for i = 1, count do
  if ARGV[b + 3] == '2' then
    local stored = redis.call('HGET', KEYS[4], ARGV[b + 1])
    if not stored or (stored ~= ARGV[b + 2] and string.sub(stored, 1, #ARGV[b + 2] + 1) ~= ARGV[b + 2] .. '|') then
      return {'stale', seq}
    end
    b = b + 5
  else
    b = b + stride
  end
end
b = 10
for i = 1, count do
  local field = ARGV[b + 1]
  local flag = ARGV[b + 3]
  if flag == 'r' then
    if redis.call('HGET', KEYS[4], field) == ARGV[b + 2] then
      redis.call('HDEL', KEYS[4], field)
      add(b)
      appended = appended + 1
    end
  else
    local fresh = true
    if field ~= '' then
      local version = ARGV[b + 2]
      local stored = redis.call('HGET', KEYS[4], field)
      local storedVersion = stored
      local storedStamp = ''
      if stored then
        local bar = string.find(stored, '|', 1, true)
        if bar then
          storedVersion = string.sub(stored, 1, bar - 1)
          storedStamp = string.sub(stored, bar + 1)
        end
      end
      if storedVersion == version then
        fresh = false
        if storedStamp ~= stamp then
          redis.call('HSET', KEYS[4], field, stamp == '' and version or (version .. '|' .. stamp))
        end
      else
        if stored and flag == 'w' then
          advanced[#advanced + 1] = field
          advanced[#advanced + 1] = storedVersion
        end
        redis.call('HSET', KEYS[4], field, stamp == '' and version or (version .. '|' .. stamp))
      end
    end
    local mark = tonumber(ARGV[b + 5])
    if fresh and mark > 0 and redis.call('EXISTS', KEYS[mark]) == 1 then
      fresh = false
    end
    if not fresh then
      duplicates = duplicates + 1
    elseif flag == '1' or flag == 'w' then
      local entry = add(b)
      if mark > 0 then
        redis.call('SET', KEYS[mark], entry .. ' page', 'EX', ttl)
      end
      appended = appended + 1
    end
  end
  b = b + ((flag == '2') and 5 or stride)
end
${windowTallies('b + 1')}${commit}`;

export const pageScript = new LuaScript('orchardPage', body);

// The same write for the commonest page: events only (no versions, no dedup keys, no skipped
// records), all to KEYS[1], sharing source, tenant, connector and received (a Directory Insights
// page). Those four are sent once, and each record brings only its own five fields: for a 10,000-event
// page that is 90,000 fewer arguments for Redis to read and turn into Lua strings, a fifth less of its
// CPU per event.
// ARGV: 1 to 7 as above, 8 record count, then the page-wide fields in `pageWideFields` order, then per
// record its fields in `perRecordFields` order, then the window tallies. KEYS: 1 to 4 as above, then the
// window counts hash and id sets. Returns what the page script returns.
export const pageWideFields = ['source', 'tenant', 'connector', 'received'] as const satisfies readonly (typeof recordFields)[number][];
export const perRecordFields = recordFields.filter((f) => !(pageWideFields as readonly string[]).includes(f));
const wideArg = (f: (typeof recordFields)[number]) => 9 + (pageWideFields as readonly string[]).indexOf(f);

const uniformBody = `local stride = ${perRecordFields.length}
${fence}for i = 0, tonumber(ARGV[8]) - 1 do
  local r = ${8 + pageWideFields.length} + i * stride
  redis.call('XADD', KEYS[1], '*', 'v', '1',
${recordFields.map((f) => `    '${f}', ${(pageWideFields as readonly string[]).includes(f) ? `ARGV[${wideArg(f)}]` : `ARGV[r + ${perRecordFields.indexOf(f) + 1}]`}`).join(',\n')})
end
appended = tonumber(ARGV[8])
${windowTallies(`${9 + pageWideFields.length} + tonumber(ARGV[8]) * stride`)}${commit}`;

export const uniformPageScript = new LuaScript('orchardUniformPage', uniformBody);
