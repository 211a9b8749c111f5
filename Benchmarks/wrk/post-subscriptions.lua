-- POST /events/{id}/subscriptions with a new address per request, spread over events 1 to 1000.
local counter = 0
-- thread_id: a global of each thread's state, set by setup (a local here would shadow it,
-- and every thread would send the same addresses).
local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("thread_id", threads)
end

function init(args)
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
end

function request()
    counter = counter + 1
    local body = string.format('{"email":"bench-%d-%d@example.com","remind_before_minutes":30}', thread_id, counter)
    return wrk.format(nil, string.format("/events/%d/subscriptions", counter % 1000 + 1), nil, body)
end
