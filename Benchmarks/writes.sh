#!/usr/bin/env bash
# Writes: POST /events and POST /events/{id}/subscriptions with 32 concurrent clients, beside
# /health as the ceiling. A 2xx means the row is on disk (SQLite synchronous=FULL; PostgreSQL's
# default synchronous_commit).
#
#   bash Benchmarks/writes.sh [sqlite|postgres]
source "$(dirname "$0")/lib.sh"
bench_setup "${1:-sqlite}"
bench_seed 1000
rows=(
    "$(measure "GET /health" /health)"
    "$(measure "POST /events" /events Benchmarks/wrk/post-events.lua)"
    "$(measure "POST /events/{id}/subscriptions" /events/1/subscriptions Benchmarks/wrk/post-subscriptions.lua)"
)
table "$backend (role $role)" "${rows[@]}"
