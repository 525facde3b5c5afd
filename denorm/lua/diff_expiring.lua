-- A temporary set made as the difference of two others, created together with its expiry in one
-- command (see write_expiring.lua; denorm.redis_sets.diff_temporary). All keys share one hash tag.
--
-- KEYS[1]  temporary  the set made: KEYS[2] minus KEYS[3]
-- KEYS[2]  whole      the set taken from
-- KEYS[3]  removed    the set whose members are left out
-- ARGV[1]  seconds    the expiry of the temporary set
redis.call('SDIFFSTORE', KEYS[1], KEYS[2], KEYS[3])
return redis.call('EXPIRE', KEYS[1], ARGV[1])
