--[[
record: store the results of one or more perspectives for request R (one attempt) and return
the tally. Atomic so that many reducers (one per coordinator) can record concurrently and a job
that was reclaimed and ran twice reports only once. Never decides a verdict (common/quorum
does). A reducer passes every result of R it read in one batch, so one call and one judgement
serve them all.
KEYS[1] = <prefix>:{R}:req  hash: state, attempt, cohort, rirs, n, q, deadline, holder,
                            primary (code of the primary perspective; absent/"" when none), ...
KEYS[2] = <prefix>:{R}:res  hash: perspective code -> msgpack result blob
KEYS[3] = <prefix>:{R}:st   hash: perspective code -> outcome "P" passed, "F" failed, "E" error
ARGV[1] = attempt
ARGV[2], ARGV[3], ARGV[4] = perspective code, outcome, result blob; then the next result's ...
The primary's outcome is stored under "@" .. code (codes never contain "@"); its blob under
its plain code. While it has not reported, the pair {"@" .. code, "-"} is returned too.
Returns {status, state, n, q, cohort, rirs, deadline, code1, outcome1, code2, outcome2, ...}
  status: one letter per result passed, in order: "o" stored, "d" duplicate (this perspective
  already reported; nothing changed), "f" foreign (not in the cohort; ignored)
  or {status} alone for "gone" (unknown/expired R), "closed" (already answered), "stale"
  (another attempt); "closed" also while R waits for its next attempt (a late result of a
  failed attempt is never used)
]]
local req = redis.call('HMGET', KEYS[1], 'state', 'attempt', 'cohort', 'rirs', 'n', 'q', 'deadline',
                       'primary')
local state = req[1]
if not state then return {'gone'} end
if state == 'replied' or state == 'retrying' then return {'closed'} end
if req[2] ~= ARGV[1] then return {'stale'} end
local primary = req[8] or ''
-- exact membership: a substring search would accept "a,b" for cohort "a,b,c"
local members = {}
for code in string.gmatch(req[3] or '', '[^,]+') do members[code] = true end
local letters = {}
local stored = 0
for i = 2, #ARGV - 2, 3 do
  local code = ARGV[i]
  local field = code
  local letter = 'f'
  if primary ~= '' and code == primary then field = '@' .. primary end
  if field ~= code or members[code] then
    letter = 'd'
    if redis.call('HSETNX', KEYS[3], field, ARGV[i + 1]) == 1 then
      redis.call('HSET', KEYS[2], code, ARGV[i + 2])
      letter = 'o'
      stored = stored + 1
    end
  end
  letters[#letters + 1] = letter
end
local tally = redis.call('HGETALL', KEYS[3])
-- this call created both hashes (every outcome in them is ours): give them the record's TTL
-- once, not per result
if stored > 0 and #tally == 2 * stored then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[2], ttl)
    redis.call('PEXPIRE', KEYS[3], ttl)
  end
end
local out = {table.concat(letters), state, req[5], req[6], req[3], req[4], req[7]}
local primary_seen = false
for i = 1, #tally do
  out[#out + 1] = tally[i]
  if i % 2 == 1 and tally[i] == '@' .. primary then primary_seen = true end
end
if primary ~= '' and not primary_seen then
  out[#out + 1] = '@' .. primary
  out[#out + 1] = '-'
end
return out
