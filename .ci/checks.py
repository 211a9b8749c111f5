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
