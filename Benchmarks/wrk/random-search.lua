-- A filtered, sorted page of 100 with `q`, different each time: a word of the titles (about
-- 20,000 matches each in the scale data) or an event number (about ten), a city, a popularity
-- floor and a sort, so no rendered page is reused.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "threads.lua")

local words = {"alpha", "bravo", "delta", "gamma", "kappa", "lambda", "sigma", "omega", "zulu", "tango"}
local cities = {"Tel%20Aviv", "Haifa", "Jerusalem", "Eilat"}
local sorts = {"date", "-date", "popularity", "-popularity"}

function request()
    local q
    if math.random() < 0.5 then q = words[math.random(#words)] else q = "Event%20" .. math.random(1, 99999) end
    local path = string.format("/events?q=%s&location=%s&min_popularity=%d&sort=%s&limit=100",
        q, cities[math.random(#cities)], math.random(0, 50), sorts[math.random(#sorts)])
    return wrk.format("GET", path)
end
