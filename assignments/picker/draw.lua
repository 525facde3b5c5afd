-- A draw, in one round trip: the to-do set's size, a uniform sample of it, the reservation
-- scores of the ids drawn and (first draw only) the claim of one of them. Every key is on the
-- assignment's hash slot (one Cluster slot). Built and unpacked in redis_source.py (DrawArgs,
-- DrawReply); comment-only lines are stripped before the script is sent.
--
-- KEYS[1]  todo       the assignment's to-do set (ids of pages that still need reviews)
-- KEYS[2]  reserved   sorted set page id -> reservation expiry (microseconds, server clock)
-- KEYS[3]  todo_rank  the to-do set's sorted-set mirror (every score 0), drawn from by rank
-- ARGV[1]  count       ids to draw
-- ARGV[2]  small       sets of at most this many ids are taken whole (SMEMBERS)
-- ARGV[3]  seconds     reservation length; 0: reservations off (no TIME, no claim)
-- ARGV[4]  expire_ms   PEXPIRE of the reservations key after a claim
-- ARGV[5]  fraction    a random number in [0, 1): which of the free ids drawn is claimed
-- ARGV[6]  seed        seed of math.random for the ranks (Redis seeds it alike in every run)
-- ARGV[7]  claim       '1': claim one of the ids drawn; '0': only draw
-- ARGV[8]  whole_max   when every id drawn is held, sets up to this size are searched whole
--
-- Reply: {card, ids, scores, claimed, previous, biased}
--   card      SCARD of the to-do set
--   ids       the ids drawn
--   scores    their reservation scores (nil: free), read after expired ones were dropped
--   claimed   the id claimed (false: none)
--   previous  the score the claimed id had (false: it was free): put back if Postgres refuses it
--   biased    1 when the mirror was missing and SRANDMEMBER served (the caller queues a rebuild)
--
-- The sample: small sets whole; larger ones by random rank in the sorted-set mirror
-- (ZRANGE r r), which is exactly uniform, where SRANDMEMBER on a hashtable-encoded set (over
-- 512 ids) favours some members several times over others. Two 31-bit draws per rank.
-- The claim: uniformly among the free ids drawn. When all are held and the set is small enough
-- every member is considered, so a free page is found while one remains; else more ranks are
-- drawn. Failing that, the id whose reservation expires first. It is claimed before Postgres
-- has checked it; when the check refuses it, the caller puts back `previous` or removes it.
redis.replicate_commands()
local count, small, seconds = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local expire_ms, fraction, seed = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local claim, whole_max = ARGV[7] == '1', tonumber(ARGV[8])
local card = redis.call('SCARD', KEYS[1])
local ranked = redis.call('ZCARD', KEYS[3])
math.randomseed(seed)
local M = 2147483647
local function draw(n, want, ids, taken)
  local tries = 0
  while #ids < want and tries < 3 * want do
    tries = tries + 1
    local r = math.floor(((math.random(M) - 1) + (math.random(M) - 1) / M) / M * ranked)
    if not taken[r] then
      taken[r] = true
      ids[#ids + 1] = redis.call('ZRANGE', KEYS[3], r, r)[1]
    end
  end
  return ids
end
local ids, taken, biased = {}, {}, 0
if card <= small then
  ids = redis.call('SMEMBERS', KEYS[1])
elseif ranked > 0 then
  draw(ranked, count, ids, taken)
else
  ids = redis.call('SRANDMEMBER', KEYS[1], count)
  biased = 1
end
local scores, claimed, previous = {}, false, false
local now = 0
if seconds > 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
end
if #ids > 0 then
  scores = redis.call('ZMSCORE', KEYS[2], unpack(ids))
end
if seconds > 0 and claim and #ids > 0 then
  local function free_of(list, list_scores)
    local free, oldest, oldest_score, oldest_raw = {}, nil, nil, nil
    for i = 1, #list do
      local score = list_scores[i] and tonumber(list_scores[i])
      if not score then
        free[#free + 1] = list[i]
      elseif oldest_score == nil or score < oldest_score then
        oldest, oldest_score, oldest_raw = list[i], score, list_scores[i]
      end
    end
    return free, oldest, oldest_score, oldest_raw
  end
  local free, oldest, oldest_score, oldest_raw = free_of(ids, scores)
  if #free == 0 and card > #ids then
    -- Every id drawn is held: look further before taking over someone's page.
    local more
    if card <= whole_max then
      more = redis.call('SMEMBERS', KEYS[1])
    elseif ranked > 0 then
      more = draw(ranked, 4 * count, {}, taken)
    else
      more = {}
    end
    if #more > 0 then
      local more_free, more_oldest, more_score, more_raw = free_of(more, redis.call('ZMSCORE', KEYS[2], unpack(more)))
      free = more_free
      if more_score and more_score < oldest_score then
        oldest, oldest_score, oldest_raw = more_oldest, more_score, more_raw
      end
    end
  end
  if #free > 0 then
    claimed = free[math.min(#free, math.floor(fraction * #free) + 1)]
  else
    claimed, previous = oldest, oldest_raw
  end
  redis.call('ZADD', KEYS[2], now + seconds * 1000000, claimed)
  redis.call('PEXPIRE', KEYS[2], expire_ms)
end
return {card, ids, scores, claimed, previous, biased}
