-- Copy a reservation made in another assignment into this one (after the prelude tiers.lua,
-- which names the KEYS): a page in two assignments (a party and one of its members) is one
-- page, and a reviewer of either takes one of its places in both.
--
-- ARGV[1]  page
-- ARGV[2]  holder
-- ARGV[3]  seconds  reservation length
-- ARGV[4]  soft     seconds of grace of a soft copy (see tiers.lua); 0: firm
--
-- Reply: 1 when the place is taken here too (or the page is not to do here); 0 when the page
-- has no free place here: the caller gives the page up.
redis.replicate_commands()
local page, holder, seconds, soft = ARGV[1], ARGV[2], tonumber(ARGV[3]), soft_of(ARGV[4])
local now = now_us()
expire_holds(now)
local s = redis.call('ZSCORE', K.rank, page)
if not s then return 1 end
local member = page .. ':' .. holder
if redis.call('ZSCORE', K.holds, member) then
  add_hold(page, holder, now + seconds * 1000000, '', 0, soft)
  return 1
end
if free_of(s) <= 0 then return 0 end
add_hold(page, holder, now + seconds * 1000000, '', 0, soft)
return 1
