-- A review enters the 48-hour table: its hour's bucket, and the current window when it is
-- built and the review's hour lies in it. Every key is in the {recent} slot.
-- Built in contributors/recent.py (record_review).
--
-- KEYS[1]  bucket      sorted set user id -> reviews made in the review's hour
-- KEYS[2]  window      sorted set: the sum of the window's buckets (current hour's key)
-- ARGV[1]  user        the reviewer's user id
-- ARGV[2]  bucket_ttl  seconds the bucket lives (until it has left every window)
-- ARGV[3]  in_window   '1' when the review's hour is one of the window's hours
--
-- Reply: 1
redis.call('ZINCRBY', KEYS[1], 1, ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
if ARGV[3] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('ZINCRBY', KEYS[2], 1, ARGV[1])
end
return 1
