#!/usr/bin/env bash
# Scale: 1,000,000 events and 1,000,000 subscriptions, written straight into the database, then
# p50/p99 of random single reads and of random filtered, sorted pages of 100 with `q`, the
# server's resident memory, and the database's size.
#
#   bash Benchmarks/scale.sh [sqlite|postgres]
#
# wrk runs with 4 connections (latency, not throughput; CONNECTIONS changes it). Words, cities
# and popularity vary independently, so every combination the search scenario asks for exists.
export CONNECTIONS=${CONNECTIONS:-4}
source "$(dirname "$0")/lib.sh"
bench_setup "${1:-sqlite}"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
started=$(date +%s)
if [ "$backend" = postgres ]; then
    psql "$DB_URL" -q -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO events (title, location, starts_at, timezone, date_only, popularity, created_at, updated_at)
SELECT 'Event ' || n || ' ' || (ARRAY['alpha','bravo','delta','gamma','kappa','lambda','sigma','omega','zulu','tango'])[1 + (n / 4) % 10],
       (ARRAY['Tel Aviv','Haifa','Jerusalem','Eilat'])[1 + n % 4], 1924992000000 + n::bigint * 60000, 'UTC', false, (n / 40) % 100, 1, 1
FROM generate_series(1, 1000000) AS n;
INSERT INTO subscriptions (event_id, email, email_normalized, remind_before_minutes, status, token, created_at)
SELECT n, 'user' || n || '@example.com', 'user' || n || '@example.com', 30, 'active', 'token-' || n, 1
FROM generate_series(1, 1000000) AS n;
VACUUM ANALYZE;
SQL
    size=$(psql "$DB_URL" -tAc "SELECT pg_size_pretty(pg_database_size(current_database()))")
else
    file=$(find "$WORK" -name 'event-manager.sqlite' | head -1)
    python3 - "$file" <<'PY'
import sqlite3, sys
words = ["alpha", "bravo", "delta", "gamma", "kappa", "lambda", "sigma", "omega", "zulu", "tango"]
cities = ["Tel Aviv", "Haifa", "Jerusalem", "Eilat"]
db = sqlite3.connect(sys.argv[1])
with db:
    db.executemany(
        "INSERT INTO events (title, location, starts_at, timezone, date_only, popularity, created_at, updated_at) VALUES (?, ?, ?, 'UTC', 0, ?, 1, 1)",
        ((f"Event {n} {words[n // 4 % 10]}", cities[n % 4], 1924992000000 + n * 60000, n // 40 % 100) for n in range(1, 1000001)))
    # The service indexes the events it writes itself (M015); rows written here are indexed at once.
    db.execute("INSERT INTO events_search(events_search) VALUES ('rebuild')")
    db.executemany(
        "INSERT INTO subscriptions (event_id, email, email_normalized, remind_before_minutes, status, token, created_at) VALUES (?, ?, ?, 30, 'active', ?, 1)",
        ((n, f"user{n}@example.com", f"user{n}@example.com", f"token-{n}") for n in range(1, 1000001)))
db.execute("ANALYZE")
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
PY
    size=$(du -ch "$file"* | tail -1 | cut -f1)
fi
echo "loaded 1,000,000 events and 1,000,000 subscriptions in $(($(date +%s) - started)) s; database size: $size"
start_server "$BINARY" "$WORK" "$PORT" --role "$role" --log-level warning
rows=(
    "$(measure "GET /health" /health)"
    "$(measure "GET /events/{random id}" /events Benchmarks/wrk/random-event.lua)"
    "$(measure "GET /events?q=...&location&min_popularity&sort, 100" /events Benchmarks/wrk/random-search.lua)"
)
table "$backend scale (1,000,000 events, 1,000,000 subscriptions, $CONNECTIONS connections)" "${rows[@]}"
echo "server resident memory: $(awk '/VmRSS/ {printf "%.0f MB", $2 / 1024}' "/proc/$SERVER_PID/status") (peak $(awk '/VmHWM/ {printf "%.0f MB", $2 / 1024}' "/proc/$SERVER_PID/status")); database size: $size"
