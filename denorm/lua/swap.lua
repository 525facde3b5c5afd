-- Swap a (sorted) set built beside into place, atomically: the temporary key carries the live
-- key's hash tag, so both are in one slot (Redis Cluster). An empty build (no temporary key)
-- deletes the live key. The one swap of the project: denorm.redis_sets.queue_swap.
--
-- KEYS[1]  temporary  the key built beside (created with an expiry: denorm.redis_sets.write_temporary)
-- KEYS[2]  live       the key readers use
-- ARGV[1]  ttl        seconds the live key then lives; 0: it persists
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PERSIST', KEYS[1])
  redis.call('RENAME', KEYS[1], KEYS[2])
else
  redis.call('DEL', KEYS[2])
end
if tonumber(ARGV[1]) > 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[1]))
end
return 1
