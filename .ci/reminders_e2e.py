#!/usr/bin/env python3
"""Reminders end to end, as an operator runs them: the real executable, a real SMTP peer
(aiosmtpd), and SIGKILL.

1. A subscription acknowledged with 2xx is reminded even if the process is killed right after.
2. A process killed in the middle of sending a batch: its leases expire and the restarted process
   delivers the rest. Duplicates (a kill between the server's 250 and our commit) are counted by
   Message-ID and printed.
3. The reminder ledger: a reminder the peer refuses once shows its 550 reply over HTTP and in
   `event-manager deliveries list`; `event-manager deliveries retry` sends it.
4. Precision: with a poll interval of a minute, a reminder due in a few seconds is handed to SMTP
   within one second of its due time (sent_at minus due_at, read from the database), on a machine
   that runs nothing else.

  reminders_e2e.py PATH/TO/event-manager
"""
import datetime, glob, json, os, re, signal, socket, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import failures, free_port, serve, wait_for  # noqa: E402

binary = os.path.abspath(sys.argv[1])
peer_script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Peers", "smtp_peer.py")
work = tempfile.mkdtemp(prefix="em-e2e-")


def start_peer():
    maildir = os.path.join(work, "mail")
    proc = subprocess.Popen([sys.executable, peer_script, "--dir", maildir], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("READY "), line
    return proc, int(line.split()[1]), maildir


def start_server(port, smtp_port, poll_ms=500):
    env = dict(os.environ, MAIL_TRANSPORT="smtp", SMTP_PORT=str(smtp_port), REMINDERS_LEASE_SECONDS="5",
               REMINDERS_POLL_INTERVAL_MS=str(poll_ms), LOG_LEVEL="warning",
               RATE_LIMIT_ENABLED="false")
    return serve(binary, work, port, env, seconds=30)


def admin_key():
    out = subprocess.run([binary, "accounts", "create", "--name", "e2e", "--role", "admin"], cwd=work, check=True,
                         capture_output=True, text=True).stdout
    return re.search(r"em_[A-Za-z0-9_-]+", out).group(0)


KEY = None


def call(port, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    if KEY and not path.endswith("/subscriptions"):
        headers["Authorization"] = f"Bearer {KEY}"
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read() or b"null")


def received(maildir):
    messages = []
    for name in sorted(glob.glob(os.path.join(maildir, "*.json"))):
        with open(name) as f:
            mail = json.load(f)
        headers = {k.lower(): v for k, v in mail["headers"]}
        messages.append((mail["rcpt_tos"][0], headers.get("message-id"), headers.get("subject")))
    return messages


def iso(seconds_from_now):
    moment = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds_from_now)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


