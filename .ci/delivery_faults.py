#!/usr/bin/env python3
"""Reminders under faults, against a real SMTP peer (aiosmtpd) and the real process.

1. Kills (SQLite, then PostgreSQL): 10,000 reminders fall due at once; the process is SIGKILLed
   20 times while they go out and restarted at once. Every reminder arrives; duplicates, counted
   by Message-ID at the peer, are at most one per kill (the message between the peer's 250 and
   the worker's ledger line).
2. Outage (SQLite): the SMTP peer is stopped in the middle of a 10,000 burst and comes back 60 s
   later. Everything arrives after it returns, at most one message twice (the one in flight when
   the peer died), none is marked failed, and /metrics showed the backoff while it was down.

  delivery_faults.py PATH/TO/event-manager [POSTGRES_ADMIN_URL]
"""
import collections, os, signal, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import failures, free_port, load_due_reminders, new_postgres_database, psql, serve, wait_for  # noqa: E402

binary = os.path.abspath(sys.argv[1])
admin_url = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("EVENT_MANAGER_TEST_POSTGRES_URL")
peer_script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Peers", "smtp_peer.py")
COUNT = 10_000
KILLS = 20


class Peer:
    """The SMTP peer in ledger mode: one line per accepted message, `<Message-ID> <recipient>`."""

    def __init__(self, work, port=None):
        self.dir = os.path.join(work, "mail")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port
        self.start()

    def start(self):
        arguments = [sys.executable, peer_script, "--dir", self.dir, "--ledger"]
        if self.port:
            arguments += ["--port", str(self.port)]
        self.proc = subprocess.Popen(arguments, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("READY "), line
        self.port = int(line.split()[1])

    def stop(self):
        self.proc.kill()
        self.proc.wait()

    def received(self):
        try:
            with open(os.path.join(self.dir, "ledger.txt")) as f:
                return [line.split()[0] for line in f if line.strip()]
        except FileNotFoundError:
            return []


def start_burst(prefix, db_url):
    """A peer, a migrated database holding COUNT reminders due in 4 s, and the server sending
    them; returns (work, peer, env, port, server)."""
    work = tempfile.mkdtemp(prefix=prefix)
    peer = Peer(work)
    env = dict(os.environ, DB_URL=db_url, LOG_LEVEL="warning", RATE_LIMIT_ENABLED="false", MAIL_TRANSPORT="smtp",
               REMINDERS_LEASE_SECONDS="30", REMINDERS_POLL_INTERVAL_MS="500", SMTP_PORT=str(peer.port))
    subprocess.run([binary, "migrate"], cwd=work, env=env, check=True, capture_output=True)
    load_due_reminders(db_url, work, COUNT, due_in_seconds=4)
    port = free_port()
    return work, peer, env, port, serve(binary, work, port, env, seconds=60)


def states(db_url, work):
    query = "SELECT state || ':' || COUNT(*) FROM deliveries GROUP BY state ORDER BY state"
    if db_url.startswith("postgres"):
        return psql(db_url, query).split()
    import sqlite3
    with sqlite3.connect(os.path.join(work, db_url.split(":", 1)[1])) as db:
        return [row[0] for row in db.execute(query)]


def kills(name, db_url):
    work, peer, env, port, server = start_burst(f"em-kills-{name}-", db_url)
    killed = 0
    try:
        while killed < KILLS and len(peer.received()) < COUNT:
            mark = len(peer.received())
            # Kill while mail is going out: once at least a few more messages arrived.
            if not wait_for(lambda: len(peer.received()) >= min(COUNT, mark + 150), 60, "mail to flow"):
                break
            if len(peer.received()) >= COUNT:
                break
            server.send_signal(signal.SIGKILL)
            server.wait()
            killed += 1
            server = serve(binary, work, port, env, seconds=60)
        wait_for(lambda: len(set(peer.received())) >= COUNT, 180, f"{name}: every reminder at the peer")
        wait_for(lambda: states(db_url, work) == [f"sent:{COUNT}"], 60, f"{name}: every reminder marked sent")
    finally:
        server.kill()
        peer.stop()
    received = peer.received()
    duplicates = sum(n - 1 for n in collections.Counter(received).values())
    print(f"kills ({name}): {killed} SIGKILLs, {len(set(received))}/{COUNT} delivered, {duplicates} duplicates by Message-ID,"
          f" states {states(db_url, work)}")
    if killed < KILLS:
        failures.append(f"{name}: only {killed} kills happened while mail went out (wanted {KILLS})")
    if len(set(received)) != COUNT:
        failures.append(f"{name}: {COUNT - len(set(received))} reminders never arrived")
    if duplicates > killed:
        failures.append(f"{name}: {duplicates} duplicates for {killed} kills (at most one per kill)")


def metric(port, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        for line in response.read().decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.split()[-1])
    return None


def outage(db_url):
    work, peer, env, port, server = start_burst("em-outage-", db_url)
    backoff_seen = 0.0
    try:
        wait_for(lambda: len(peer.received()) >= COUNT // 3, 120, "a third of the burst")
        peer.stop()
        down_at = time.time()
        at_stop = len(peer.received())
        while time.time() - down_at < 60:
            backoff_seen = max(backoff_seen, metric(port, "smtp_backoff_seconds") or 0)
            time.sleep(1)
        failures_seen = metric(port, "smtp_connection_failures_total") or 0
        peer.start()
        back_at = time.time()
        wait_for(lambda: len(set(peer.received())) >= COUNT, 180, "outage: every reminder after the server returned")
        done = time.time()
        wait_for(lambda: states(db_url, work) == [f"sent:{COUNT}"], 60, "outage: every reminder marked sent")
        backoff_after = metric(port, "smtp_backoff_seconds")
    finally:
        server.kill()
        peer.stop()
    received = peer.received()
    duplicates = sum(n - 1 for n in collections.Counter(received).values())
    print(f"outage: {at_stop} delivered before the peer stopped, down 60 s, the rest within {done - back_at:.1f} s of its return;"
          f" {len(set(received))}/{COUNT} delivered, {duplicates} duplicates; /metrics while down: smtp_backoff_seconds up to"
          f" {backoff_seen:.0f}, smtp_connection_failures_total {failures_seen:.0f}; after: smtp_backoff_seconds {backoff_after}")
    if len(set(received)) != COUNT:
        failures.append(f"outage: {COUNT - len(set(received))} reminders never arrived")
    if duplicates > 1:
        failures.append(f"outage: {duplicates} duplicates (at most the one in flight)")
    if backoff_seen <= 0 or failures_seen <= 0:
        failures.append("outage: /metrics did not show the backoff while the server was down")
    if backoff_after != 0:
        failures.append(f"outage: smtp_backoff_seconds is {backoff_after} after the server returned")


kills("sqlite", "sqlite:data/event-manager.sqlite")
if admin_url:
    kills("postgres", new_postgres_database(admin_url, "em_faults"))
else:
    failures.append("no PostgreSQL URL: the kill test did not run on PostgreSQL")
outage("sqlite:data/event-manager.sqlite")

for failure in failures:
    print("FAIL:", failure)
sys.exit(1 if failures else 0)
