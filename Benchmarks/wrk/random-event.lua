-- GET /events/{id} over ids 1 to EVENTS (default 1,000,000) at random: most miss every cache.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "threads.lua")

local events = tonumber(os.getenv("EVENTS") or "1000000")

function request()
    return wrk.format("GET", "/events/" .. math.random(1, events))
end
