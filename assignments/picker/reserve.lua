-- Claim one of the candidates (valid pages, in preference order): the first not reserved, else
-- the one whose reservation is oldest (expires first). Atomic, one key, one round trip.
-- Scores are expiry times in microseconds of the Redis server's clock: one clock for every web
-- process, so "handed out longest ago" is exact and the last pages rotate evenly.
-- Built in redis_source.py (ReserveArgs); comment-only lines are stripped before it is sent.
--
-- KEYS[1]     reserved    sorted set page id -> reservation expiry
-- ARGV[1]     seconds     reservation length
-- ARGV[2]     expire_ms   PEXPIRE of the reservations key
-- ARGV[3]     only_free   '1': claim nothing (reply nil) when every candidate is held
-- ARGV[4..]   candidates  page ids, in preference order
--
-- Reply: the id claimed, or nil.
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local till = now + tonumber(ARGV[1]) * 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local best, best_score, free = nil, nil, false
for i = 4, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if not score then
    best, free = ARGV[i], true
    break
  end
  score = tonumber(score)
  if best_score == nil or score < best_score then
    best, best_score = ARGV[i], score
  end
end
if not free and ARGV[3] == '1' then
  return false
end
redis.call('ZADD', KEYS[1], till, best)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return best
