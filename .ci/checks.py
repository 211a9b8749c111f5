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
