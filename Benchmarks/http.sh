#!/usr/bin/env bash
# HTTP throughput: /health, a single-event read and a listing, measured with wrk in one run,
# each printed as requests/s and as a share of /health. Loopback only.
#
#   bash Benchmarks/http.sh [SECONDS] [CONNECTIONS] [sqlite|postgres]
#
# sqlite (the default): one process on a SQLite file, role all (reads served from its cache).
# postgres: an API node of a multi-node deployment (role api: no cache, rate limits counted in
# PostgreSQL), on a throwaway cluster started by .ci/postgres.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-64}
backend=${3:-sqlite}
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
swift build -c release --product event-manager >/dev/null
binary=$(swift build -c release --show-bin-path)/event-manager
source .ci/lib.sh
work=$(mktemp -d)
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(free_port)
# Limits stay on, so their cost is measured, but high enough that one load generator is not throttled.
export RATE_LIMIT_READ="1000000000 per minute" RATE_LIMIT_WRITE="1000000000 per minute"
role=all
if [ "$backend" = postgres ]; then
    chmod 755 "$work"
    admin_url=$(bash .ci/postgres.sh "$work/pg")
    psql "$admin_url" -qc "CREATE DATABASE bench"
    export DB_URL=${admin_url%/postgres}/bench
    role=api
    trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; runuser -u postgres -- "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_ctl" -D "$work/pg/data" -m fast stop >/dev/null 2>&1 || pg_ctl -D "$work/pg/data" -m fast stop >/dev/null 2>&1; rm -rf "$work"' EXIT
fi
start_server "$binary" "$work" "$port" --role "$role" --log-level warning
key=$(admin_key "$binary" "$work")

python3 - "$port" "$key" <<'PY'
import json, sys, urllib.request
port, key = sys.argv[1], sys.argv[2]
for batch in range(10):
    events = [{"title": f"Event {batch * 100 + i}", "location": "Tel Aviv", "date": f"2030-{i % 12 + 1:02d}-01", "popularity": i} for i in range(100)]
    req = urllib.request.Request(f"http://127.0.0.1:{port}/bulk_events", data=json.dumps(events).encode(), headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"}, method="POST")
    urllib.request.urlopen(req).read()
PY

rate() { wrk -t1 -c"$connections" -d"${duration}s" "http://127.0.0.1:$port$1" | awk '/Requests\/sec/ {print $2}'; }
health=$(rate /health)
single=$(rate /events/500)
list=$(rate "/events?limit=20&sort=-popularity")
echo "backend: $backend (role $role)"
printf '%-34s %12s %10s\n' "route" "requests/s" "of /health"
for row in "/health:$health" "/events/500:$single" "/events?limit=20&sort=-popularity:$list"; do
    name=${row%:*}; value=${row##*:}
    printf '%-34s %12.0f %9.0f%%\n' "$name" "$value" "$(echo "$value $health" | awk '{print 100*$1/$2}')"
done
printf 'single-event reads vs the Flask seed (about 2,200/s): %.1fx\n' "$(echo "$single" | awk '{print $1/2200}')"
