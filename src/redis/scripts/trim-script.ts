import { LuaScript } from '../lua-script.ts';

// Retention (src/consumer/stream-trimmer.ts): trims the stream by length and age, never past the first
// entry a consumer group has not yet read or acknowledged, in one atomic step.

// KEYS[1] the stream.
// ARGV[1] maxLen (-1: none), ARGV[2] maxAgeMs (-1: none), ARGV[3] '1' to trim without groups,
// ARGV[4] held scan limit.
// Returns { reason, trimmed, held, held_is_lower_bound (0/1), length_after, boundary, safe, groups }.
export const trimScript = new LuaScript('orchardTrim', `local stream = KEYS[1]
local maxLen = tonumber(ARGV[1])
local maxAgeMs = tonumber(ARGV[2])
local withoutGroups = ARGV[3] == '1'
local heldScanLimit = tonumber(ARGV[4])

local function split(id)
  return string.match(id, '^(%d+)-(%d+)$')
end
local function cmpnum(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end
local function cmp(a, b)
  local am, as = split(a)
  local bm, bs = split(b)
  local c = cmpnum(am, bm)
  if c ~= 0 then return c end
  return cmpnum(as, bs)
end
local function incr(d)
  local out, carry = {}, 1
  for k = #d, 1, -1 do
    local n = string.byte(d, k) - 48 + carry
    if n == 10 then out[k] = '0'; carry = 1 else out[k] = string.char(48 + n); carry = 0 end
  end
  local s = table.concat(out)
  if carry == 1 then s = '1' .. s end
  return s
end
local function successor(id)
  local ms, seq = split(id)
  if seq == '18446744073709551615' then return incr(ms) .. '-0' end
  return ms .. '-' .. incr(seq)
end

local length = redis.call('XLEN', stream)
if length == 0 then return { 'empty', 0, 0, 0, 0, '', '', 0 } end

-- The safe boundary: the first entry some group still needs (nil: no group limits trimming).
local groups = redis.call('XINFO', 'GROUPS', stream)
local safe = nil
if #groups == 0 then
  if not withoutGroups then safe = '0-0' end
else
  for _, g in ipairs(groups) do
    local info = {}
    for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
    local bound = successor(info['last-delivered-id'])
    if tonumber(info['pending']) > 0 then
      local summary = redis.call('XPENDING', stream, info['name'])
      if summary[2] and cmp(summary[2], bound) < 0 then bound = summary[2] end
    end
    if safe == nil or cmp(bound, safe) < 0 then safe = bound end
  end
end
local safeText = safe or ''

-- The retention boundary: the first entry retention keeps.
local ageBound = nil
if maxAgeMs >= 0 then
  local t = redis.call('TIME')
  local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - maxAgeMs
  if cutoff > 0 then ageBound = string.format('%.0f', cutoff) .. '-0' end
end
local wantedByLen = 0
local lenBound = nil
local lenBeyondSafe = false
if maxLen >= 0 and length > maxLen then
  wantedByLen = length - maxLen
  if safe ~= nil and ageBound ~= nil and cmp(ageBound, safe) >= 0 then
    -- The age rule alone reaches the safe boundary: where maxLen would cut does not matter.
    lenBeyondSafe = true
  else
    -- Walk from the oldest entry to the first one maxLen keeps, never past the safe boundary.
    local cursor = '-'
    local seen = 0
    local last = nil
    while lenBound == nil and not lenBeyondSafe do
      local chunk = redis.call('XRANGE', stream, cursor, '+', 'COUNT', math.min(1000, wantedByLen - seen + 1))
      if #chunk == 0 then
        lenBound = successor(last)
        break
      end
      for i = 1, #chunk do
        local id = chunk[i][1]
        if safe ~= nil and cmp(id, safe) >= 0 then lenBeyondSafe = true; break end
        if seen == wantedByLen then lenBound = id; break end
        seen = seen + 1
        last = id
      end
      cursor = '(' .. chunk[#chunk][1]
    end
  end
end
if ageBound == nil and lenBound == nil and not lenBeyondSafe then
  return { 'nothing_to_trim', 0, 0, 0, length, '', safeText, #groups }
end

local retention = ageBound
if lenBound ~= nil and (retention == nil or cmp(lenBound, retention) > 0) then retention = lenBound end
local boundary = retention
local limited = false
if lenBeyondSafe or (safe ~= nil and cmp(safe, retention) < 0) then
  boundary = safe
  limited = true
end

local trimmed = redis.call('XTRIM', stream, 'MINID', boundary)

local held = 0
local lowerBound = 0
if limited then
  held = math.max(0, wantedByLen - trimmed)
  if ageBound ~= nil and cmp(boundary, ageBound) < 0 then
    -- Entries in [boundary, ageBound): kept although older than maxAgeMs.
    local heldAge = 0
    local cursor = boundary
    while heldAge < heldScanLimit do
      local chunk = redis.call('XRANGE', stream, cursor, '(' .. ageBound, 'COUNT', math.min(1000, heldScanLimit - heldAge))
      if #chunk == 0 then break end
      heldAge = heldAge + #chunk
      cursor = '(' .. chunk[#chunk][1]
    end
    if heldAge >= heldScanLimit then lowerBound = 1 end
    if heldAge > held then held = heldAge end
  end
end
local reason = 'ok'
if held > 0 then reason = (#groups == 0) and 'no_groups' or 'held_unread' end
return { reason, trimmed, held, lowerBound, length - trimmed, boundary, safeText, #groups }
`);
