#!/usr/bin/env python3
"""The retention benchmark (run it through retention.sh). See retention.sh for what it measures."""
import os, re, shutil, subprocess, sys, tempfile, time

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


CLAIM = ("UPDATE deliveries SET state = 'sending', lease_owner = 'bench', lease_expires_at = {now} + 60000,"
         " attempts = attempts + 1, updated_at = {now} WHERE id IN (SELECT id FROM deliveries WHERE"
         " (state = 'scheduled' AND next_attempt_at <= {now} + 1000) OR (state = 'sending' AND lease_expires_at <= {now})"
         " ORDER BY next_attempt_at, id LIMIT 500{lock}) RETURNING id")


def claim_latency(db_url, work, runs=50):
    """The worker's claim of 500 due deliveries (SQLDeliveryQueue.claim's statement), each run in a
    transaction rolled back: median milliseconds."""
    now = int(time.time() * 1000) + 60_000  # the whole burst is due by then
    if db_url.startswith("postgres"):
        claim = CLAIM.format(now=now, lock=" FOR UPDATE SKIP LOCKED")
        script = "".join(f"BEGIN;\nEXPLAIN (ANALYZE) {claim};\nROLLBACK;\n" for _ in range(runs))
        out = subprocess.run(["psql", db_url, "-XAtq", "-f", "-"], input=script, check=True, capture_output=True, text=True).stdout
        times = sorted(float(t) for t in re.findall(r"Execution Time: ([\d.]+) ms", out))
    else:
        import sqlite3
        db = sqlite3.connect(os.path.join(work, db_url.split(":", 1)[1]), isolation_level=None)
        claim, times = CLAIM.format(now=now, lock=""), []
        for _ in range(runs):
            started = time.perf_counter()
            db.execute("BEGIN IMMEDIATE")
            assert len(db.execute(claim).fetchall()) == 500
            times.append((time.perf_counter() - started) * 1000)
            db.execute("ROLLBACK")
        db.close()
        times.sort()
    return times[len(times) // 2]


def metrics_latency(port):
    out = subprocess.run(["wrk", "-t1", "-c4", "-d5s", "--latency", f"http://127.0.0.1:{port}/metrics"], check=True,
                         capture_output=True, text=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    return rate, p99


ROUNDS = 3


class Database:
    """One database with `history` finished deliveries and a burst of BURST reminders."""

    def __init__(self, binary, backend, history, work, db_url):
        self.binary, self.backend, self.history, self.work, self.db_url = binary, backend, history, work, db_url
        self.rounds = []  # (burst msg/s, /metrics req/s, /metrics p99)
        self.claims = []  # median ms of each pass
        env = dict(os.environ, DB_URL=db_url, LOG_LEVEL="warning", RATE_LIMIT_ENABLED="false", MAIL_TRANSPORT="smtp")
        subprocess.run([binary, "migrate"], cwd=work, env=env, check=True, capture_output=True)
        started = time.time()
        add_history(db_url, work, history)
        self.loaded = time.time() - started
        self.first_burst_id = int(query(db_url, work, "SELECT COALESCE(MAX(id), 0) FROM deliveries")) + 1
        load_due_reminders(db_url, work, BURST, due_in_seconds=3600)
        self.plan = claim_plan(db_url, work)
        # The load leaves gigabytes of dirty pages; their write-back would slow every fsync of
        # the bursts, which measure the queue, not the disk.
        os.sync()

    def make_due(self, due):
        statement = (f"UPDATE deliveries SET state = 'scheduled', attempts = 0, lease_owner = NULL, lease_expires_at = NULL,"
                     f" sent_at = NULL, due_at = {due}, next_attempt_at = {due} WHERE id >= {self.first_burst_id}")
        if self.db_url.startswith("postgres"):
            psql(self.db_url, statement)
        else:
            import sqlite3
            with sqlite3.connect(os.path.join(self.work, self.db_url.split(":", 1)[1])) as db:
                db.execute(statement)

    def round(self):
        """Makes the burst due a few seconds from now, sends it into a fresh smtp-sink and
        measures /metrics under wrk."""
        self.make_due(int(time.time() * 1000) + 4000)
        burst = f"deliveries WHERE id >= {self.first_burst_id}"
        # The previous round's server was killed: its acceptance ledger would mark this round's
        # burst as sent already.
        for ledger in ("data/event-manager.sqlite-ledger", "data/ledger"):
            shutil.rmtree(os.path.join(self.work, ledger), ignore_errors=True)
        proc, smtp_port = sink()
        env = dict(os.environ, DB_URL=self.db_url, LOG_LEVEL="warning", RATE_LIMIT_ENABLED="false", MAIL_TRANSPORT="smtp",
                   SMTP_PORT=str(smtp_port))
        port = free_port()
        server = serve(self.binary, self.work, port, env, "--role", "all" if self.backend == "sqlite" else "worker", seconds=120)
        try:
            # Polled by id range, through the primary key: a condition on the history's columns
            # would scan millions of rows every time, on the 2 cores the burst needs.
            while int(query(self.db_url, self.work, f"SELECT COUNT(*) FROM {burst} AND state = 'sent'")) < BURST:
                time.sleep(0.5)
            span = int(query(self.db_url, self.work, f"SELECT MAX(sent_at) - MIN(due_at) FROM {burst}").split("|")[0])
            rate, p99 = metrics_latency(port)
        finally:
            server.kill()
            server.wait()
            proc.kill()
            proc.wait()
        self.rounds.append((BURST / (span / 1000), rate, p99))


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def compare(binary, backend):
    """Both sizes side by side, their rounds interleaved: this machine's speed drifts by tens of
    percent within minutes, so one size measured after the other would compare the drift."""
    works = [tempfile.mkdtemp(prefix=f"em-ret-{backend}-") for _ in range(2)]
    if backend == "postgres":
        small_url = postgres_url(works[0])
        big_url = small_url.rsplit("/", 1)[0] + f"/big_{int(time.time())}"
        psql(small_url, f"CREATE DATABASE {big_url.rsplit('/', 1)[1]}")
        urls = [small_url, big_url]
    else:
        urls = ["sqlite:data/event-manager.sqlite"] * 2
    try:
        databases = [Database(binary, backend, history, work, url) for history, work, url in zip((10_000, 10_000_000), works, urls)]
        for database in databases:
            database.make_due(0)
        for _ in range(5):
            for database in databases:
                database.claims.append(claim_latency(database.db_url, database.work, runs=20))
        for _ in range(ROUNDS):
            for database in databases:
                database.round()
    finally:
        stop_postgres(works[0])
    base = databases[0]
    each = lambda values, fmt: " / ".join(fmt.format(v) for v in values)
    for database in databases:
        bursts, rates, p99s = zip(*database.rounds)
        base_bursts, base_rates, _ = zip(*base.rounds)
        speed = (median(base.claims) / median(database.claims), median(bursts) / median(base_bursts),
                 median(rates) / median(base_rates))
        print(f"| {backend} | {database.history:,} | {median(database.claims):.2f} ms ({each(database.claims, '{:.2f}')}) |"
              f" {median(bursts):,.0f} ({each(bursts, '{:,.0f}')}) | {median(rates):,.0f} ({each(rates, '{:,.0f}')}) |"
              f" {each(p99s, '{}')} | {each(speed, '{:.2f}')} | {database.loaded:.0f} s | {database.plan} |", flush=True)


def main():
    binary = sys.argv[1]
    backends = ["sqlite", "postgres"] if sys.argv[2] == "both" else [sys.argv[2]]
    print(f"claims: 5 passes of 20, bursts and /metrics: {ROUNDS} rounds; the sizes interleaved; medians, each pass or round in"
          " brackets; speed relative to 10,000 finished deliveries (1.00 = as fast)")
    print("| database | finished deliveries | claim of 500 | burst of 5,000, msg/s | /metrics req/s | /metrics p99 |"
          " speed vs 10,000: claim / burst / metrics | history load | indexes the claim and depth use |")
    print("|---|---|---|---|---|---|---|---|---|")
    for backend in backends:
        compare(binary, backend)


if __name__ == "__main__":
    main()
