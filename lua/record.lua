--[[
record: store one perspective's result for request R and return the tally.
Atomic so that many reducers (one per coordinator) can record concurrently and a job that
was reclaimed and ran twice reports only once. Never decides a verdict (common/quorum does).
KEYS[1] = <prefix>:{R}:req  hash: state, attempt, cohort, rirs, n, q, deadline, holder,
                            primary (code of the primary perspective; absent/"" when none), ...
KEYS[2] = <prefix>:{R}:res  hash: perspective code -> msgpack result blob
KEYS[3] = <prefix>:{R}:st   hash: perspective code -> outcome "P" passed, "F" failed, "E" error
ARGV[1] = perspective code  ARGV[2] = outcome  ARGV[3] = result blob  ARGV[4] = attempt
The primary's outcome is stored under "@" .. code (codes never contain "@"); its blob under
its plain code. While it has not reported, the pair {"@" .. code, "-"} is returned first.
Returns {status, state, n, q, cohort, rirs, deadline, code1, outcome1, code2, outcome2, ...}
  status "ok" (stored) | "dup" (this perspective already reported; nothing changed)
  or {status} alone for "gone" (unknown/expired R), "closed" (already answered),
  "stale" (another attempt), "foreign" (perspective not in the cohort); "closed" also while
  R waits for its next attempt (a late result of a failed attempt is never used)
]]
local req = redis.call('HMGET', KEYS[1], 'state', 'attempt', 'cohort', 'rirs', 'n', 'q', 'deadline',
                       'primary')
local state = req[1]
if not state then return {'gone'} end
if state == 'replied' or state == 'retrying' then return {'closed'} end
if req[2] ~= ARGV[4] then return {'stale'} end
-- exact membership: a substring search would accept "a,b" for cohort "a,b,c"
local primary = req[8] or ''
local field = ARGV[1]
local member = false
if primary ~= '' and ARGV[1] == primary then
  member = true
  field = '@' .. primary
else
  for code in string.gmatch(req[3] or '', '[^,]+') do
    if code == ARGV[1] then member = true break end
  end
end
if not member then return {'foreign'} end
local status = 'dup'
if redis.call('HSETNX', KEYS[3], field, ARGV[2]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  -- the first outcome created both hashes: give them the record's TTL once, not per result
  if redis.call('HLEN', KEYS[3]) == 1 then
    local ttl = redis.call('PTTL', KEYS[1])
    if ttl > 0 then
      redis.call('PEXPIRE', KEYS[2], ttl)
      redis.call('PEXPIRE', KEYS[3], ttl)
    end
  end
  status = 'ok'
end
local out = {status, state, req[5], req[6], req[3], req[4], req[7]}
if primary ~= '' and redis.call('HEXISTS', KEYS[3], '@' .. primary) == 0 then
  out[#out + 1] = '@' .. primary
  out[#out + 1] = '-'
end
local tally = redis.call('HGETALL', KEYS[3])
for i = 1, #tally do out[#out + 1] = tally[i] end
return out
