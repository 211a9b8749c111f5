#!/usr/bin/env python3
"""A webhook receiver for tests: an independent check of what event-manager sends.

Verifies every request's Standard Webhooks signature with Python's own hmac (the secret is read
from DIR/secret at each request, so a test can write it once the endpoint is registered), and
appends one JSON line per request to DIR/requests.jsonl: the headers, the parsed body, whether
the signature verified, and the status it answered. Misbehaves on request:
  --fail-first N   answer 503 to the first N requests, then 200 (an endpoint that recovers)
  --mode gone      answer 410 Gone
  --mode redirect  answer 302 to http://127.0.0.1:9/ (which must not be followed)
  --mode huge      answer 200 with a 4 MiB body
Prints "READY <port>" once it accepts connections; exits with its parent.

  webhook_receiver.py --dir DIR [--port P] [--fail-first N] [--mode ok|gone|redirect|huge] [--tls-cert C --tls-key K]
"""
import argparse, base64, hashlib, hmac, json, os, signal, ssl, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def verify(secret, headers, body):
    """Standard Webhooks: v1,base64(HMAC-SHA256(key, id.timestamp.body)), key = base64 after whsec_."""
    if not secret:
        return False
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    signed = f"{headers.get('webhook-id')}.{headers.get('webhook-timestamp')}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [part.split(",", 1)[1] for part in (headers.get("webhook-signature") or "").split(" ") if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--mode", default="ok", choices=["ok", "gone", "redirect", "huge"])
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    lock = threading.Lock()
    state = {"count": 0}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            secret_path = os.path.join(args.dir, "secret")
            secret = open(secret_path).read().strip() if os.path.exists(secret_path) else ""
            with lock:
                state["count"] += 1
                number = state["count"]
            if args.mode == "gone":
                status = 410
            elif args.mode == "redirect":
                status = 302
            elif number <= args.fail_first:
                status = 503
            else:
                status = 200
            try:
                parsed = json.loads(body)
            except ValueError:
                parsed = None
            record = {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": parsed,
                "verified": verify(secret, {k.lower(): v for k, v in self.headers.items()}, body),
                "status": status,
            }
            with lock, open(os.path.join(args.dir, "requests.jsonl"), "a") as log:
                log.write(json.dumps(record) + "\n")
            payload = b"x" * (4 * 1024 * 1024) if args.mode == "huge" else b"ok"
            self.send_response(status)
            if status == 302:
                self.send_header("Location", "http://127.0.0.1:9/")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            try:
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"READY {server.server_address[1]}", flush=True)
    parent = os.getppid()
    while not stop.wait(0.2) and os.getppid() == parent:
        pass
    os._exit(0)


if __name__ == "__main__":
    main()
