#!/usr/bin/env python3
"""The scale-out test: PostgreSQL, two API nodes and two reminder workers as separate processes,
nginx in front, an SMTP peer; everything on 127.0.0.1.

Through nginx it creates events and SUBSCRIPTIONS subscriptions, then moves the events so that
every reminder falls due within a few seconds, SIGKILLs one worker while mail is going out, and
checks: every reminder reached the SMTP peer, at most one duplicate by Message-ID (the message
between the peer's 250 and the killed worker's ledger line), a rate limit held
across both API nodes, and every API answer had the expected status. Prints its figures.

  scaleout.py BINARY    (needs EVENT_MANAGER_TEST_POSTGRES_URL, an admin URL of the server)
"""
import collections, concurrent.futures, datetime, http.client, json, os, shutil, signal, socket, subprocess
import sys, tempfile, threading, time, urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import failures, free_port, psql, wait_for  # noqa: E402

SUBSCRIPTIONS = int(os.environ.get("SCALEOUT_SUBSCRIPTIONS", "10000"))
EVENTS = 20
CLIENT_THREADS = 16
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rfc3339(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Client:
    """One keep-alive HTTP connection per thread."""

    local = threading.local()

    def __init__(self, port, key=None):
        self.port, self.key = port, key

    def request(self, method, path, body=None, retry=True):
        connections = self.local.__dict__.setdefault("connections", {})
        connection = connections.get(self.port)
        reused = connection is not None
        if connection is None:
            connection = connections[self.port] = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        try:
            connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
            response = connection.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            connection.close()
            del connections[self.port]
            # An idle keep-alive connection the server closed: open a new one, once.
            if reused and retry:
                return self.request(method, path, body, retry=False)
            raise
        return response.status, (json.loads(data) if data and data[:1] in (b"{", b"[") else None)


def main():
    binary = os.path.abspath(sys.argv[1])
    admin_url = os.environ["EVENT_MANAGER_TEST_POSTGRES_URL"]
    work = tempfile.mkdtemp(prefix="em-scaleout-")
    os.chmod(work, 0o755)
    database = "em_scaleout_" + str(os.getpid())
    psql(admin_url, f"CREATE DATABASE {database}")
    parts = urllib.parse.urlsplit(admin_url)
    db_url = urllib.parse.urlunsplit(parts._replace(path="/" + database))
    processes = {}
    try:
        run(binary, work, db_url, processes)
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        subprocess.run(["psql", admin_url, "-XAtqc", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    for failure in failures:
        print("FAIL:", failure)
    print(f"scale-out: {'passed' if not failures else 'failed'}")
    sys.exit(1 if failures else 0)


def run(binary, work, db_url, processes):
    mail_dir = os.path.join(work, "mail")
    peer = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "Tests/Peers/smtp_peer.py"), "--dir", mail_dir, "--ledger"],
        stdout=subprocess.PIPE, text=True)
    processes["peer"] = peer
    ready = peer.stdout.readline()
    assert ready.startswith("READY "), ready
    smtp_port = int(ready.split()[1])
    ledger = os.path.join(mail_dir, "ledger.txt")

    nginx_port, api_ports, worker_ports = free_port(), [free_port(), free_port()], [free_port(), free_port()]
    config = {
        "log": {"level": "warning"},
        "db": {"pool_size": 8},
        "app": {"public_url": f"http://127.0.0.1:{nginx_port}"},
        "mail": {"transport": "smtp"},
        "smtp": {"ip": "127.0.0.1", "port": smtp_port, "default_sender": "reminders@scaleout.test"},
        "reminders": {"notify_changes": False, "lease_seconds": 10, "batch_size": 200, "poll_interval_ms": 2000},
        "rate_limit": {
            "enabled": True, "read": ["100000 per minute"], "write": ["100000 per minute"],
            "subscribe": ["1000000 per minute"], "subscribe_per_email": ["5 per hour"],
            "subscribe_per_event": ["100000 per hour"], "trusted_proxies": ["127.0.0.1"],
        },
    }
    config_path = os.path.join(work, "config.json")
    with open(config_path, "w") as f:
        json.dump(config, f)
    env = dict(os.environ, DATABASE_URL=db_url)

    def event_manager(*args, log=None):
        return subprocess.Popen([binary, *args, "--config", config_path], cwd=work, env=env,
                                stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def health(port, path="/health"):
        try:
            return Client(port).request("GET", path)[0] == 200
        except OSError:
            return False

    assert event_manager("migrate").wait(timeout=120) == 0, "migrate failed"
    created = subprocess.run([binary, "accounts", "create", "--name", "scaleout", "--role", "admin", "--config", config_path],
                             cwd=work, env=env, capture_output=True, text=True, check=True).stdout
    key = next(word for word in created.split() if word.startswith("em_"))

    for index, port in enumerate(api_ports):
        processes[f"api{index}"] = event_manager("serve", "--role", "api", "--app-port", str(port),
                                                 log=open(os.path.join(work, f"api{index}.log"), "w"))
    for index, port in enumerate(worker_ports):
        processes[f"worker{index}"] = event_manager("serve", "--role", "worker", "--app-port", str(port),
                                                    log=open(os.path.join(work, f"worker{index}.log"), "w"))
    nginx_conf = os.path.join(work, "nginx.conf")
    with open(nginx_conf, "w") as f:
        f.write(f"""
{"user root;" if os.geteuid() == 0 else ""}
daemon off;
worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {work}/nginx-body;
    proxy_temp_path {work}/nginx-proxy;
    fastcgi_temp_path {work}/nginx-fastcgi;
    uwsgi_temp_path {work}/nginx-uwsgi;
    scgi_temp_path {work}/nginx-scgi;
    upstream event_manager_api {{
        server 127.0.0.1:{api_ports[0]} max_fails=3 fail_timeout=10s;
        server 127.0.0.1:{api_ports[1]} max_fails=3 fail_timeout=10s;
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{nginx_port};
        location / {{
            proxy_pass http://event_manager_api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        }}
    }}
}}
""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    # The documented configuration must at least be valid nginx.
    wrapper = os.path.join(work, "deploy-check.conf")
    with open(wrapper, "w") as f:
        f.write(f"pid {work}/check.pid; error_log {work}/check.log; events {{}} "
                f"http {{ include {os.path.join(ROOT, 'deploy', 'nginx.conf')}; }}\n")
    checked = subprocess.run([nginx, "-t", "-q", "-p", work, "-c", wrapper], capture_output=True, text=True)
    if checked.returncode != 0:
        failures.append(f"deploy/nginx.conf is not valid: {checked.stderr.strip()}")
    processes["nginx"] = subprocess.Popen([nginx, "-c", nginx_conf, "-p", work], stdout=subprocess.DEVNULL,
                                          stderr=open(os.path.join(work, "nginx.out"), "w"))
    for port in api_ports + worker_ports:
        wait_for(lambda: health(port, "/ready") or health(port), 60, f"node on port {port}")
    wait_for(lambda: health(nginx_port), 30, "nginx")
    for port in worker_ports:
        if not health(port, "/ready"):
            failures.append(f"worker on {port} is not ready (database and SMTP)")
        if Client(port).request("GET", "/events")[0] != 404:
            failures.append(f"worker on {port} serves API routes")

    api = Client(nginx_port, key)
    statuses = collections.Counter()
    unexpected = []

    def expect(status, wanted, what):
        statuses[status] += 1
        if status != wanted:
            unexpected.append(f"{what}: {status}")

    # Events far in the future: nothing falls due while subscriptions are written.
    far = time.time() + 2 * 86400
    status, events = api.request("POST", "/bulk_events", [
        {"title": f"Scale {index}", "location": "Hall", "date": rfc3339(far)} for index in range(EVENTS)])
    expect(status, 201, "bulk create")
    event_ids = [event["id"] for event in events]

    def subscribe(index):
        status, _ = api.request("POST", f"/events/{event_ids[index % EVENTS]}/subscriptions",
                                {"email": f"user{index}@scaleout.test", "remind_before_minutes": 10})
        return status

    started = time.time()
    with concurrent.futures.ThreadPoolExecutor(CLIENT_THREADS) as pool:
        for status in pool.map(subscribe, range(SUBSCRIPTIONS)):
            expect(status, 201, "subscribe")
    subscribe_seconds = time.time() - started

    # The shared limit: subscribe_per_email is 5 per hour, asked alternately of both nodes directly.
    limited = [Client(api_ports[index % 2]).request("POST", f"/events/{event_ids[index]}/subscriptions",
                                                    {"email": "limited@scaleout.test"})[0] for index in range(10)]
    if limited != [201] * 5 + [429] * 5:
        failures.append(f"the per-address limit did not hold across nodes: {limited}")

    # Move every event so that all reminders fall due about five seconds from now.
    start = int(time.time()) + 10 * 60 + 5
    due = start - 10 * 60
    for event_id in event_ids:
        status, _ = api.request("PATCH", f"/events/{event_id}", {"date": rfc3339(start)})
        expect(status, 200, "move event")

    def delivered():
        try:
            with open(ledger) as f:
                return [line.split() for line in f if line.strip()]
        except FileNotFoundError:
            return []

    # SIGKILL one worker while mail is going out.
    killed_at = None
    if wait_for(lambda: len(delivered()) >= SUBSCRIPTIONS // 5, 120, "a fifth of the reminders"):
        processes["worker0"].send_signal(signal.SIGKILL)
        processes["worker0"].wait()
        killed_at = len(delivered())
    wanted = {f"user{index}@scaleout.test" for index in range(SUBSCRIPTIONS)}
    wait_for(lambda: wanted <= {line[1] for line in delivered()}, 240, "every reminder at the SMTP peer")
    finished = time.time()
    lines = delivered()
    recipients = {line[1] for line in lines if line[1] in wanted}
    message_ids = collections.Counter(line[0] for line in lines if line[1] in wanted)
    duplicates = sum(count - 1 for count in message_ids.values())
    missing = len(wanted - recipients)
    if duplicates > 1:
        failures.append(f"{duplicates} duplicates by Message-ID after one kill (at most one allowed)")
    if missing:
        failures.append(f"{missing} reminders never reached the SMTP peer")
    sent = psql(db_url, "SELECT count(*) FROM deliveries WHERE kind = 'reminder' AND state = 'sent'")
    if int(sent) != SUBSCRIPTIONS + 5:
        failures.append(f"{sent} reminders are marked sent, expected {SUBSCRIPTIONS + 5}")
    lateness = psql(db_url, """
        SELECT concat_ws(' ', percentile_disc(0.5) WITHIN GROUP (ORDER BY sent_at - due_at),
                              percentile_disc(0.99) WITHIN GROUP (ORDER BY sent_at - due_at), max(sent_at - due_at))
        FROM deliveries WHERE kind = 'reminder' AND state = 'sent' AND email LIKE 'user%'""").split()
    # The API answers: every one as expected.
    if unexpected:
        failures.append(f"{len(unexpected)} unexpected API answers, e.g. {unexpected[:5]}")
    worker_metrics = Client(worker_ports[1]).request("GET", "/metrics")
    if worker_metrics[0] != 200:
        failures.append("the surviving worker does not serve /metrics")

    print(f"scale-out figures ({SUBSCRIPTIONS} subscriptions, {EVENTS} events, 2 API nodes, 2 workers, nginx, PostgreSQL):")
    print(f"  subscriptions through nginx: {SUBSCRIPTIONS / subscribe_seconds:,.0f}/s ({subscribe_seconds:.1f} s)")
    print(f"  API answers: {dict(statuses)}; unexpected: {len(unexpected)}")
    print(f"  shared per-address limit across nodes: {limited}")
    print(f"  worker0 SIGKILLed after {killed_at} messages had reached the peer")
    print(f"  all reminders delivered {finished - due:.1f} s after they fell due"
          f" ({SUBSCRIPTIONS / max(0.001, finished - due):,.0f} messages/s overall)")
    print(f"  lateness sent-minus-due (ms): p50 {lateness[0]}, p99 {lateness[1]}, max {lateness[2]}"
          " (the survivor takes the killed worker's ledger and leases over when it next looks)")
    print(f"  duplicates by Message-ID: {duplicates} (at most one: the message between the peer's 250 and the ledger line)")


if __name__ == "__main__":
    main()
