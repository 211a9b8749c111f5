"""What the process-level checks in .ci share: free ports on loopback, and waiting for a
condition with a deadline that records a failure instead of hanging."""
import socket, time

failures = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, seconds, what):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    failures.append(f"timed out after {seconds}s waiting for {what}")
    return False


def serve(binary, work, port, env, *arguments, seconds=60):
    """Starts `binary serve` on 127.0.0.1:`port` in `work` (log: work/server.log) and returns the
    process once /health answers; exits the check if it dies or never answers."""
    import os, subprocess, urllib.request
    log = open(os.path.join(work, "server.log"), "a")
    proc = subprocess.Popen([binary, "serve", "--app-port", str(port), *arguments], cwd=work, env=env, stdout=log, stderr=log)
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
            return proc
        except Exception:
            if proc.poll() is not None:
                raise SystemExit("server exited during start-up")
            time.sleep(0.05)
    raise SystemExit("server did not start")


def new_postgres_database(admin_url, prefix):
    """A database of its own on the test cluster; returns its URL."""
    import os
    database = f"{prefix}_{os.getpid()}"
    psql(admin_url, f"CREATE DATABASE {database}")
    return admin_url.rsplit("/", 1)[0] + "/" + database


def psql(url, query):
    """Runs one statement with psql; returns its unaligned output."""
    import subprocess
    return subprocess.run(["psql", url, "-XAtqc", query], check=True, capture_output=True, text=True).stdout.strip()


def load_due_reminders(db_url, work, count, due_in_seconds, spacing_ms=0):
    """Writes one event and `count` subscriptions whose reminders fall due `due_in_seconds` from
    now (the n-th `spacing_ms` later still), straight into a migrated database (`sqlite:PATH`
    relative to `work`, or a postgres:// URL): loading through the API would take longer than
    sending."""
    import os
    now = int(time.time() * 1000)
    due = now + due_in_seconds * 1000
    starts = due + count * spacing_ms + 30 * 60 * 1000
    if db_url.startswith("postgres"):
        psql(db_url, f"""
            INSERT INTO events (id, title, location, starts_at, timezone, date_only, popularity, created_at, updated_at)
            VALUES (1, 'Burst', 'Hall', {starts}, 'UTC', false, 0, {now}, {now});
            INSERT INTO subscriptions (event_id, email, email_normalized, remind_before_minutes, status, token, created_at)
            SELECT 1, 'user' || n || '@burst.test', 'user' || n || '@burst.test', 30, 'active', 'token-' || n, {now}
            FROM generate_series(1, {count}) AS n;
            INSERT INTO deliveries (kind, subscription_id, event_id, email, event_starts_at, due_at, state, attempts, next_attempt_at,
                                    message_id, created_at, updated_at)
            SELECT 'reminder', id, 1, email, {starts}, {due} + (id - 1) * {spacing_ms}, 'scheduled', 0,
                   {due} + (id - 1) * {spacing_ms}, '<burst-' || id || '@burst.test>', {now}, {now}
            FROM subscriptions;""")
        return
    import sqlite3
    with sqlite3.connect(os.path.join(work, db_url.split(":", 1)[1])) as db:
        db.execute("INSERT INTO events (id, title, location, starts_at, timezone, date_only, popularity, created_at, updated_at)"
                   " VALUES (1, 'Burst', 'Hall', ?, 'UTC', 0, 0, ?, ?)", (starts, now, now))
        db.executemany(
            "INSERT INTO subscriptions (event_id, email, email_normalized, remind_before_minutes, status, token, created_at)"
            " VALUES (1, ?, ?, 30, 'active', ?, ?)",
            ((f"user{n}@burst.test", f"user{n}@burst.test", f"token-{n}", now) for n in range(1, count + 1)))
        db.execute(
            "INSERT INTO deliveries (kind, subscription_id, event_id, email, event_starts_at, due_at, state, attempts, next_attempt_at,"
            " message_id, created_at, updated_at) SELECT 'reminder', id, 1, email, ?, ? + (id - 1) * ?, 'scheduled', 0,"
            " ? + (id - 1) * ?, '<burst-' || id || '@burst.test>', ?, ? FROM subscriptions",
            (starts, due, spacing_ms, due, spacing_ms, now, now))
