--[[
publish: compare-and-set request R from "decided" to "replied" so that exactly one caller
notifies the coordinator holding the HTTP request (after the straggler grace period, or as
soon as every perspective reported) and writes the audit record.
The winner's follow-up work (audit record, notification) is marked done with HSET post_done
once the audit record is written. A replied request whose follow-up is not marked done after
ARGV[2] ms (the winner lost its Redis connection after the script ran, or died) is won again
by the next caller, so that verdict still gets its audit record and its holder a notification.
KEYS[1] = <prefix>:{R}:req   ARGV[1] = now (epoch ms)   ARGV[2] = takeover after (ms, optional)
Optional guard, for a caller that publishes on a predicted tally (right behind the lua/record
that completes it): KEYS[2] = <prefix>:{R}:st, ARGV[3] = attempt, ARGV[4] = outcomes expected;
a decided R is published only at that attempt and with at least that many outcomes stored.
Returns the holder coordinator id when this caller won; the time (epoch ms) from which the
unfinished follow-up work can be taken over; or false otherwise.
]]
local st = redis.call('HGET', KEYS[1], 'state')
if st == 'decided' then
    if ARGV[3] and (redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[3] or
                    redis.call('HLEN', KEYS[2]) < tonumber(ARGV[4])) then
        return false
    end
    redis.call('HSET', KEYS[1], 'state', 'replied', 'replied_at', ARGV[1], 'post_at', ARGV[1])
    return redis.call('HGET', KEYS[1], 'holder')
end
if st ~= 'replied' or ARGV[2] == nil or redis.call('HEXISTS', KEYS[1], 'post_done') == 1 then
    return false
end
local at = tonumber(redis.call('HGET', KEYS[1], 'post_at') or '') or 0
if tonumber(ARGV[1]) - at < tonumber(ARGV[2]) then return at + tonumber(ARGV[2]) end
redis.call('HSET', KEYS[1], 'post_at', ARGV[1])
return redis.call('HGET', KEYS[1], 'holder')
