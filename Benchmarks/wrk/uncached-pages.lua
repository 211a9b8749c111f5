-- GET /events pages of 100 that are each asked for once: a random start time per request, so
-- no rendered page can be reused and every request reads and writes its 100 events.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "threads.lua")

function request()
    local minute = math.random(0, 999999)
    local path = string.format("/events?limit=100&sort=date&start_date=2031-01-01T00:00:00Z&min_popularity=%d&max_popularity=%d",
        minute % 50, 50 + math.floor(minute / 50) % 50)
    return wrk.format("GET", path)
end
