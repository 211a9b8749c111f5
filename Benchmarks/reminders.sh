#!/usr/bin/env bash
# Reminders against postfix's smtp-sink, beside the sink's own ceiling (smtp-source, 16 sessions,
# 3 KB messages, into the same sink, in the same run): N reminders due at the same moment, on
# SQLite (one process) and PostgreSQL (two worker processes); then precision: 200 reminders due
# 100 ms apart, each handed over alone.
#
#   bash Benchmarks/reminders.sh [sqlite|postgres|both] [COUNT...]      (default: both 10000 100000)
source "$(dirname "$0")/lib.sh"
bench_tools
[ -x /usr/sbin/smtp-sink ] || command -v smtp-sink >/dev/null || { apt-get update -qq && apt-get install -y -qq postfix >/dev/null; }
bench_build
python3 Benchmarks/reminders.py "$BINARY" "${1:-both}" "${@:2}"
