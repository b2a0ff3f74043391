--[[
advance: start attempt A+1 of request R (compare-and-set from "retrying" at attempt A), with
the fresh cohort the caller computed, so exactly one coordinator enqueues its jobs.
KEYS[1] = <prefix>:{R}:req
ARGV[1] = A (the attempt that failed)  ARGV[2] = now (epoch ms)
ARGV[3] = new cohort codes  ARGV[4] = their RIR numbers  ARGV[5] = new deadline (epoch ms)
Returns 1 when this caller advanced R, 0 otherwise (not retrying, another attempt, too early).
]]
local req = redis.call('HMGET', KEYS[1], 'state', 'attempt', 'retry_at')
if req[1] ~= 'retrying' or req[2] ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) < (tonumber(req[3]) or 0) then return 0 end
redis.call('HSET', KEYS[1], 'state', 'open', 'attempt', tostring(tonumber(ARGV[1]) + 1),
           'cohort', ARGV[3], 'rirs', ARGV[4], 'deadline', ARGV[5])
redis.call('HDEL', KEYS[1], 'retry_at')
return 1