peer, smtp_port, maildir = start_peer()
port = free_port()
server = start_server(port, smtp_port)
KEY = admin_key()
try:
    # 1. Kill right after the 2xx.
    status, event = call(port, "POST", "/events", {"title": "Durable", "location": "Disk", "date": iso(30 * 60 + 4)})
    assert status == 201, status
    status, sub = call(port, "POST", f"/events/{event['id']}/subscriptions", {"email": "durable@example.com"})
    assert status == 201, status
    server.send_signal(signal.SIGKILL)
    server.wait()
    server = start_server(port, smtp_port)
    if wait_for(lambda: any(m[0] == "durable@example.com" for m in received(maildir)), 30, "the reminder after SIGKILL"):
        print("durability: reminder delivered after SIGKILL and restart")

    # 2. Kill in the middle of a batch.
    count = 300
    status, event = call(port, "POST", "/events", {"title": "Crowded", "location": "Hall", "date": iso(30 * 60 + 5)})
    for index in range(count):
        call(port, "POST", f"/events/{event['id']}/subscriptions", {"email": f"user{index}@example.com"})
    before = len(received(maildir))
    wait_for(lambda: len(received(maildir)) > before, 30, "the batch to start")
    server.send_signal(signal.SIGKILL)
    server.wait()
    killed_after = len(received(maildir)) - before
    server = start_server(port, smtp_port)
    wanted = {f"user{index}@example.com" for index in range(count)}
    wait_for(lambda: wanted <= {m[0] for m in received(maildir)}, 60, "every reminder of the batch")
    batch = [m for m in received(maildir) if m[0] in wanted]
    ids = [m[1] for m in batch]
    duplicates = len(ids) - len(set(ids))
    missing = wanted - {m[0] for m in batch}
    print(f"mid-batch kill: {killed_after} delivered before the kill, {len(set(ids))}/{count} delivered in all, "
          f"{duplicates} duplicates by Message-ID, {len(missing)} missing")
    if missing:
        failures.append(f"{len(missing)} reminders never arrived")
    if len({m[1] for m in batch if m[0] == 'user0@example.com'}) > 1:
        failures.append("one subscriber got reminders with different Message-IDs")
    subjects = {m[2] for m in batch}
    if not all(s.startswith("Reminder: Crowded starts in") for s in subjects):
        failures.append(f"unexpected subjects: {subjects}")

    # 3. The ledger, through the API and the command line.
    status, event = call(port, "POST", "/events", {"title": "Ledger", "location": "Desk", "date": iso(30 * 60 + 2)})
    call(port, "POST", f"/events/{event['id']}/subscriptions", {"email": "reject550-1@example.com"})
    failed = lambda: call(port, "GET", f"/events/{event['id']}/deliveries?state=failed")[1]
    if wait_for(failed, 30, "the refused reminder in the ledger"):
        record = failed()[0]
        listed = subprocess.run([binary, "deliveries", "list", "--event", str(event["id"]), "--state", "failed"], cwd=work,
                                capture_output=True, text=True)
        print(f"ledger: {record['email']} {record['state']} after {record['attempts']} attempt(s): {record['last_reply']}")
        if "550 5.1.1" not in (record["last_reply"] or ""):
            failures.append(f"the ledger does not show the server's reply: {record}")
        if "reject550-1@example.com" not in listed.stdout or "550 5.1.1" not in listed.stdout:
            failures.append(f"deliveries list does not show the refusal: {listed.stdout!r} {listed.stderr!r}")
        retried = subprocess.run([binary, "deliveries", "retry", str(record["id"])], cwd=work, capture_output=True, text=True)
        if retried.returncode != 0:
            failures.append(f"deliveries retry failed: {retried.stderr!r}")
        elif wait_for(lambda: any(m[0] == "reject550-1@example.com" for m in received(maildir)), 30, "the retried reminder"):
            state = call(port, "GET", f"/deliveries/{record['id']}")[1]["state"]
            print(f"ledger: after deliveries retry the reminder is {state}")
            if state != "sent":
                failures.append(f"the retried reminder is {state}, not sent")

    # 4. Precision, with polling out of the picture: only sleeping until the due time counts.
    server.send_signal(signal.SIGTERM)
    server.wait()
    server = start_server(port, smtp_port, poll_ms=60_000)
    status, event = call(port, "POST", "/events", {"title": "Punctual", "location": "Clock", "date": iso(30 * 60 + 3)})
    status, sub = call(port, "POST", f"/events/{event['id']}/subscriptions", {"email": "punctual@example.com"})
    if wait_for(lambda: any(m[0] == "punctual@example.com" for m in received(maildir)), 15, "the punctual reminder"):
        import sqlite3
        with sqlite3.connect(os.path.join(work, "data", "event-manager.sqlite")) as db:
            (lateness,) = db.execute(
                "SELECT sent_at - due_at FROM deliveries WHERE email = 'punctual@example.com' AND kind = 'reminder'").fetchone()
        print(f"precision: handed to SMTP {lateness} ms after its due time (poll interval 60 s)")
        if not 0 <= lateness < 1000:
            failures.append(f"the reminder was handed over {lateness} ms after its due time")
finally:
    server.kill()
    peer.terminate()

for failure in failures:
    print("FAIL:", failure)
print(f"reminders e2e: {4 - min(4, len(failures))} passed, {min(4, len(failures))} failed")
sys.exit(1 if failures else 0)
