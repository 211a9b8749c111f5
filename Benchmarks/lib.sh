# Helpers shared by the benchmark scripts: a release build, a server on a fresh database (SQLite
# file or a throwaway PostgreSQL cluster), seed data, and wrk runs printed as table rows.
# Loopback only. Sourced, not run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source .ci/lib.sh

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}

bench_tools() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1 || missing+=(postgresql postgresql-contrib)
    if [ ${#missing[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; fi
}

# bench_role BACKEND - the role a benchmark node runs: all on SQLite, an API node on PostgreSQL
bench_role() {
    if [ "$1" = postgres ]; then echo api; else echo all; fi
}

# bench_setup BACKEND - tools, a release build and a server for BACKEND (sqlite or postgres) in its
# benchmark role; sets backend and role besides what bench_start sets
bench_setup() {
    backend=${1:-sqlite}
    role=$(bench_role "$backend")
    bench_tools
    bench_build
    bench_start "$backend" "$role"
}

# bench_build - a release build of the server; sets BINARY
bench_build() {
    swift build -c release --product event-manager >/dev/null
    BINARY=$(swift build -c release --show-bin-path)/event-manager
}

# bench_start BACKEND ROLE [ARGS...] - a server on a fresh database; sets WORK, PORT, KEY (and DB_URL)
bench_start() {
    local backend=$1 role=$2
    shift 2
    WORK=$(mktemp -d)
    chmod 755 "$WORK"
    trap bench_stop EXIT
    PORT=$(free_port)
    # Rate limits stay on, so their cost is measured, but too high to throttle the load generator.
    export RATE_LIMIT_READ="1000000000 per minute" RATE_LIMIT_WRITE="1000000000 per minute"
    export RATE_LIMIT_SUBSCRIBE="1000000000 per minute" RATE_LIMIT_SUBSCRIBE_PER_EVENT="1000000000 per minute"
    export RATE_LIMIT_SUBSCRIBE_PER_EMAIL="1000000000 per minute"
    if [ "$backend" = postgres ]; then
        PG_ADMIN_URL=$(bash .ci/postgres.sh "$WORK/pg")
        psql "$PG_ADMIN_URL" -qc "CREATE DATABASE bench"
        export DB_URL=${PG_ADMIN_URL%/postgres}/bench
    else
        unset DB_URL
    fi
    start_server "$BINARY" "$WORK" "$PORT" --role "$role" --log-level warning "$@"
    KEY=$(admin_key "$BINARY" "$WORK")
}

bench_stop() {
    # Never `kill 0`: with no server started yet that would signal this whole process group.
    if [ -n "${SERVER_PID:-}" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ -n "${PG_ADMIN_URL:-}" ] && [ -d "$WORK/pg/data" ]; then
        local pg_ctl
        pg_ctl=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)/pg_ctl
        runuser -u postgres -- "$pg_ctl" -D "$WORK/pg/data" -m fast stop >/dev/null 2>&1 || true
    fi
    [ -n "${WORK:-}" ] && [ -z "${BENCH_KEEP:-}" ] && rm -rf "$WORK"
    return 0
}

# bench_seed COUNT - COUNT events through POST /bulk_events; ids 1...COUNT, popularity id % 100
bench_seed() {
    python3 - "$PORT" "$KEY" "$1" <<'PY'
import json, sys, urllib.request
port, key, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
locations = ["Tel Aviv", "Haifa", "Jerusalem", "Eilat"]
for start in range(0, count, 1000):
    events = [{"title": f"Event {n} conference", "location": locations[n % 4],
               "date": f"2031-{n % 12 + 1:02d}-{n % 28 + 1:02d}T{n % 24:02d}:00:00Z", "popularity": n % 100}
              for n in range(start + 1, min(count, start + 1000) + 1)]
    request = urllib.request.Request(f"http://127.0.0.1:{port}/bulk_events", data=json.dumps(events).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"}, method="POST")
    urllib.request.urlopen(request).read()
PY
    # Statistics, as autovacuum would gather on a running database: planned without them, a
    # filtered page read its whole popularity range.
    if [ -n "${DB_URL:-}" ]; then psql "$DB_URL" -qc "ANALYZE"; fi
}

# measure NAME PATH [LUA_SCRIPT] - prints "NAME requests/s p50 p99 errors ceiling"
#
# The ceiling is /health measured just before the scenario (CEILING_SECONDS, 4 s): on this
# machine /health itself drifts by a third within minutes, so a share of the ceiling measured
# minutes earlier says more about the drift than about the scenario.
measure() {
    local name=$1 path=$2 script=${3:-}
    local output ceiling=""
    if [ "$path" != /health ]; then
        ceiling=$(wrk -t2 -c"$CONNECTIONS" -d"${CEILING_SECONDS:-4}s" "http://127.0.0.1:$PORT/health" | awk '/Requests\/sec/ {print $2}')
    fi
    if [ -n "$script" ]; then
        output=$(KEY=$KEY wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$script" "http://127.0.0.1:$PORT$path")
    else
        output=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$PORT$path")
    fi
    python3 - "$name" "$output" "$ceiling" <<'PY'
import re, sys
name, text, ceiling = sys.argv[1], sys.argv[2], sys.argv[3]
def ms(value):
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1))
p99 = ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
failed = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
bad = (int(errors.group(1)) if errors else 0) + (sum(map(int, failed.groups())) if failed else 0)
print(f"{name}\t{rate:.0f}\t{p50:.2f}\t{p99:.2f}\t{bad}\t{float(ceiling) if ceiling else rate:.0f}")
PY
}

# table BACKEND ROWS... - prints rows from measure, each rate as a share of its own ceiling
table() {
    local backend=$1
    shift
    python3 - "$backend" "$@" <<'PY'
import sys
backend, rows = sys.argv[1], [row.split("\t") for row in sys.argv[2:]]
print(f"\n{backend}: {len(rows)} scenarios, wrk -t2, {__import__('os').environ.get('CONNECTIONS', '32')} connections")
print(f"| {'scenario':<44} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'/health before':>14} | {'of ceiling':>10} | {'errors':>6} |")
print(f"|{'-' * 46}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 16}|{'-' * 12}|{'-' * 8}|")
for name, rate, p50, p99, bad, ceiling in rows:
    print(f"| {name:<44} | {float(rate):>8,.0f} | {p50:>7} | {p99:>7} | {float(ceiling):>14,.0f} | {float(rate) / float(ceiling):>10.2f} | {bad:>6} |")
PY
}
