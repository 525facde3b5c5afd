-- The prelude of every picker script (draw.lua, reserve.lua, release.lua, copy.lua): how the
-- to-do mirror's scores encode each page's free places and priority, and how reservations are
-- added and ended. Loaded in front of each script by scripts.py; comment-only lines are
-- stripped before a script is sent.
--
-- Every script takes the same nine keys, all on the assignment's hash slot:
-- KEYS[1]  todo      the to-do set (ids of pages that still need reviews)
-- KEYS[2]  rank      the to-do set's sorted-set mirror: page id -> score (below)
-- KEYS[3]  holds     sorted set "<page>:<holder>" -> reservation expiry (microseconds, server clock)
-- KEYS[4]  counts    hash page -> live reservations of the page
-- KEYS[5]  holders   hash holder -> the page that holder holds here (one page per holder)
-- KEYS[6]  priority  set of the assignment's priority page ids
-- KEYS[7]  hold_addr hash "<page>:<holder>" -> the client address (range) that took the hold
-- KEYS[8]  addr      hash address -> its live reservations here (PICKER_MAX_HOLDS_PER_ADDRESS)
-- KEYS[9]  soft      sorted set of the soft reservations -> expiry: following-page holds
--                    ("<page>:n<holder>") and pages handed out by /review/next/ whose review
--                    screen has not been loaded yet. A reviewer with nothing on screen may take
--                    a soft reservation over when no page has a free place (preempt.lua); the
--                    review screen (confirm.lua) and a submit's pick make a reservation firm.
--
-- A page's free places: reviews it still needs (threshold - review_count) minus its live
-- reservations. Its score in `rank`: -free, or -P - free for a priority page, when free > 0;
-- -free (zero or more) when it has no free place, whatever its priority. So the pages that may
-- be handed out are exactly the scores below 0, priority pages (below -P/2) before the others,
-- and among those the most free places first: "fewest reviews first" is the lowest score.
-- Holders: "v<visitor id>" (a browser, from its first request to its last: the signed visitor
-- cookie, unchanged by a first review, a claim or a login), "u<user id>" (callers without a
-- browser: commands, the bench, tests) or "t<random token>" (nobody to come back: not
-- remembered); "n" + holder is that holder's following page (following.py).
local K = {todo = KEYS[1], rank = KEYS[2], holds = KEYS[3], counts = KEYS[4], holders = KEYS[5],
  priority = KEYS[6], hold_addr = KEYS[7], addr = KEYS[8], soft = KEYS[9]}
local P = 1099511627776
local function free_of(score)
  score = tonumber(score)
  if score < -P / 2 then return -score - P end
  return -score
end
local function score_for(free, prio)
  if free > 0 and prio then return -P - free end
  return -free
end
local function set_free(page, free)
  local prio = redis.call('SISMEMBER', K.priority, page) == 1
  redis.call('ZADD', K.rank, score_for(free, prio), page)
end
local function adjust(page, delta)
  local s = redis.call('ZSCORE', K.rank, page)
  if s then set_free(page, free_of(s) + delta) end
end
local function held(page)
  return tonumber(redis.call('HGET', K.counts, page) or '0')
end
-- Every script's ARGV begins with the reservations' clock (scripts.py puts it there), taken off
-- here so that each script's own ARGV are numbered as its header says. '': the server's TIME
-- (production: every web process and worker agrees on when a reservation ends, whatever the
-- skew of its own clock); else microseconds from a test's frozen clock
-- (assignments.picker.clock.reservations), to cross an expiry without sleeping.
local CLOCK = table.remove(ARGV, 1)
local function now_us()
  if CLOCK ~= '' then return tonumber(CLOCK) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
