-- The first write of a temporary key, created together with its expiry in one command: a build
-- pipeline goes out in several socket writes, and a worker killed between a key's first write
-- and a later EXPIRE would leave it without one, litter for ever (denorm.redis_sets.write_temporary).
-- Lua's unpack takes some thousands of values: the caller keeps this write small.
--
-- KEYS[1]  temporary  the key built beside
-- ARGV[1]  seconds    its expiry
-- ARGV[2]  command    SADD or ZADD
-- ARGV[3..]           the command's values (members; ZADD: score, member pairs)
redis.call(ARGV[2], KEYS[1], unpack(ARGV, 3))
return redis.call('EXPIRE', KEYS[1], ARGV[1])
