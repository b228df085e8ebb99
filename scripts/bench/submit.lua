-- wrk script for scripts/bench-api.sh: POSTs JSON texts to a producer API's /submit_text, the same
-- load for the original Python API and ours, and prints one JSON line of results at the end.
--
-- Each request carries one of a few sample sentences and a user id that varies (user_1..user_1000,
-- offset per wrk thread), so records spread over the topic's partitions by key as real traffic does.

local sentences = {
    "The quick brown fox jumps over the lazy dog",
    "Don't panic: the answer is forty-two, and the question is still unknown",
    "Streaming word counts, one window at a time, exactly once",
    "Café, CAFÉ and naïve façades: words are words in every script",
    "To be, or not to be, that is the question",
    "Kafka keeps the log; the stream job keeps the counts; Redis keeps the top words",
}
local users = 1000

-- wrk runs setup() once per thread in the main Lua state, before the threads start: give each
-- thread its own id so the threads do not send the same user id sequence in lockstep.
local next_thread_id = 0
function setup(thread)
    thread:set("thread_id", next_thread_id)
    next_thread_id = next_thread_id + 1
end

local counter = 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
    -- thread_id was set by setup() in this thread's own Lua state; 0 if run without setup.
    counter = (thread_id or 0) * 7919
end

-- Only characters that need no JSON escaping are in the samples, so plain concatenation is valid JSON.
function request()
    counter = counter + 1
    local text = sentences[(counter % #sentences) + 1]
    local user = "user_" .. ((counter % users) + 1)
    local body = '{"text": "' .. text .. '", "user_id": "' .. user .. '"}'
    return wrk.format("POST", nil, headers, body)
end

-- No response() callback on purpose: defining one makes wrk hand every response to Lua, which costs
-- client CPU on a 2-core machine that the servers need. wrk itself counts responses with status >= 400
-- in summary.errors.status (a per-thread Lua counter would also not reach done(), which runs in the
-- main state).
function done(summary, latency, requests)
    local seconds = summary.duration / 1e6
    local e = summary.errors
    io.write(string.format(
        '{"requests": %d, "duration_s": %.3f, "requests_per_s": %.1f, ' ..
        '"latency_ms": {"mean": %.3f, "p50": %.3f, "p90": %.3f, "p99": %.3f, "max": %.3f}, ' ..
        '"non_2xx": %d, "socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
        '"bytes": %d}\n',
        summary.requests, seconds, summary.requests / seconds,
        latency.mean / 1000, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
        latency:percentile(99) / 1000, latency.max / 1000,
        e.status, e.connect, e.read, e.write, e.timeout,
        summary.bytes))
end
