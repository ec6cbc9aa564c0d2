"""A network function's callback endpoint for tests: an HTTP/2 cleartext server (prior
knowledge, as between 5G core NFs) in a thread, built on ``h2``. It records every request
(method, path, headers, JSON body) and answers from a script of statuses (then 204).

    with H2cSink() as sink:
        sink.url("/notify")       # http://127.0.0.1:<port>/notify
        sink.statuses.extend([503, 204])
        sink.wait_for(1)          # the requests received, waiting up to a few seconds
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass

import h2.config
import h2.connection
import h2.events


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: dict
    received_at: float  # time.time() when the request ended


class H2cSink:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.statuses: deque[int] = deque()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def url(self, path: str = "/notify") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> H2cSink:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._listener.close()

    def wait_for(self, count: int, *, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        with self._lock:
            return list(self.requests)

    # ------------------------------------------------------------------ the server
    def _serve(self) -> None:
        self._listener.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def _connection(self, conn: socket.socket) -> None:
        h2conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        h2conn.initiate_connection()
        conn.sendall(h2conn.data_to_send())
        streams: dict[int, tuple[dict, bytearray]] = {}
        with conn:
            while not self._stop.is_set():
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                for event in h2conn.receive_data(data):
                    self._on_event(h2conn, event, streams)
                conn.sendall(h2conn.data_to_send())

    def _on_event(self, h2conn, event, streams) -> None:
        if isinstance(event, h2.events.RequestReceived):
            headers = {k.decode() if isinstance(k, bytes) else k: v.decode()
                       if isinstance(v, bytes) else v for k, v in event.headers}  # fmt: skip
            streams[event.stream_id] = (headers, bytearray())
        elif isinstance(event, h2.events.DataReceived):
            streams[event.stream_id][1].extend(event.data)
            h2conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            headers, body = streams.pop(event.stream_id)
            with self._lock:
                self.requests.append(
                    Received(headers[":method"], headers[":path"], headers,
                             json.loads(body) if body else {}, time.time())
                )  # fmt: skip
                status = self.statuses.popleft() if self.statuses else 204
            h2conn.send_headers(event.stream_id, [(":status", str(status))], end_stream=True)
