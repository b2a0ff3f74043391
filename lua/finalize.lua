--[[
finalize: compare-and-set request R from "open" to "decided" and store the verdict, so that
exactly one reducer or deadline handler decides each request, with the tally it judged.
KEYS[1] = <prefix>:{R}:req  KEYS[2] = <prefix>:{R}:st
ARGV[1] = verdict "valid" | "invalid"   ARGV[2] = reason (free text for the audit)
ARGV[3] = now (epoch ms)                ARGV[4] = number of outcomes the caller judged
Returns 1 when this caller decided; 0 when R was already decided/answered or is gone;
-1 when more outcomes were recorded since the caller's tally (re-evaluate and retry).
]]
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'open' then return 0 end
if redis.call('HLEN', KEYS[2]) ~= tonumber(ARGV[4]) then return -1 end
redis.call('HSET', KEYS[1], 'state', 'decided', 'verdict', ARGV[1], 'reason', ARGV[2],
           'decided_at', ARGV[3])
return 1
