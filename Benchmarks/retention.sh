#!/usr/bin/env bash
# Does a long delivery history slow the queue? Two databases, one with 10,000 and one with
# 10,000,000 finished deliveries, measured in turns: the worker's claim statement (rolled back),
# the rate of a 5,000-reminder burst into smtp-sink (claims, outcome writes), and GET /metrics
# (queue depth by state) under wrk; on SQLite and PostgreSQL.
#
#   bash Benchmarks/retention.sh [sqlite|postgres|both]
source "$(dirname "$0")/lib.sh"
bench_tools
[ -x /usr/sbin/smtp-sink ] || command -v smtp-sink >/dev/null || { apt-get update -qq && apt-get install -y -qq postfix >/dev/null; }
bench_build
python3 Benchmarks/retention.py "$BINARY" "${1:-both}"
