-- Claim the first of the candidates (pages Postgres just checked, in preference order) that
-- still has a free place, for the holder (after the prelude tiers.lua, which names the KEYS).
-- Atomic: two reviewers can never both take a page's last place.
--
-- ARGV[1]   seconds    reservation length; 0: reservations off (nothing written)
-- ARGV[2]   holder     who asks (see tiers.lua)
-- ARGV[3]   remember   '1': this becomes the holder's one page here (the previous one ends)
-- ARGV[4..] candidates page ids, in preference order
--
-- Reply: {claimed, its live reservations} or false when none has a free place. A candidate
-- missing from the mirror is skipped (the caller decides).
redis.replicate_commands()
local seconds, holder, remember = tonumber(ARGV[1]), ARGV[2], ARGV[3] == '1'
local now = 0
if seconds > 0 then
  now = now_us()
  expire_holds(now)
end
for i = 4, #ARGV do
  local page = ARGV[i]
  local s = redis.call('ZSCORE', K.rank, page)
  if s and free_of(s) > 0 then
    if seconds <= 0 then return {page, 0} end
    if remember then
      leave_previous(holder, page)
      redis.call('HSET', K.holders, holder, page)
    end
    add_hold(page, holder, now + seconds * 1000000)
    return {page, held(page)}
  end
end
return false
