"""Helpers for the simulator tests: signed requests, fake networks, real processes, receivers.

No Django and no database: the simulators are outside systems.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from haoka import simkit
from haoka.core import signing

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette 1.x: "httpx with TestClient is deprecated"
    from starlette.testclient import TestClient  # noqa: F401 - re-exported

SECRET = "test-secret"
SRC = str(Path(__file__).resolve().parents[2] / "src")


def fast(**changes) -> simkit.SimConfig:
    """A config for tests: no latency, a huge time scale, the test secret."""
    config = simkit.SimConfig(secret=SECRET, latency_ms=(0, 0), time_scale=1_000_000)
    config.update(changes)
    return config


def signed(
    payload: dict | bytes | None = None, *, secret: str = SECRET, timestamp: int | None = None
):
    """(body, headers) of a signed JSON request; ``payload=None`` signs the empty body (GET)."""
    if isinstance(payload, bytes):
        body = payload
    else:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
    header = signing.sign(secret=secret, body=body, timestamp=timestamp)
    return body, {"content-type": "application/json", signing.HEADER: header}


def post(client, url: str, payload: dict | bytes, **kwargs):
    body, headers = signed(payload, **kwargs)
    return client.post(url, content=body, headers=headers)


def get(client, url: str, **kwargs):
    _body, headers = signed(None, **kwargs)
    return client.get(url, headers=headers)


def wait_for(predicate: Callable[[], object], *, timeout: float = 10.0, what: str = "condition"):
    """Poll ``predicate`` until truthy; return its value. Fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Captured:
    url: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    def verifies(self, secret: str = SECRET) -> bool:
        header = self.headers.get(signing.HEADER.lower()) or self.headers.get(signing.HEADER)
        signing.verify(secret=secret, body=self.body, header=header)
        return True


@dataclass
class FakeNetwork:
    """An httpx transport for the simulator's outgoing calls: records every request and
    answers with ``routes`` (URL substring -> function(request) -> httpx.Response), else 200."""

    routes: dict[str, Callable[[httpx.Request], httpx.Response]] = field(default_factory=dict)
    seen: list[Captured] = field(default_factory=list)

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            captured = Captured(str(request.url), dict(request.headers), request.content)
            self.seen.append(captured)
            for part, answer in self.routes.items():
                if part in captured.url:
                    return answer(request)
            return httpx.Response(200, json={"ok": True})

        return httpx.MockTransport(handle)

    def to(self, part: str) -> list[Captured]:
        return [c for c in list(self.seen) if part in c.url]

    def types(self, part: str = "") -> list[str]:
        return [c.json.get("type") for c in self.to(part)]


# ---------------------------------------------------------------- real processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def simulator_process(kind: str, *args: str) -> Iterator[str]:
    """Run ``python -m haoka.simulate <kind> --port <free> ...``; yield its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAOKA_SIM_")}
    env["PYTHONPATH"] = SRC + os.pathsep + os.environ.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "haoka.simulate", kind, "--port", str(port), *args]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"{kind} simulator exited: {proc.stderr.read().decode()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/_sim/config", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"{kind} simulator did not start")
            time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Receiver:
    """A tiny HTTP server in a thread that records every POST (a stand-in for haoka).

    ``fail_first`` answers 500 to the first N deliveries of every event id.
    """

    def __init__(self, *, fail_first: int = 0) -> None:
        self.seen: list[Captured] = []
        self.fail_first = fail_first
        self._attempts: dict[str, int] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status = receiver._record(self.path, dict(self.headers), body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> int:
        captured = Captured(path, {k.lower(): v for k, v in headers.items()}, body)
        with self._lock:
            event_id = json.loads(body or b"{}").get("event_id", "")
            self._attempts[event_id] = self._attempts.get(event_id, 0) + 1
            if self._attempts[event_id] <= self.fail_first:
                return 500
            self.seen.append(captured)
        return 200

    def at(self, path: str) -> list[Captured]:
        with self._lock:
            return [c for c in self.seen if c.url == path]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
