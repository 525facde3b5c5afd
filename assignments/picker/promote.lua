-- The following page becomes the current one (after the prelude tiers.lua, which names the
-- KEYS): the reservation "<page>:<from>" (the reviewer's next slot, see following.py) becomes
-- "<page>:<to>" (the reviewer's own), in place, so the page's live reservations and free places
-- do not change. Atomic: the place was held throughout, nobody else could take it meanwhile.
--
-- ARGV[1]  page
-- ARGV[2]  from      the next slot's holder
-- ARGV[3]  to        the reviewer's holder
-- ARGV[4]  seconds   the new reservation length
-- ARGV[5]  remember  '1': the page becomes `to`'s one page here (the main assignment); '0': a
--                    copied claim in an overlapping assignment
--
-- Reply: {1, live reservations of the page} when moved; {0, 0} when the next slot's
-- reservation is gone (expired, or the page left the to-do set): the caller picks afresh.
redis.replicate_commands()
local page, from, to = ARGV[1], ARGV[2], ARGV[3]
local seconds, remember = tonumber(ARGV[4]), ARGV[5] == '1'
local now = now_us()
expire_holds(now)
local member = page .. ':' .. from
if not redis.call('ZSCORE', K.holds, member) or not redis.call('ZSCORE', K.rank, page) then
  drop_hold(member)
  return {0, 0}
end
local till = now + seconds * 1000000
if redis.call('HGET', K.holders, from) == page then redis.call('HDEL', K.holders, from) end
local mine = page .. ':' .. to
if redis.call('ZSCORE', K.holds, mine) then
  -- The reviewer holds the page already (another tab): one place each, never two.
  drop_hold(member)
  redis.call('ZADD', K.holds, till, mine)
else
  redis.call('ZREM', K.holds, member)
  redis.call('ZREM', K.soft, member)
  redis.call('ZADD', K.holds, till, mine)
  local addr = redis.call('HGET', K.hold_addr, member)
  if addr then
    redis.call('HDEL', K.hold_addr, member)
    redis.call('HSET', K.hold_addr, mine, addr)
  end
end
if remember then
  leave_previous(to, page)
  redis.call('HSET', K.holders, to, page)
end
return {1, held(page)}
