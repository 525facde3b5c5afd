-- The 48-hour table: the window's top reviewers and (optionally) one reviewer's place. The
-- window (the sum of the hourly buckets) is summed once per hour, then kept current by
-- recent_add.lua until it expires at the end of its hour. Every key is in the {recent} slot.
-- Built and unpacked in contributors/recent.py (read_window).
--
-- KEYS[1]      window   sorted set: the sum of the buckets below (the current hour's key)
-- KEYS[2..n]   buckets  the window's hourly buckets, oldest first
-- ARGV[1]      ttl      seconds until the end of the current hour (the window's life)
-- ARGV[2]      limit    how many of the top to return
-- ARGV[3]      viewer   a user id, or '' for none
--
-- Reply: {top, score, above} as board_read.lua
if redis.call('EXISTS', KEYS[1]) == 0 then
  local buckets = {}
  for i = 2, #KEYS do buckets[#buckets + 1] = KEYS[i] end
  local n = redis.call('ZUNIONSTORE', KEYS[1], #buckets, unpack(buckets))
  if n > 0 then redis.call('EXPIRE', KEYS[1], math.max(1, tonumber(ARGV[1]))) end
end
local top = {}
if tonumber(ARGV[2]) > 0 then
  top = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1, 'WITHSCORES')
end
local score = false
local above = 0
if ARGV[3] ~= '' then
  score = redis.call('ZSCORE', KEYS[1], ARGV[3])
  if score then
    above = redis.call('ZCOUNT', KEYS[1], '(' .. score, '+inf')
  end
end
return {top, score, above}
