-- End a reservation, record a review, or settle a page's free places (after the prelude
-- tiers.lua, which names the KEYS).
--
-- ARGV[1]  page
-- ARGV[2]  holder     whose reservation ends ('' for none)
-- ARGV[3]  mode       'release': only end the reservation (a skip, a claim the check refused);
--                     'reviewed': the page got a review (it needs one fewer), the reviewer's
--                     reservation ends; 'settle': set its remaining reviews to ARGV[4]
-- ARGV[4]  remaining  (settle) threshold - review_count, from Postgres ('' otherwise)
-- ARGV[5..] holders   further holders whose reservation of the page ends too (the reviewer
--                     under another name: their visitor and their user)
--
-- Reply: 1.
redis.replicate_commands()
local page, holder, mode = ARGV[1], ARGV[2], ARGV[3]
local s = redis.call('ZSCORE', K.rank, page)
local remaining = s and (free_of(s) + held(page))
if holder ~= '' then drop_hold(page .. ':' .. holder) end
for i = 5, #ARGV do drop_hold(page .. ':' .. ARGV[i]) end
if s and mode == 'reviewed' then
  set_free(page, math.max(remaining - 1, 0) - held(page))
elseif s and mode == 'settle' then
  set_free(page, tonumber(ARGV[4]) - held(page))
end
return 1
