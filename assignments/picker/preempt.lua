-- Take over a soft reservation for a reviewer who needs a page now (after the prelude
-- tiers.lua, which names the KEYS): when no page has a free place, a place held only so that
-- someone's browser could prefetch their next image, or by a visitor who never loaded the
-- page's screen (a hoarder), goes to a reviewer with nothing on screen. The previous holder
-- loses nothing but that: their submit or screen picks afresh.
--
-- ARGV[1]   seconds    reservation length
-- ARGV[2]   holder     who asks
-- ARGV[3]   remember   '1': this becomes the holder's one page here
-- ARGV[4]   addr       the client address the reservation counts against ('' for none)
-- ARGV[5]   limit      reservations one address may hold here
-- ARGV[6]   soft       seconds of grace: the new reservation is soft too (a /review/next/
--                      pick); 0: firm
-- ARGV[7..] members    soft reservations "<page>:<holder>", in preference order
--
-- Reply: {page, live reservations of the page} or false when none could be taken over.
redis.replicate_commands()
local seconds, holder, remember = tonumber(ARGV[1]), ARGV[2], ARGV[3] == '1'
local addr, limit, soft = ARGV[4], tonumber(ARGV[5]), soft_of(ARGV[6])
local now = now_us()
expire_holds(now)
for i = 7, #ARGV do
  local taken = preempt(ARGV[i], holder, now + seconds * 1000000, addr, limit, soft)
  if taken then
    if remember then
      leave_previous(holder, taken)
      redis.call('HSET', K.holders, holder, taken)
    end
    return {taken, held(taken)}
  end
end
return false
