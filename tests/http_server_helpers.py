"""Talking to a real server process started by a test (gunicorn, `make prod`): a free loopback port,
waiting until it listens (or fails), and plain HTTP requests as the TLS-terminating proxy sends them."""

import http.client
import json
import os
import socket
import subprocess
import time


def children_of(pid: int) -> list[int]:
    """The pids of a process's children (a script's servers, each leading its own process group)."""
    listed = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(line) for line in listed.stdout.split()]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(server: subprocess.Popen, port: int, deadline: float) -> None:
    """Connect until the port answers; between tries, wait on the process itself (it may have died)."""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        try:
            server.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            continue
        raise AssertionError(f"the server exited with {server.returncode} before it listened")
    raise AssertionError("the server did not listen in time")


def request(
    port: int, method: str, path: str, body=None, **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-cased headers, body); ``body`` is sent as JSON."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    if body is not None:
        body = json.dumps(body)
        headers["Content-Type"] = "application/json"
    try:
        # As the TLS-terminating proxy in front would: the request came over HTTPS.
        connection.request(method, path, body=body, headers={"X-Forwarded-Proto": "https", **headers})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()
