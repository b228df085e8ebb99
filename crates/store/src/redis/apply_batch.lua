-- Applies one fenced batch of the stream job atomically, or nothing (see crates/store/src/redis.rs).
--
-- KEYS: offsets hash, all-time sorted set, stats hash, then per window its sorted set and its total.
-- ARGV: channel, update message, window TTL (s), flushed at, total words, records, invalid, late,
--       then ranges: n, n x (field, from, to); all-time: m, m x (word, count);
--       then per window, in KEYS order: its total, k, k x (word, count).
-- Returns {1} when applied, {0, field, stored offset} when a range does not start at the stored
-- offset (nothing is changed then).

local offsets, all_time, stats = KEYS[1], KEYS[2], KEYS[3]
local ranges = tonumber(ARGV[9])

-- Check every range before changing anything: the whole batch, or nothing.
local pos = 10
for _ = 1, ranges do
  local stored = redis.call('HGET', offsets, ARGV[pos])
  if stored and stored ~= ARGV[pos + 1] then
    return {0, ARGV[pos], stored}
  end
  pos = pos + 3
end

pos = 10
for _ = 1, ranges do
  redis.call('HSET', offsets, ARGV[pos], ARGV[pos + 2])
  pos = pos + 3
end

local words = tonumber(ARGV[pos])
pos = pos + 1
for _ = 1, words do
  redis.call('ZINCRBY', all_time, ARGV[pos + 1], ARGV[pos])
  pos = pos + 2
end

local ttl = ARGV[3]
for key = 4, #KEYS, 2 do
  redis.call('INCRBY', KEYS[key + 1], ARGV[pos])
  redis.call('EXPIRE', KEYS[key + 1], ttl)
  local window_words = tonumber(ARGV[pos + 1])
  pos = pos + 2
  for _ = 1, window_words do
    redis.call('ZINCRBY', KEYS[key], ARGV[pos + 1], ARGV[pos])
    pos = pos + 2
  end
  redis.call('EXPIRE', KEYS[key], ttl)
end

redis.call('HINCRBY', stats, 'total_words', ARGV[5])
redis.call('HINCRBY', stats, 'records_processed', ARGV[6])
redis.call('HINCRBY', stats, 'invalid_records', ARGV[7])
redis.call('HINCRBY', stats, 'late_records', ARGV[8])
redis.call('HINCRBY', stats, 'batches', 1)
redis.call('HSET', stats, 'last_updated', ARGV[4])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return {1}
