-- GET /events/{id} over ids 1 to 1,000,000 at random (most miss the server's cache).
math.randomseed(os.time())

function request()
    return wrk.format("GET", "/events/" .. math.random(1, 1000000))
end
