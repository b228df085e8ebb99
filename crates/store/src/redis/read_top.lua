-- Reads the words a dashboard view shows, in one round trip (see crates/store/src/redis.rs).
--
-- KEYS: the view's sorted set (the all-time set, the one window's set, or a scratch key the union
--       of several windows is built in), the stats hash, then per window its set and its total.
-- ARGV: limit (0: every word), minimum count, text the words must contain ('' for any).
-- Returns {total words, unique words, word, count, word, count, ...}: exactly the words the view
-- shows, unsorted (the caller ranks them; sorting here would hold Redis up for large views).

local view, stats = KEYS[1], KEYS[2]
local limit, min_count, needle = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local windows = (#KEYS - 2) / 2
local union = windows > 1

local total = 0
if windows == 0 then
  total = tonumber(redis.call('HGET', stats, 'total_words') or '0')
else
  for key = 4, #KEYS, 2 do
    total = total + tonumber(redis.call('GET', KEYS[key]) or '0')
  end
end
if union then
  local sets = {}
  for key = 3, #KEYS, 2 do
    sets[#sets + 1] = KEYS[key]
  end
  redis.call('ZUNIONSTORE', view, #sets, unpack(sets))
end
local reply = {total, redis.call('ZCARD', view)}

local function add(word, count)
  reply[#reply + 1] = word
  reply[#reply + 1] = count
end

if needle ~= '' then
  -- A search looks at every frequent-enough word: there is no index of substrings.
  local candidates = redis.call('ZRANGEBYSCORE', view, min_count, '+inf', 'WITHSCORES')
  for i = 1, #candidates, 2 do
    if string.find(candidates[i], needle, 1, true) then
      add(candidates[i], candidates[i + 1])
    end
  end
elseif limit == 0 then
  local everything = redis.call('ZRANGEBYSCORE', view, min_count, '+inf', 'WITHSCORES')
  for i = 1, #everything, 2 do
    add(everything[i], everything[i + 1])
  end
else
  local top = redis.call('ZREVRANGEBYSCORE', view, '+inf', min_count, 'WITHSCORES', 'LIMIT', 0, limit)
  -- Redis breaks ties in reverse word order; the view breaks them in word order. Above the count
  -- of the last word every tie is complete; at that count take the first words in word order
  -- (equal scores are kept in word order), as many as are left.
  local boundary = top[#top]
  local kept = 0
  if #top / 2 == limit then
    for i = 1, #top, 2 do
      if top[i + 1] ~= boundary then
        add(top[i], top[i + 1])
        kept = kept + 1
      end
    end
    local ties = redis.call('ZRANGEBYSCORE', view, boundary, boundary, 'WITHSCORES', 'LIMIT', 0, limit - kept)
    for i = 1, #ties, 2 do
      add(ties[i], ties[i + 1])
    end
  else
    for i = 1, #top, 2 do
      add(top[i], top[i + 1])
    end
  end
end

if union then
  redis.call('DEL', view)
end
return reply
