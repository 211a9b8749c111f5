#!/usr/bin/env python3
"""Idempotency-Key survives SIGKILL, on SQLite and PostgreSQL: a POST /events is sent with a key,
the server is killed 0 to 30 ms later (before, during or after its commit), restarted,
and the POST is sent again with the same key. The retry either replays the first answer
(`Idempotent-Replayed: true`, the same body) or creates the event then; the event exists exactly
once either way. 20 kills per database.

  idempotency_crash.py PATH/TO/event-manager [POSTGRES_ADMIN_URL]
"""
import http.client, json, os, random, socket, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import failures, free_port, new_postgres_database, serve  # noqa: E402

binary = os.path.abspath(sys.argv[1])
admin_url = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("EVENT_MANAGER_TEST_POSTGRES_URL")
KILLS = 20


def post(port, key, api_key, body):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/events", body=body, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {api_key}", "Idempotency-Key": key})
    response = connection.getresponse()
    answer = (response.status, response.getheader("Idempotent-Replayed"), response.read())
    connection.close()
    return answer


def run(name, db_url):
    work = tempfile.mkdtemp(prefix=f"em-idem-{name}-")
    # A request that died holds its key for a second; then a retry runs it again.
    env = dict(os.environ, DB_URL=db_url, RATE_LIMIT_ENABLED="false", LOG_LEVEL="warning", MAIL_TRANSPORT="log",
               IDEMPOTENCY_LOCK_SECONDS="1")
    out = subprocess.run([binary, "accounts", "create", "--name", "idem", "--role", "admin"], cwd=work, env=env, check=True,
                         capture_output=True, text=True).stdout
    api_key = next(word for word in out.split() if word.startswith("em_"))
    port = free_port()
    server = serve(binary, work, port, env, "--role", "api")
    tally = {"answered before the kill": 0, "replayed": 0, "created by the retry": 0}
    try:
        for index in range(KILLS):
            key = f"crash-{name}-{index}"
            title = f"Idempotent {name} {index}"
            body = json.dumps({"title": title, "location": "Disk", "date": "2031-01-01T10:00:00Z"})
            request = (f"POST /events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       f"Authorization: Bearer {api_key}\r\nIdempotency-Key: {key}\r\nContent-Length: {len(body)}\r\n"
                       f"Connection: close\r\n\r\n{body}").encode()
            first = b""
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(request)
                time.sleep(random.uniform(0, 0.03))
                server.kill()
                server.wait()
                sock.settimeout(1)
                try:
                    while chunk := sock.recv(65536):
                        first += chunk
                except OSError:
                    pass
            answered = first.startswith(b"HTTP/1.1 201")
            tally["answered before the kill"] += answered
            server = serve(binary, work, port, env, "--role", "api")
            deadline = time.time() + 15
            while True:
                status, replayed, again = post(port, key, api_key, body)
                if status != 409 or time.time() > deadline:
                    break
                time.sleep(0.2)
            if status != 201:
                failures.append(f"{name}: the retry of {key} answered {status}: {again[:200]!r}")
                continue
            tally["replayed" if replayed == "true" else "created by the retry"] += 1
            if answered and (replayed != "true" or not first.endswith(again)):
                failures.append(f"{name}: {key} was answered before the kill, but the retry did not replay that answer")
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/events?title=" + title.replace(" ", "%20"))
            found = json.loads(connection.getresponse().read())
            connection.close()
            if len(found) != 1:
                failures.append(f"{name}: {len(found)} events titled {title!r} after a kill and a retry (expected exactly 1)")
    finally:
        server.kill()
    print(f"idempotency under SIGKILL ({name}): {KILLS} kills; " + ", ".join(f"{k}: {v}" for k, v in tally.items()))


run("sqlite", "sqlite:data/event-manager.sqlite")
if admin_url:
    run("postgres", new_postgres_database(admin_url, "em_idem"))
else:
    failures.append("no PostgreSQL URL: the idempotency crash test did not run on PostgreSQL")

for failure in failures:
    print("FAIL:", failure)
sys.exit(1 if failures else 0)
