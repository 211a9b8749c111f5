#!/usr/bin/env python3
"""The retention benchmark (run it through retention.sh). See retention.sh for what it measures."""
import os, re, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", ".ci"))
from checks import free_port, load_due_reminders, psql, serve  # noqa: E402
from reminders import postgres_url, query, sink, stop_postgres  # noqa: E402

BURST = 5_000


def add_history(db_url, work, count):
    """`count` finished deliveries (sent, failed, skipped, cancelled), a day old, of subscriptions
    long gone (the queue has no foreign keys: a notice outlives its event)."""
    old = int(time.time() * 1000) - 86_400_000
    if db_url.startswith("postgres"):
        psql(db_url, f"""
            INSERT INTO deliveries (kind, subscription_id, event_id, email, event_starts_at, due_at, state, attempts,
                                    next_attempt_at, sent_at, message_id, created_at, updated_at)
            SELECT 'reminder', 100000000 + n, 0, 'old' || n || '@history.test', {old}, {old},
                   (ARRAY['sent','sent','sent','failed','skipped','cancelled'])[1 + n % 6], 1, {old}, {old},
                   '<old-' || n || '@history.test>', {old}, {old} + n % 1000
            FROM generate_series(1, {count}) AS n;""")
        # Settled as a long-running table would be: vacuumed (else autovacuum's first pass over
        # the new rows runs during the measurement) and analysed.
        psql(db_url, "VACUUM ANALYZE deliveries")
        return
    import sqlite3
    states = ["sent", "sent", "sent", "failed", "skipped", "cancelled"]
    with sqlite3.connect(os.path.join(work, db_url.split(":", 1)[1])) as db:
        db.executemany(
            "INSERT INTO deliveries (kind, subscription_id, event_id, email, event_starts_at, due_at, state, attempts,"
            " next_attempt_at, sent_at, message_id, created_at, updated_at) VALUES ('reminder', ?, 0, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
            ((100_000_000 + n, f"old{n}@history.test", old, old, states[n % 6], old, old, f"<old-{n}@history.test>", old, old + n % 1000)
             for n in range(1, count + 1)))
        db.execute("ANALYZE")
    with sqlite3.connect(os.path.join(work, db_url.split(":", 1)[1])) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def claim_plan(db_url, work):
    """The indexes the claim's and the queue depth's queries use, as the database plans them."""
    claim = ("SELECT id FROM deliveries WHERE (state = 'scheduled' AND next_attempt_at <= 0) OR "
             "(state = 'sending' AND lease_expires_at <= 0) ORDER BY next_attempt_at, id LIMIT 500")
    depth = "SELECT COUNT(*) FROM deliveries WHERE state = 'scheduled'"
    if not db_url.startswith("postgres"):
        depth = depth.replace("deliveries", "deliveries INDEXED BY deliveries_scheduled_idx")  # as SQLDeliveryQueue asks
    if db_url.startswith("postgres"):
        plans = [psql(db_url, f"EXPLAIN {q}") for q in (claim, depth)]
    else:
        import sqlite3
        with sqlite3.connect(os.path.join(work, db_url.split(":", 1)[1])) as db:
            plans = ["\n".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {q}")) for q in (claim, depth)]
    return "; ".join(sorted({i for plan in plans for i in re.findall(r"deliveries_\w+_idx", plan)})) or "no index"


def metrics_latency(port):
    out = subprocess.run(["wrk", "-t1", "-c4", "-d5s", "--latency", f"http://127.0.0.1:{port}/metrics"], check=True,
                         capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    return rate, p99


def measure(binary, backend, history):
    work = tempfile.mkdtemp(prefix=f"em-ret-{backend}-")
    db_url = postgres_url(work) if backend == "postgres" else "sqlite:data/event-manager.sqlite"
    proc, smtp_port = sink()
    env = dict(os.environ, DB_URL=db_url, LOG_LEVEL="warning", RATE_LIMIT_ENABLED="false", MAIL_TRANSPORT="smtp",
               SMTP_PORT=str(smtp_port))
    subprocess.run([binary, "migrate"], cwd=work, env=env, check=True, capture_output=True)
    started = time.time()
    add_history(db_url, work, history)
    loaded = time.time() - started
    # The load leaves gigabytes of dirty pages; their write-back would slow every fsync of the
    # burst, which measures the queue, not the disk.
    os.sync()
    load_due_reminders(db_url, work, BURST, due_in_seconds=3)
    plan = claim_plan(db_url, work)
    port = free_port()
    server = serve(binary, work, port, env, "--role", "all" if backend == "sqlite" else "worker", seconds=120)
    try:
        while int(query(db_url, work, "SELECT COUNT(*) FROM deliveries WHERE state = 'sent' AND email LIKE 'user%'")) < BURST:
            time.sleep(0.3)
        span = int(query(db_url, work, "SELECT MAX(sent_at) - MIN(due_at) FROM deliveries WHERE email LIKE 'user%'").split("|")[0])
        rate, p99 = metrics_latency(port)
    finally:
        server.kill()
        server.wait()
        proc.kill()
        stop_postgres(work)
    print(f"| {backend} | {history:,} | {BURST / (span / 1000):,.0f} | {rate:,.0f} | {p99} | {loaded:.0f} s | {plan} |", flush=True)


def main():
    binary = sys.argv[1]
    backends = ["sqlite", "postgres"] if sys.argv[2] == "both" else [sys.argv[2]]
    print("| database | finished deliveries | burst msg/s | /metrics req/s | /metrics p99 | history load | indexes the claim and depth use |")
    print("|---|---|---|---|---|---|---|")
    for backend in backends:
        for history in (10_000, 10_000_000):
            measure(binary, backend, history)


if __name__ == "__main__":
    main()
