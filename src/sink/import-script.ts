import { contractVersion, recordFields } from './stream-record.ts';

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
// The progress record is a hash: `lines` (lines consumed and committed), `appended`, `rejected`,
// `done` ('1' once the whole file is in), `file` (the name given), `started`, `updated`, `writer` (the
// nonce of the last batch).
//
// KEYS: 1 events stream, 2 rejected stream, 3 progress hash. In a Redis Cluster all three must share a
// hash slot: the progress key carries the events stream's hash tag (`hashTagOf`), and the rejected
// stream must carry the same tag (`{orchard}:events`, `{orchard}:rejected`).
// ARGV: 1 expected `lines`, 2 new `lines`, 3 writer nonce, 4 file name, 5 now (RFC 3339), 6 done flag
// ('1' when this batch ends the file), 7 record count, 8 rejected count, then the fields of each record
// in `recordFields` order, then for each refused line: reason, source, received, remote, payload.
// Returns { outcome, lines }: {'ok', new lines}, {'done', new lines}, {'stale', lines found}.
export const importRecordStride = recordFields.length;
export const importRejectedStride = 5;

const body = `local current = redis.call('HGET', KEYS[3], 'lines') or '0'
if current ~= ARGV[1] then
  if current == ARGV[2] and redis.call('HGET', KEYS[3], 'writer') == ARGV[3] then
    return {'done', current}
  end
  return {'stale', current}
end
local n = tonumber(ARGV[7])
local m = tonumber(ARGV[8])
local b = 8
for i = 1, n do
  redis.call('XADD', KEYS[1], '*', 'v', '${contractVersion}',
${recordFields.map((f, i) => `    '${f}', ARGV[b + ${i + 1}]`).join(',\n')})
  b = b + ${importRecordStride}
end
for i = 1, m do
  redis.call('XADD', KEYS[2], '*', 'v', '${contractVersion}',
    'reason', ARGV[b + 1],
    'source', ARGV[b + 2],
    'received', ARGV[b + 3],
    'remote', ARGV[b + 4],
    'payload', ARGV[b + 5])
  b = b + ${importRejectedStride}
end
redis.call('HSETNX', KEYS[3], 'started', ARGV[5])
redis.call('HINCRBY', KEYS[3], 'appended', n)
redis.call('HINCRBY', KEYS[3], 'rejected', m)
redis.call('HSET', KEYS[3], 'lines', ARGV[2], 'file', ARGV[4], 'updated', ARGV[5], 'writer', ARGV[3])
if ARGV[6] == '1' then
  redis.call('HSET', KEYS[3], 'done', '1')
end
return {'ok', ARGV[2]}
`;

export const importScript = `#!lua\n${body}`;

/** Redis before 7.0 knows no shebang: the same script without it. */
export const importScriptLegacy = body;

/** The progress record of a file import: one per distinct file content (sha256 of its raw bytes). */
export function importProgressKey(hashTag: string, sha256: string): string {
  return `${hashTag}:import:${sha256}`;
}
