-- POST /events with a distinct title per request; the key comes from the KEY environment variable.
local counter = 0
-- thread_id: set by threads.lua's setup.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "threads.lua")

function init(args)
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
end

function request()
    counter = counter + 1
    local body = string.format(
        '{"title":"Benchmark %d-%d","location":"Tel Aviv","date":"2031-06-01T18:00:00Z","popularity":%d}',
        thread_id, counter, counter % 100)
    return wrk.format(nil, nil, nil, body)
end
