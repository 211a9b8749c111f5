-- GET /events pages of 100 that are each asked for once: a random start time per request, so
-- no rendered page can be reused and every request reads and writes its 100 events.
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

function request()
    local minute = math.random(0, 999999)
    local path = string.format("/events?limit=100&sort=date&start_date=2031-01-01T00:00:00Z&min_popularity=%d&max_popularity=%d",
        minute % 50, 50 + math.floor(minute / 50) % 50)
    return wrk.format("GET", path)
end
