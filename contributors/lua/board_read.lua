-- One leaderboard's top and (optionally) one reviewer's place, in one round trip.
-- Built and unpacked in contributors/leaderboards.py (read_board); comment-only lines are
-- stripped before the script is sent.
--
-- KEYS[1]  board   sorted set user id -> review count
-- ARGV[1]  limit   how many of the top to return
-- ARGV[2]  viewer  a user id, or '' for none
--
-- Reply: {top, score, above}
--   top    ZREVRANGE 0 limit-1 WITHSCORES: {id, count, id, count, ...}
--   score  the viewer's count (false: not on the board, or no viewer)
--   above  how many reviewers have strictly more than the viewer (their rank is above + 1)
local top = {}
if tonumber(ARGV[1]) > 0 then
  top = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
end
local score = false
local above = 0
if ARGV[2] ~= '' then
  score = redis.call('ZSCORE', KEYS[1], ARGV[2])
  if score then
    above = redis.call('ZCOUNT', KEYS[1], '(' .. score, '+inf')
  end
end
return {top, score, above}
