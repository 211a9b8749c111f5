-- Loaded first by every script here: numbers wrk's threads and seeds each one's random numbers.
--
-- `setup` runs in wrk's main Lua state once per thread and sets the global `thread_id` (1, 2,
-- ...) in that thread's own state; a script must not declare a `local thread_id`, which would
-- shadow it (every thread would then send the same addresses). Each thread loads its script
-- within the same second, so a seed of the time alone would give every thread the same
-- sequence (every request twice, the second possibly answered from what the first left
-- behind): `init` adds the thread's number. A script with an `init` of its own replaces this one.
local threads = 0

function setup(thread)
    threads = threads + 1
    thread:set("thread_id", threads)
end

function init(args)
    math.randomseed(os.time() * 1000 + (thread_id or 0))
end
