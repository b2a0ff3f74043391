--[[
finalize: compare-and-set request R from "open" to "decided" and store the verdict, so that
exactly one reducer or deadline handler decides each request, with the tally it judged.
KEYS[1] = <prefix>:{R}:req  KEYS[2] = <prefix>:{R}:st
ARGV[1] = verdict "valid" | "invalid"   ARGV[2] = reason (free text for the audit)
ARGV[3] = now (epoch ms)                ARGV[4] = number of outcomes the caller judged
Optional, when the caller judged a tally it predicted rather than read (a reducer that sends
this right behind the lua/record that completes it): ARGV[5] = the attempt judged, then
ARGV[6], ARGV[7], ... = field, outcome pairs of that tally; R must be at that attempt and
the stored outcomes must be exactly these.
Returns 1 when this caller decided; 0 when R was already decided/answered, is gone or (with
ARGV[5]) is at another attempt; -1 when the stored outcomes differ from the caller's tally
(more were recorded since, or a prediction was wrong: re-evaluate and retry).
]]
local req = redis.call('HMGET', KEYS[1], 'state', 'attempt')
if req[1] ~= 'open' then return 0 end
if ARGV[5] and req[2] ~= ARGV[5] then return 0 end
if redis.call('HLEN', KEYS[2]) ~= tonumber(ARGV[4]) then return -1 end
if ARGV[6] then
  local fields = {}
  for i = 6, #ARGV - 1, 2 do fields[#fields + 1] = ARGV[i] end
  local got = redis.call('HMGET', KEYS[2], unpack(fields))
  for k = 1, #fields do
    if got[k] ~= ARGV[5 + 2 * k] then return -1 end
  end
end
redis.call('HSET', KEYS[1], 'state', 'decided', 'verdict', ARGV[1], 'reason', ARGV[2],
           'decided_at', ARGV[3])
return 1
