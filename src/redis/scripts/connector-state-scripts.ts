import { LuaScript } from '../lua-script.ts';

// The scripts of a pull connector's state (src/connector-state/connector-state-store.ts) besides the
// page write (page-scripts.ts): its checkpoint reset, its lease, and the pruning of its versions. The
// keys are a connector's (keyspace.ts: Keyspace.connector), which share the events stream's hash tag.

// Replaces a connector's checkpoint and forgets its versions and tallies (operator reset, or a changed
// `start`).
// KEYS: 1 checkpoint hash, 2 versions hash. ARGV: 1 writer id, 2 checkpoint JSON ('' deletes it).
// Returns the new sequence number. It raises the sequence like a page does, so a page computed before
// the reset is fenced out ('stale') instead of overwriting it.
export const resetScript = new LuaScript(
  'orchardReset',
  `local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0') + 1
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'seq', tostring(seq), 'writer', ARGV[1], 'data', ARGV[2], 'result', '0 0')
return seq
`,
);

// Extends a lease while it still holds this replica's token, so a replica that lost it (a long pause,
// Redis unreachable) can never extend another's.
// KEYS: 1 lease. ARGV: 1 token, 2 expiry in ms. Returns 1 renewed, 0 not held.
export const leaseRenewScript = new LuaScript(
  'orchardLeaseRenew',
  `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`,
);

// Deletes a lease while it still holds this replica's token.
// KEYS: 1 lease. ARGV: 1 token. Returns 1 released, 0 not held.
export const leaseReleaseScript = new LuaScript(
  'orchardLeaseRelease',
  `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`,
);

// Forgets versions of objects no longer seen, each only if it still holds the value read (a page
// written meanwhile wins).
// KEYS: 1 versions hash. ARGV: field, value, field, value, … Returns how many were deleted.
export const pruneVersionsScript = new LuaScript(
  'orchardPruneVersions',
  `local removed = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    removed = removed + 1
  end
end
return removed
`,
);
