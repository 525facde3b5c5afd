-- The review screen of `page` is on the holder's screen (after the prelude tiers.lua, which
-- names the KEYS): their reservation becomes firm (no longer soft, see tiers.lua) and is
-- extended; a visitor who holds none (a link, not the picker) gets a soft one if the page has a
-- free place (soft: a screen anyone can load must not let a hoarder hold pages firmly).
--
-- ARGV[1]  page
-- ARGV[2]  seconds   reservation length
-- ARGV[3]  holder    who looks at the screen
-- ARGV[4]  addr      the client address the reservation counts against ('' for none)
-- ARGV[5]  limit     reservations one address may hold here
-- ARGV[6]  grace     seconds of grace of that soft reservation
--
-- Reply: 'held' (their reservation, now firm), 'reserved' (a free place taken now), 'limit'
-- (a free place, but the address holds its limit: shown without a reservation), 'full' (no
-- free place: others hold every review it still needs) or 'absent' (not to do here).
redis.replicate_commands()
local page, seconds, holder = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local addr, limit, grace = ARGV[4], tonumber(ARGV[5]), soft_of(ARGV[6])
local now = now_us()
expire_holds(now)
local s = redis.call('ZSCORE', K.rank, page)
if not s then return 'absent' end
local till = now + seconds * 1000000
local member = page .. ':' .. holder
if redis.call('ZSCORE', K.holds, member) then
  add_hold(page, holder, till, addr, limit, false)
  return 'held'
end
local following = page .. ':n' .. holder
if redis.call('ZSCORE', K.holds, following) then
  -- Their own following page, reached by a link or a reload: its place becomes theirs.
  drop_hold(following)
  if not add_hold(page, holder, till, addr, limit, false) then return 'limit' end
  leave_previous(holder, page)
  redis.call('HSET', K.holders, holder, page)
  return 'held'
end
if free_of(s) <= 0 then return 'full' end
if not add_hold(page, holder, till, addr, limit, grace) then return 'limit' end
leave_previous(holder, page)
redis.call('HSET', K.holders, holder, page)
return 'reserved'
