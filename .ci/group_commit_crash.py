#!/usr/bin/env python3
"""Group commit survives SIGKILL: on SQLite, writes waiting at the same moment share one
transaction and one fsync. Every POST /events answered 201 before the kill must be there after
a restart, with what it was answered; writes that were never answered may or may not be.

32 clients write as fast as they can; the server is killed at a random moment, five times.

  group_commit_crash.py PATH/TO/event-manager
"""
import json, os, random, signal, subprocess, sys, tempfile, threading, time, urllib.error, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import failures, free_port, serve  # noqa: E402

binary = os.path.abspath(sys.argv[1])
work = tempfile.mkdtemp(prefix="em-group-commit-")
env = dict(os.environ, RATE_LIMIT_ENABLED="false", LOG_LEVEL="warning", MAIL_TRANSPORT="log")


def start_server(port):
    return serve(binary, work, port, env, "--role", "api")


key = subprocess.run([binary, "accounts", "create", "--name", "crash", "--role", "admin"], cwd=work, env=env, check=True,
                     capture_output=True, text=True).stdout
key = next(word for word in key.split() if word.startswith("em_"))
acknowledged = {}  # id -> title
lock = threading.Lock()


def writer(port, client, stop):
    count = 0
    while not stop.is_set():
        count += 1
        title = f"crash {client}-{count}-{random.random()}"
        body = json.dumps({"title": title, "location": "Disk", "date": "2031-01-01T10:00:00Z"}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/events", data=body, method="POST",
                                         headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                if response.status == 201:
                    event = json.load(response)
                    with lock:
                        acknowledged[event["id"]] = event["title"]
                    assert event["title"] == title
        except (urllib.error.URLError, ConnectionError, OSError, TimeoutError):
            return  # the server is gone: this write was never answered


for round_number in range(5):
    port = free_port()
    server = start_server(port)
    stop = threading.Event()
    threads = [threading.Thread(target=writer, args=(port, client, stop)) for client in range(32)]
    for thread in threads:
        thread.start()
    before = len(acknowledged)
    deadline = time.time() + 30
    target = random.randint(200, 1500)
    while len(acknowledged) - before < target and time.time() < deadline:
        time.sleep(0.005)
    server.send_signal(signal.SIGKILL)
    server.wait()
    stop.set()
    for thread in threads:
        thread.join()
    print(f"round {round_number + 1}: killed after {len(acknowledged) - before} acknowledged writes")

port = free_port()
server = start_server(port)
try:
    missing = []
    for event_id, title in sorted(acknowledged.items()):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/events/{event_id}", timeout=10) as response:
                if json.load(response)["title"] != title:
                    missing.append(event_id)
        except urllib.error.HTTPError:
            missing.append(event_id)
    print(f"{len(acknowledged)} acknowledged writes, {len(missing)} missing after the kills")
    if missing:
        failures.append(f"acknowledged writes lost: {missing[:20]}")
    if len(acknowledged) < 1000:
        failures.append(f"too few writes to show anything: {len(acknowledged)}")
finally:
    server.terminate()
    server.wait()

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("group commit crash test passed")
