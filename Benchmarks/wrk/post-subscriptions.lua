-- POST /events/{id}/subscriptions with a new address per request, spread over events 1 to 1000.
local counter = 0
-- thread_id: set by threads.lua's setup.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "threads.lua")

function init(args)
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
end

function request()
    counter = counter + 1
    local body = string.format('{"email":"bench-%d-%d@example.com","remind_before_minutes":30}', thread_id, counter)
    return wrk.format(nil, string.format("/events/%d/subscriptions", counter % 1000 + 1), nil, body)
end
