-- POST /events with a distinct title per request; the key comes from the KEY environment variable.
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
    wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
end

function request()
    counter = counter + 1
    local body = string.format(
        '{"title":"Benchmark %d-%d","location":"Tel Aviv","date":"2031-06-01T18:00:00Z","popularity":%d}',
        thread_id, counter, counter % 100)
    return wrk.format(nil, nil, nil, body)
end
