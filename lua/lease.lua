--[[
lease: claim and release an entry of the due set, so that one sweeper at a time works on an
overdue request and a sweeper that dies (or loses Redis) mid-way leaves it to the next one:
the claim moves the entry's time to the end of the lease instead of removing it.
KEYS[1] = <prefix>:due
ARGV[1] = "claim":   ARGV[2] = request id, ARGV[3] = overdue at or before (epoch ms),
                     ARGV[4] = lease end (epoch ms)
          Moves the entry to the lease end when it is overdue. Returns 1 when this caller
          claimed it, 0 otherwise (not overdue: another sweeper holds it or it was
          rescheduled; or gone).
ARGV[1] = "release": ARGV[2] = request id, ARGV[3] = the lease end the claim set
          Removes the entry when it is still at that lease end (the work is done and nobody
          rescheduled it). Returns 1 when removed, 0 otherwise.
]]
local at = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not at then return 0 end
if ARGV[1] == 'claim' then
  if tonumber(at) > tonumber(ARGV[3]) then return 0 end
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[2])
  return 1
end
if ARGV[1] == 'release' and tonumber(at) == tonumber(ARGV[3]) then
  redis.call('ZREM', KEYS[1], ARGV[2])
  return 1
end
return 0
