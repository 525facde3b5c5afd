-- A draw, in one round trip (after the prelude tiers.lua, which names the six KEYS): the to-do
-- set's size, a uniform sample of the best band of pages that still have a free place, and
-- (first draw) the claim of one of them. Built and unpacked in drawing.py (DrawArgs,
-- DrawReply).
--
-- ARGV[1]  count      ids wanted
-- ARGV[2]  small      bands of at most this many ids are taken whole in a claiming draw
-- ARGV[3]  seconds    reservation length; 0: reservations off (nothing written)
-- ARGV[4]  seed       seed of math.random (Redis seeds it alike in every run)
-- ARGV[5]  claim      '1': claim the first id drawn (and return a held page first); '0': list
-- ARGV[6]  whole_max  a listing takes bands of at most this many ids whole
-- ARGV[7]  order      'fewest': bands are the tiers of free places (most first); 'random': the
--                     priority pages, then all the others
-- ARGV[8]  holder     who asks (see tiers.lua)
-- ARGV[9]  remember   '1': the holder keeps one page here, which asking again returns
-- ARGV[10] addr       the client address a claim counts against ('' for none)
-- ARGV[11] limit      reservations one address may hold here (PICKER_MAX_HOLDS_PER_ADDRESS)
-- ARGV[12] soft       a claim is a soft reservation (/review/next/: see tiers.lua) that may
--                     be taken over after this many seconds; 0: firm
-- ARGV[13..]          ids to leave out of a listing (examined already)
--
-- Reply: {card, ids, claimed, kept, drawable, exhausted, full, claimed_holds, mirror_missing,
--         reserved, preemptible}
--   card       SCARD of the to-do set
--   ids        ids with a free place, best band first, uniformly shuffled within each band
--   claimed    the id claimed (false: none): ids[1], or the holder's page when kept
--   kept       1: the holder's live reservation was returned (and extended)
--   drawable   how many pages have a free place
--   exhausted  1: the listing took every band whole (every page with a free place is in ids)
--   full       a uniform sample of pages with no free place (when nothing else is left)
--   claimed_holds  live reservations of the claimed page, this one included
--   mirror_missing 1: the to-do set has ids but its mirror has none (nothing drawn)
--   reserved   1: the claim holds a place; 0: the address holds its limit, so the claimed page
--              (which has a free place) is served without a reservation
--   preemptible soft reservations, soonest expiry first, when no page has a free place: their
--              places may be taken over (preempt.lua)
redis.replicate_commands()
local count, small, seconds = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local claim, whole_max, order = ARGV[5] == '1', tonumber(ARGV[6]), ARGV[7]
local holder, remember = ARGV[8], ARGV[9] == '1'
local addr, limit, soft = ARGV[10], tonumber(ARGV[11]), soft_of(ARGV[12])
math.randomseed(tonumber(ARGV[4]))
local card = redis.call('SCARD', K.todo)
local ranked = redis.call('ZCARD', K.rank)
if ranked == 0 then
  return {card, {}, false, 0, 0, 0, {}, 0, card > 0 and 1 or 0, 0, {}}
end
local now = 0
if seconds > 0 then
  now = now_us()
  expire_holds(now)
end
local till = now + seconds * 1000000
if claim and seconds > 0 and remember then
  local page = redis.call('HGET', K.holders, holder)
  if page then
    local member = page .. ':' .. holder
    if redis.call('ZSCORE', K.holds, member) and redis.call('ZSCORE', K.rank, page) then
      redis.call('ZADD', K.holds, till, member)
      if not soft then mark_soft(member, holder, till, false) end
      local drawable = redis.call('ZCOUNT', K.rank, '-inf', '(0')
      return {card, {page}, page, 1, drawable, 0, {}, held(page), 0, 1, {}}
    end
    drop_hold(member)
    redis.call('HDEL', K.holders, holder)
  end
end
local drawable = redis.call('ZCOUNT', K.rank, '-inf', '(0')
local M = 2147483647
local function rand01()
  return ((math.random(M) - 1) + (math.random(M) - 1) / M) / M
end
local function shuffle(list, from)
  for i = #list, from + 1, -1 do
    local j = from + math.floor(rand01() * (i - from + 1))
    list[i], list[j] = list[j], list[i]
  end
end
local npri = nil
local function band_size(start)
  if start >= drawable then return 0 end
  if order == 'random' then
    if npri == nil then npri = redis.call('ZCOUNT', K.rank, '-inf', '(' .. tostring(-P / 2)) end
    if start < npri then return npri - start end
    return drawable - start
  end
  local s = redis.call('ZRANGE', K.rank, start, start, 'WITHSCORES')[2]
  return redis.call('ZCOUNT', K.rank, s, s)
end
local skip = {}
for i = 13, #ARGV do skip[ARGV[i]] = true end
local ids, exhausted = {}, 1
local whole_limit = claim and small or whole_max
local start = 0
while start < drawable and #ids < count do
  local size = band_size(start)
  local from = #ids + 1
  if size <= whole_limit then
    local band = redis.call('ZRANGE', K.rank, start, start + size - 1)
    for i = 1, #band do
      if not skip[band[i]] then ids[#ids + 1] = band[i] end
    end
  else
    exhausted = 0
    local want, tries, taken = count - #ids, 0, {}
    local got = 0
    while got < want and tries < 3 * want do
      tries = tries + 1
      local r = start + math.floor(rand01() * size)
      if not taken[r] then
        taken[r] = true
        local id = redis.call('ZRANGE', K.rank, r, r)[1]
        if not skip[id] then
          ids[#ids + 1] = id
          got = got + 1
        end
      end
    end
  end
  shuffle(ids, from)
  start = start + size
end
if start < drawable then exhausted = 0 end
local full = {}
if #ids == 0 and ranked > drawable then
  local n, taken = ranked - drawable, {}
  if n <= count then
    full = redis.call('ZRANGE', K.rank, drawable, ranked - 1)
  else
    for _ = 1, count do
      local r = drawable + math.floor(rand01() * n)
      if not taken[r] then
        taken[r] = true
        full[#full + 1] = redis.call('ZRANGE', K.rank, r, r)[1]
      end
    end
  end
end
local preemptible = {}
if claim and #ids == 0 and ranked > drawable and seconds > 0 then
  preemptible = redis.call('ZRANGEBYSCORE', K.soft, '-inf', now, 'LIMIT', 0, 16)
end
local claimed, claimed_holds, reserved = false, 0, 1
if claim and #ids > 0 then
  claimed = ids[1]
  if seconds > 0 then
    if remember then leave_previous(holder, claimed) end
    if add_hold(claimed, holder, till, addr, limit, soft) then
      if remember then redis.call('HSET', K.holders, holder, claimed) end
    else
      reserved = 0
    end
    claimed_holds = held(claimed)
  end
end
return {card, ids, claimed, 0, drawable, exhausted, full, claimed_holds, 0, reserved, preemptible}
