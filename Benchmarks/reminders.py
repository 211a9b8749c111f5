#!/usr/bin/env python3
"""The reminders benchmark (run it through reminders.sh, which builds the release binary).

For each database and count: the ceiling is smtp-source pushing COUNT messages of 3 KB over 16
sessions into a fresh smtp-sink; then the service sends COUNT reminders, all due at one moment,
into another fresh smtp-sink. Our rate is COUNT over the time from the due moment to the last
acceptance (sent_at in the database). Lateness is sent_at minus due_at of the first, median and
last message; "deadline" is 1.25 x COUNT / ceiling, the issue's bound for the last one.
"""
import os, shutil, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".ci"))
from checks import free_port, load_due_reminders, psql, serve  # noqa: E402

SINK = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
SOURCE = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
user = ["-u", "nobody"] if os.geteuid() == 0 else []


def sink():
    port = free_port()
    proc = subprocess.Popen([SINK, *user, f"127.0.0.1:{port}", "1024"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            import socket
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit("smtp-sink did not start")


def ceiling(count):
    proc, port = sink()
    started = time.time()
    subprocess.run([SOURCE, "-s", "16", "-m", str(count), "-l", "3000", "-f", "bench@source.test", "-t", "sink@sink.test",
                    f"127.0.0.1:{port}"], check=True, stdout=subprocess.DEVNULL)
    elapsed = time.time() - started
    proc.kill()
    proc.wait()
    return count / elapsed


def query(db_url, work, sql):
    if db_url.startswith("postgres"):
        return psql(db_url, sql)
    import sqlite3
    with sqlite3.connect(os.path.join(work, db_url.split(":", 1)[1])) as db:
        row = db.execute(sql).fetchone()
        return "|".join("" if v is None else str(v) for v in row)


def postgres_url(work):
    os.chmod(work, 0o755)  # the postgres user must reach its cluster inside
    admin = subprocess.run(["bash", os.path.join(HERE, "..", ".ci", "postgres.sh"), os.path.join(work, "pg")], check=True,
                           capture_output=True, text=True).stdout.strip().splitlines()[-1]
    name = f"rem_{int(time.time() * 1000)}"
    psql(admin, f"CREATE DATABASE {name}")
    return admin.rsplit("/", 1)[0] + "/" + name


def stop_postgres(work):
    data = os.path.join(work, "pg", "data")
    if os.path.isdir(data):
        pg_ctl = sorted(__import__("glob").glob("/usr/lib/postgresql/*/bin/pg_ctl"))[-1]
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, pg_ctl, "-D", data, "-m", "fast", "stop"], capture_output=True)


def run(binary, backend, count, db_url, work, spacing_ms=0):
    """Sends `count` reminders into a fresh sink; returns (seconds from due to last, lateness ms first/median/last, p99)."""
    proc, port = sink()
    env = dict(os.environ, DB_URL=db_url, LOG_LEVEL="warning", RATE_LIMIT_ENABLED="false", MAIL_TRANSPORT="smtp",
               SMTP_PORT=str(port), REMINDERS_POLL_INTERVAL_MS="1000")
    subprocess.run([binary, "migrate"], cwd=work, env=env, check=True, capture_output=True)
    lead = 5 + count // 20_000
    load_due_reminders(db_url, work, count, due_in_seconds=lead, spacing_ms=spacing_ms)
    servers = []
    roles = ["all"] if backend == "sqlite" else ["worker", "worker"]
    for role in roles:
        servers.append(serve(binary, work, free_port(), env, "--role", role, seconds=60))
    deadline = time.time() + lead + 600
    try:
        # What is still queued or out, read through the small partial indexes: a count of what
        # was sent would read more rows every time, on the 2 cores the burst needs.
        indexed = (lambda name: "") if backend == "postgres" else (lambda name: f" INDEXED BY {name}")
        left = (f"SELECT (SELECT COUNT(*) FROM deliveries{indexed('deliveries_scheduled_idx')} WHERE state = 'scheduled')"
                f" + (SELECT COUNT(*) FROM deliveries{indexed('deliveries_leased_idx')} WHERE state = 'sending')")
        while time.time() < deadline:
            if int(query(db_url, work, left)) == 0:
                break
            time.sleep(1)
    finally:
        for server in servers:
            server.kill()
            server.wait()
        proc.kill()
        proc.wait()
    stats = query(db_url, work, """
        SELECT MIN(sent_at - due_at), MAX(sent_at - due_at), MAX(sent_at) - MIN(due_at), COUNT(*) FROM deliveries WHERE state = 'sent'""")
    first, last, span, sent = (int(v) for v in stats.split("|"))
    ordered = query(db_url, work, f"""
        SELECT sent_at - due_at FROM deliveries WHERE state = 'sent' ORDER BY sent_at - due_at LIMIT 1 OFFSET {sent // 2}""")
    p99 = query(db_url, work, f"""
        SELECT sent_at - due_at FROM deliveries WHERE state = 'sent' ORDER BY sent_at - due_at LIMIT 1 OFFSET {int(sent * 0.99)}""")
    early = int(query(db_url, work, "SELECT COUNT(*) FROM deliveries WHERE sent_at < due_at"))
    return sent, span / 1000, first, int(ordered), last, int(p99), early


def main():
    binary = sys.argv[1]
    backends = ["sqlite", "postgres"] if sys.argv[2] == "both" else [sys.argv[2]]
    counts = [int(c) for c in sys.argv[3:]] or [10_000, 100_000]
    print(f"machine: {os.cpu_count()} cores; release build; smtp-sink on 127.0.0.1")
    print("| database | reminders | ceiling msg/s | ours msg/s | of ceiling | first / median / last late (ms) | deadline s | sent early |")
    print("|---|---|---|---|---|---|---|---|")
    precision = []
    for backend in backends:
        for count in counts:
            work = tempfile.mkdtemp(prefix=f"em-rem-{backend}-")
            db_url = postgres_url(work) if backend == "postgres" else "sqlite:data/event-manager.sqlite"
            top = ceiling(count)
            sent, span, first, median, last, _, early = run(binary, backend, count, db_url, work)
            rate = sent / span if span > 0 else 0
            print(f"| {backend} | {count:,} | {top:,.0f} | {rate:,.0f} | {rate / top:.2f} | {first} / {median} / {last} |"
                  f" {1.25 * count / top:.1f} (last at {last / 1000:.1f}) | {early} |", flush=True)
            stop_postgres(work)
        work = tempfile.mkdtemp(prefix=f"em-prec-{backend}-")
        db_url = postgres_url(work) if backend == "postgres" else "sqlite:data/event-manager.sqlite"
        sent, _, first, median, last, p99, early = run(binary, backend, 200, db_url, work, spacing_ms=100)
        stop_postgres(work)
        precision.append(f"| {backend} | {sent} | {median} | {p99} | {last} | {early} |")
    print("\nprecision: 200 reminders due 100 ms apart, each alone (lateness = sent_at - due_at, ms)")
    print("| database | sent | median | p99 | max | sent early |")
    print("|---|---|---|---|---|---|")
    print("\n".join(precision))


if __name__ == "__main__":
    main()
