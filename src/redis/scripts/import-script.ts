import { contractVersion, recordFields } from '../../stream/stream-record.ts';
import { LuaScript } from '../lua-script.ts';

// One call commits one batch of a file import (`orchard import`): the batch's records go to the events
// stream, its refused lines to the rejected stream, and the file's progress record moves on to the
// last line of the batch — together or not at all. The progress record is what makes an import
// exactly once across runs and crashes without a key per line: a run skips the lines the record says
// are committed, and a batch commits only when the record still holds the count the batch started
// from ("fenced" on it).
//
//   - another import of the same file moved the record since: nothing is written, 'stale' and the count
//     found (two imports of one file would otherwise append the same lines twice);
//   - the record already holds this very batch (ioredis re-sent the call after a lost reply): nothing
//     is written, 'done', so a resend never appends twice.
//
// Records already in the stream: a record whose dedup key exists (`<hash tag>:dedup:<source>:<id>`, set
// by the push routes for their dedup window: Keyspace.dedup in keyspace.ts) is not
// appended and counts as a duplicate. The import only reads these keys, it never sets them: a 1 GB file
// would leave millions of them. So the import skips what was pushed (and is still remembered), while
// the progress record alone keeps the import itself exactly once.
//
// The progress record is a hash: `lines` (lines consumed and committed), `appended`, `duplicates`
// (records found in the stream already), `rejected`, `done` ('1' once the whole file is in), `file` (the
// name given), `started`, `updated`, `writer` (the nonce of the last batch) and `writerDuplicates` (the
// duplicates of that batch: the answer to a resend).
//
// Its key, Keyspace.importProgress: `<hash tag>:import:<sha256>:<type>:<tenant hash>`, with
//   - sha256: of the file's decoded content (what the lines are read from: a file and its gzip copy are
//     one import); of its raw bytes when its gzip data is damaged (then nothing else has those bytes);
//   - type: the --type given (`auto` by default), and tenant hash: the first 16 hex digits of the sha256
//     of the --tenant given (empty by default). Another --type or --tenant is another import: a run with
//     the wrong one does not make the file un-importable.
//
// KEYS: 1 events stream, 2 rejected stream, 3 progress hash, then the dedup key of each record, in
// order. In a Redis Cluster all of them must share a hash slot: the progress and dedup keys carry the
// events stream's hash tag (keyspace.ts), and the rejected stream must carry the same tag
// (`{orchard}:events`, `{orchard}:rejected`).
// ARGV: 1 expected `lines`, 2 new `lines`, 3 writer nonce, 4 file name, 5 now (RFC 3339), 6 done flag
// ('1' when this batch ends the file), 7 record count, 8 rejected count, 9 the rejected stream's
// approximate cap (XADD MAXLEN ~; '0': none), then the fields of each record
// in `recordFields` order, then for each refused line: reason, source, received, remote, payload.
// Returns { outcome, lines, duplicates }: {'ok', new lines, duplicates of the batch}, {'done', new
// lines, duplicates of the batch}, {'stale', lines found, 0}.
export const importRecordStride = recordFields.length;
export const importRejectedStride = 5;
/** KEYS before the dedup keys of the records. */
export const importFixedKeys = 3;

const body = `local current = redis.call('HGET', KEYS[3], 'lines') or '0'
if current ~= ARGV[1] then
  if current == ARGV[2] and redis.call('HGET', KEYS[3], 'writer') == ARGV[3] then
    return {'done', current, redis.call('HGET', KEYS[3], 'writerDuplicates') or '0'}
  end
  return {'stale', current, '0'}
end
local n = tonumber(ARGV[7])
local m = tonumber(ARGV[8])
local cap = tonumber(ARGV[9])
local b = 9
local dup = 0
for i = 1, n do
  if redis.call('EXISTS', KEYS[${importFixedKeys} + i]) == 1 then
    dup = dup + 1
  else
    redis.call('XADD', KEYS[1], '*', 'v', '${contractVersion}',
${recordFields.map((f, i) => `      '${f}', ARGV[b + ${i + 1}]`).join(',\n')})
  end
  b = b + ${importRecordStride}
end
local function addRejected(...)
  if cap > 0 then
    return redis.call('XADD', KEYS[2], 'MAXLEN', '~', cap, '*', ...)
  end
  return redis.call('XADD', KEYS[2], '*', ...)
end
for i = 1, m do
  addRejected('v', '${contractVersion}',
    'reason', ARGV[b + 1],
    'source', ARGV[b + 2],
    'received', ARGV[b + 3],
    'remote', ARGV[b + 4],
    'payload', ARGV[b + 5])
  b = b + ${importRejectedStride}
end
redis.call('HSETNX', KEYS[3], 'started', ARGV[5])
redis.call('HINCRBY', KEYS[3], 'appended', n - dup)
redis.call('HINCRBY', KEYS[3], 'duplicates', dup)
redis.call('HINCRBY', KEYS[3], 'rejected', m)
redis.call('HSET', KEYS[3], 'lines', ARGV[2], 'file', ARGV[4], 'updated', ARGV[5], 'writer', ARGV[3], 'writerDuplicates', dup)
if ARGV[6] == '1' then
  redis.call('HSET', KEYS[3], 'done', '1')
end
return {'ok', ARGV[2], tostring(dup)}
`;

export const importScript = new LuaScript('orchardImport', body);
