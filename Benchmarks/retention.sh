#!/usr/bin/env bash
# Does a long delivery history slow the queue? With 10,000 and then 10,000,000 finished
# deliveries in the table: GET /metrics (queue depth by state) latency under wrk, and the rate
# of a 5,000-reminder burst into smtp-sink (claims, outcome writes), on SQLite and PostgreSQL.
#
#   bash Benchmarks/retention.sh [sqlite|postgres|both]
source "$(dirname "$0")/lib.sh"
bench_tools
[ -x /usr/sbin/smtp-sink ] || command -v smtp-sink >/dev/null || { apt-get update -qq && apt-get install -y -qq postfix >/dev/null; }
bench_build
python3 Benchmarks/retention.py "$BINARY" "${1:-both}"
