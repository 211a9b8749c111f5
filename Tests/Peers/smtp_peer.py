#!/usr/bin/env python3
"""An SMTP server for tests, built on aiosmtpd (which does the protocol).

Saves every accepted message to DIR/NNNN.eml, and beside it NNNN.json: the message as Python's
email package parses it (headers decoded per RFC 2047, every MIME part decoded), so tests check
our output with a parser we did not write. Misbehaves on request, by recipient:
  reject550@...     -> 550 at RCPT (permanent)
  reject550-N@...   -> 550 at RCPT for the first N attempts, then accepted (a mailbox fixed later)
  temp451-N@...     -> 451 at RCPT for the first N attempts, then accepted
  close421-N@...    -> 421 at RCPT for the first N attempts (server closing), then accepted
Prints "READY <port>" on stdout once it accepts connections.

  smtp_peer.py --dir DIR [--port P] [--tls-cert C --tls-key K] [--require-starttls | --implicit-tls]
               [--auth USER:PASSWORD] [--ledger]

With --ledger (load tests) nothing is parsed or saved per message: one line per accepted message,
"<Message-ID> <recipients>", is appended to DIR/ledger.txt instead.
"""
import argparse, email, email.policy, json, os, re, signal, socket, ssl, threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class Handler:
    def __init__(self, directory, ledger=False):
        self.directory = directory
        self.ledger = open(os.path.join(directory, "ledger.txt"), "a", buffering=1) if ledger else None
        self.count = 0
        self.failures = {}
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local == "reject550":
            return "550 5.1.1 mailbox unavailable"
        match = re.match(r"(temp451|close421|reject550)-(\d+)", local)
        if match:
            with self.lock:
                seen = self.failures.get(address, 0)
                self.failures[address] = seen + 1
            if seen < int(match.group(2)):
                return {"temp451": "451 4.3.0 try again later", "close421": "421 4.3.2 closing connection",
                        "reject550": "550 5.1.1 mailbox unavailable"}[match.group(1)]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.ledger:
            data = envelope.original_content or envelope.content
            if isinstance(data, str):
                data = data.encode()
            found = re.search(rb"^Message-ID:\s*(\S+)", data, re.IGNORECASE | re.MULTILINE)
            message_id = found.group(1).decode() if found else "-"
            with self.lock:
                self.ledger.write(f"{message_id} {','.join(envelope.rcpt_tos)}\n")
            return "250 2.0.0 accepted"
        with self.lock:
            self.count += 1
            name = os.path.join(self.directory, f"{self.count:06d}")
        data = envelope.original_content or envelope.content
        if isinstance(data, str):
            data = data.encode()
        header = f"X-Peer-Mail-From: {envelope.mail_from}\r\nX-Peer-Rcpt-To: {','.join(envelope.rcpt_tos)}\r\n".encode()
        message = email.message_from_bytes(data, policy=email.policy.default)
        parsed = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": [[k, str(v)] for k, v in message.items()],
            "raw_headers": [[k, str(v)] for k, v in email.message_from_bytes(data, policy=email.policy.compat32).items()],
            "parts": [
                {"content_type": part.get_content_type(), "params": dict(part.get_params() or []),
                 "filename": part.get_filename(), "content": part.get_content() if part.get_content_maintype() == "text" else None}
                for part in message.walk() if not part.is_multipart()
            ],
            "defects": [str(d) for d in message.defects],
        }
        for suffix, content in ((".eml", header + data), (".json", json.dumps(parsed).encode())):
            with open(name + suffix + ".tmp", "wb") as f:
                f.write(content)
        os.rename(name + ".eml.tmp", name + ".eml")
        os.rename(name + ".json.tmp", name + ".json")
        return "250 2.0.0 accepted"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--require-starttls", action="store_true")
    parser.add_argument("--implicit-tls", action="store_true")
    parser.add_argument("--auth")
    parser.add_argument("--ledger", action="store_true")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    port = args.port
    if port == 0:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)
    options = dict(enable_SMTPUTF8=True, data_size_limit=10 * 1024 * 1024)
    if args.implicit_tls:
        options["ssl_context"] = tls_context
    elif tls_context:
        options.update(tls_context=tls_context, require_starttls=args.require_starttls)
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            from aiosmtpd.smtp import AuthResult
            ok = auth_data.login.decode() == user and auth_data.password.decode() == password
            return AuthResult(success=ok)

        options.update(authenticator=authenticator, auth_required=True, auth_require_tls=True)
    stop = threading.Event()
    # The parent may have spawned us with SIGTERM blocked or ignored: handlers first, then
    # unblock, and both before READY, so a SIGTERM sent right after READY is never lost.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    controller = Controller(Handler(args.dir, args.ledger), hostname="127.0.0.1", port=port, server_hostname="peer.test", **options)
    controller.start()
    print(f"READY {port}", flush=True)

    parent = os.getppid()
    try:
        # Exit with the parent too: a test run that dies must not leave servers behind.
        while not stop.wait(0.2) and os.getppid() == parent:
            pass
    finally:
        threading.Timer(3, lambda: os._exit(0)).start()
        controller.stop()
        os._exit(0)


if __name__ == "__main__":
    main()
