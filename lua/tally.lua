--[[
tally: read request R's state and the outcomes recorded so far (read-only), in the same
shape as record.lua, for deadline processing and the sweeper.
KEYS[1] = <prefix>:{R}:req  KEYS[2] = <prefix>:{R}:st
Returns {"ok", state, n, q, cohort, rirs, deadline, code1, outcome1, ...} or {"gone"}
(the primary perspective as in record.lua: "@" .. code, outcome "-" until it reported)
]]
local req = redis.call('HMGET', KEYS[1], 'state', 'n', 'q', 'cohort', 'rirs', 'deadline',
                       'primary')
if not req[1] then return {'gone'} end
local out = {'ok', req[1], req[2], req[3], req[4], req[5], req[6]}
local primary = req[7] or ''
local primary_seen = false
local tally = redis.call('HGETALL', KEYS[2])
for i = 1, #tally do
  out[#out + 1] = tally[i]
  if i % 2 == 1 and tally[i] == '@' .. primary then primary_seen = true end
end
if primary ~= '' and not primary_seen then
  out[#out + 1] = '@' .. primary
  out[#out + 1] = '-'
end
return out
