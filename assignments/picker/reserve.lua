-- Claim the first of the candidates (pages Postgres just checked, in preference order) that
-- still has a free place, for the holder (after the prelude tiers.lua, which names the KEYS).
-- Atomic: two reviewers can never both take a page's last place.
--
-- ARGV[1]   seconds    reservation length; 0: reservations off (nothing written)
-- ARGV[2]   holder     who asks (see tiers.lua)
-- ARGV[3]   remember   '1': this becomes the holder's one page here (the previous one ends)
-- ARGV[4]   addr       the client address the reservation counts against ('' for none)
-- ARGV[5]   limit      reservations one address may hold here
-- ARGV[6]   soft       seconds of grace of a soft reservation (see tiers.lua); 0: firm
-- ARGV[7..] candidates page ids, in preference order
--
-- Reply: {claimed, its live reservations, reserved} or false when none has a free place.
-- reserved 0: the address holds its limit, the page (which has a free place) is served
-- without a reservation. A candidate missing from the mirror is skipped (the caller decides).
redis.replicate_commands()
local seconds, holder, remember = tonumber(ARGV[1]), ARGV[2], ARGV[3] == '1'
local addr, limit, soft = ARGV[4], tonumber(ARGV[5]), soft_of(ARGV[6])
local now = 0
if seconds > 0 then
  now = now_us()
  expire_holds(now)
end
for i = 7, #ARGV do
  local page = ARGV[i]
  local s = redis.call('ZSCORE', K.rank, page)
  if s and free_of(s) > 0 then
    if seconds <= 0 then return {page, 0, 1} end
    if remember then leave_previous(holder, page) end
    if not add_hold(page, holder, now + seconds * 1000000, addr, limit, soft) then return {page, held(page), 0} end
    if remember then redis.call('HSET', K.holders, holder, page) end
    return {page, held(page), 1}
  end
end
return false
