--[[
retry: end attempt A of request R without a verdict and schedule attempt A+1 after a cooldown,
when attempts remain; otherwise tell the caller to finalize. Compare-and-set like finalize, so
one caller wins. The attempt's results move to the prev hash so that no later attempt reuses
them (BR 3.2.2.9) while the response can still list them (previous_attempt_results).
KEYS[1] = <prefix>:{R}:req   KEYS[2] = <prefix>:{R}:res   KEYS[3] = <prefix>:{R}:st
KEYS[4] = <prefix>:{R}:prev  hash: "<A>:<code>" -> result blob, "<A>:cohort" -> codes
ARGV[1] = number of outcomes the caller judged   ARGV[2] = now (epoch ms)
ARGV[3] = base cooldown (ms)  ARGV[4] = maximum cooldown (ms)  ARGV[5] = jitter in [0, 1)
  (the caller's random number: cooldown = min(max, base * 2^(A-1)) * (0.5 + jitter))
ARGV[6] = "1" when the attempt was anomalous (perspectives disagreed), else "0"
Returns {"retry", A, retry_at} | {"final"} (no attempts left: finalize instead) |
        {"changed"} (more outcomes arrived: re-evaluate) | {"closed"} (not open / gone)
]]
local req = redis.call('HMGET', KEYS[1], 'state', 'attempt', 'max_attempts', 'cohort')
if req[1] ~= 'open' then return {'closed'} end
if redis.call('HLEN', KEYS[3]) ~= tonumber(ARGV[1]) then return {'changed'} end
local attempt = tonumber(req[2]) or 1
local max_attempts = tonumber(req[3]) or 1
if attempt >= max_attempts then return {'final'} end
local cooldown = math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * 2 ^ (attempt - 1))
local retry_at = tonumber(ARGV[2]) + math.floor(cooldown * (0.5 + tonumber(ARGV[5])))
local a = tostring(attempt)
local results = redis.call('HGETALL', KEYS[2])
for i = 1, #results, 2 do
  redis.call('HSET', KEYS[4], a .. ':' .. results[i], results[i + 1])
end
redis.call('HSET', KEYS[4], a .. ':cohort', req[4] or '', a .. ':anomalous', ARGV[6])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[4], ttl) end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('HSET', KEYS[1], 'state', 'retrying', 'retry_at', tostring(retry_at))
return {'retry', attempt, retry_at}