-- End one reservation ("<page>:<holder>"): its place is free again. True if it existed.
local function drop_hold(member)
  if redis.call('ZREM', K.holds, member) == 0 then return false end
  local sep = string.find(member, ':', 1, true)
  local page, holder = string.sub(member, 1, sep - 1), string.sub(member, sep + 1)
  if redis.call('HINCRBY', K.counts, page, -1) <= 0 then redis.call('HDEL', K.counts, page) end
  if redis.call('HGET', K.holders, holder) == page then redis.call('HDEL', K.holders, holder) end
  local addr = redis.call('HGET', K.hold_addr, member)
  if addr then
    redis.call('HDEL', K.hold_addr, member)
    if redis.call('HINCRBY', K.addr, addr, -1) <= 0 then redis.call('HDEL', K.addr, addr) end
  end
  redis.call('ZREM', K.soft, member)
  adjust(page, 1)
  return true
end
-- Expired reservations end (a bounded number per call: until the rest are ended, their pages
-- look fuller than they are, which hands out less, never more).
local function expire_holds(now)
  local gone = redis.call('ZRANGEBYSCORE', K.holds, '-inf', now, 'LIMIT', 0, 256)
  for i = 1, #gone do drop_hold(gone[i]) end
end
-- Reserve a place on `page` for `holder` until `till` (or extend the holder's reservation).
-- `addr` ('' for none): the client address the reservation counts against; an address that
-- holds `limit` live reservations here gets no new one (false: the caller serves the page
-- without a reservation, or not at all). `soft`: the reservation may be taken over while its
-- holder has not shown they are there (see KEYS[9]); a following-page hold always is. True
-- when the holder holds the place.
local function addr_full(addr, limit)
  return addr and addr ~= '' and tonumber(redis.call('HGET', K.addr, addr) or '0') >= (tonumber(limit) or 0)
end
-- `soft`: false (firm), or the grace in seconds before a soft reservation may be taken over
-- (the time its holder's browser has to load the review screen); a following-page hold may be
-- taken over at once. The sorted set's score is the time from which it may.
local function soft_of(arg)
  local grace = tonumber(arg)
  if grace and grace > 0 then return grace end
  return false
end
local function mark_soft(member, holder, till, soft)
  if string.sub(holder, 1, 1) == 'n' then
    redis.call('ZADD', K.soft, now_us(), member)
  elseif soft then
    redis.call('ZADD', K.soft, now_us() + soft * 1000000, member)
  else
    redis.call('ZREM', K.soft, member)
  end
end
local function add_hold(page, holder, till, addr, limit, soft)
  local member = page .. ':' .. holder
  if redis.call('ZSCORE', K.holds, member) then
    redis.call('ZADD', K.holds, till, member)
    if not soft then mark_soft(member, holder, till, false) end
    return true
  end
  if addr and addr ~= '' then
    if addr_full(addr, limit) then return false end
    redis.call('HINCRBY', K.addr, addr, 1)
    redis.call('HSET', K.hold_addr, member, addr)
  end
  redis.call('ZADD', K.holds, till, member)
  mark_soft(member, holder, till, soft)
  redis.call('HINCRBY', K.counts, page, 1)
  adjust(page, -1)
  return true
end
-- Take over the soft reservation `member` for `holder`: the page's place passes from a
-- prefetch, or from a visitor who never loaded the page's screen, to a reviewer who needs a
-- page now (the previous holder picks afresh on their submit or screen). False when that
-- reservation is gone, firm, or its page left the to-do set.
local function preempt(member, holder, till, addr, limit, soft)
  local sep = string.find(member, ':', 1, true)
  local from = redis.call('ZSCORE', K.soft, member)
  if not sep or not from or tonumber(from) > now_us() or not redis.call('ZSCORE', K.holds, member) then
    return false
  end
  local page = string.sub(member, 1, sep - 1)
  if not redis.call('ZSCORE', K.rank, page) or addr_full(addr, limit) then return false end
  drop_hold(member)
  if not add_hold(page, holder, till, addr, limit, soft) then return false end
  return page
end
-- The holder's current page here ends unless it is `keep`.
local function leave_previous(holder, keep)
  local previous = redis.call('HGET', K.holders, holder)
  if previous and previous ~= keep then drop_hold(previous .. ':' .. holder) end
end
