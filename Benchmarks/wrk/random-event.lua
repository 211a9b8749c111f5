-- GET /events/{id} over ids 1 to EVENTS (default 1,000,000) at random: most miss every cache.
-- Each wrk thread loads this script in its own Lua state within the same second: seeded with the
-- time alone, both threads would send the same sequence (every request twice, the second
-- possibly answered from what the first left behind). `setup` numbers the threads.
local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("thread_id", threads)
end

function init(args)
    math.randomseed(os.time() * 1000 + (thread_id or 0))
end

local events = tonumber(os.getenv("EVENTS") or "1000000")

function request()
    return wrk.format("GET", "/events/" .. math.random(1, events))
end
