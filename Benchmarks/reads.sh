#!/usr/bin/env bash
# Reads: /health (the ceiling), a single event both ways, pages of 100 listed, sorted and filtered.
#
#   bash Benchmarks/reads.sh [sqlite|postgres]
#
# sqlite: one process (role all) on a SQLite file. postgres: an API node (role api, rate limits
# shared through PostgreSQL) on a throwaway cluster on this machine, and `pgbench -S` on the same
# cluster as the database's own ceiling. 10,000 events. DURATION and CONNECTIONS (default 10 s,
# 32) tune wrk.
source "$(dirname "$0")/lib.sh"
bench_setup "${1:-sqlite}"
bench_seed 10000
rows=(
    "$(measure "GET /health" /health)"
    "$(measure "GET /events/5000" /events/5000)"
    "$(measure "GET /events?id=5000 (seed form)" "/events?id=5000")"
    "$(EVENTS=10000 measure "GET /events/{random id}" /events Benchmarks/wrk/random-event.lua)"
    "$(measure "GET /events?limit=100" "/events?limit=100")"
    "$(measure "GET /sort_by/popularity?limit=100" "/sort_by/popularity?limit=100")"
    "$(measure "GET /events filtered, sorted, 100" "/events?location=Haifa&min_popularity=10&start_date=2031-01-01&sort=-date&limit=100")"
    "$(measure "GET /events?q=conference&limit=100" "/events?q=conference&limit=100")"
    "$(measure "GET /events, 100, a new page each time" /events Benchmarks/wrk/uncached-pages.lua)"
)
table "$backend (role $role, 10,000 events)" "${rows[@]}"
if [ "$backend" = postgres ]; then
    pgbench=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pgbench
    psql "$PG_ADMIN_URL" -qc "CREATE DATABASE pgbench"
    "$pgbench" -q -i -s 10 "${PG_ADMIN_URL%/postgres}/pgbench" >/dev/null 2>&1
    tps=$("$pgbench" -S -c "$CONNECTIONS" -j 2 -T "$DURATION" "${PG_ADMIN_URL%/postgres}/pgbench" 2>/dev/null | awk '/^tps/ {print $3; exit}')
    printf '\npgbench -S (the database alone, same cluster, %s clients): %.0f transactions/s\n' "$CONNECTIONS" "$tps"
fi
