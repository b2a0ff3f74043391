--[[
publish: compare-and-set request R from "decided" to "replied" so that exactly one caller
notifies the coordinator holding the HTTP request (after the straggler grace period, or as
soon as every perspective reported).
KEYS[1] = <prefix>:{R}:req   ARGV[1] = now (epoch ms)
Returns the holder coordinator id when this caller won, or false otherwise.
]]
if redis.call('HGET', KEYS[1], 'state') ~= 'decided' then return false end
redis.call('HSET', KEYS[1], 'state', 'replied', 'replied_at', ARGV[1])
return redis.call('HGET', KEYS[1], 'holder')
