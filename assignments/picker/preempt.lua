-- Take over a following-page hold for a reviewer who needs a page now (after the prelude
-- tiers.lua, which names the KEYS): when no page has a free place, a place held only so that
-- someone's browser could prefetch their next image goes to a reviewer with nothing on screen.
-- The prefetch's owner loses nothing but the prefetch: their submit picks afresh.
--
-- ARGV[1]   seconds    reservation length
-- ARGV[2]   holder     who asks
-- ARGV[3]   remember   '1': this becomes the holder's one page here
-- ARGV[4]   addr       the client address the reservation counts against ('' for none)
-- ARGV[5]   limit      reservations one address may hold here
-- ARGV[6..] members    following-page holds "<page>:n<holder>", in preference order
--
-- Reply: {page, live reservations of the page} or false when none could be taken over.
redis.replicate_commands()
local seconds, holder, remember = tonumber(ARGV[1]), ARGV[2], ARGV[3] == '1'
local addr, limit = ARGV[4], tonumber(ARGV[5])
local now = now_us()
expire_holds(now)
for i = 6, #ARGV do
  local taken = preempt(ARGV[i], holder, now + seconds * 1000000, addr, limit)
  if taken then
    if remember then
      leave_previous(holder, taken)
      redis.call('HSET', K.holders, holder, taken)
    end
    return {taken, held(taken)}
  end
end
return false
