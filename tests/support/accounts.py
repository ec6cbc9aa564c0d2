"""Sign-in test helpers: a movable frozen clock and an OTP/login driver over HTTP."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re

from haoka.core import clock

#: The top of a clock hour, so hourly and per-minute windows start with the test.
T0 = dt.datetime(2026, 3, 1, 2, 0, 0, tzinfo=dt.UTC)


class Moment:
    """The frozen 'now' of a test; move it with :meth:`set` or :meth:`advance`."""

    def __init__(self, stack: contextlib.ExitStack) -> None:
        self._stack = stack
        self.at = T0
        self._inner: contextlib.ExitStack | None = None
        self.set(T0)

    def set(self, at: dt.datetime) -> None:
        if self._inner is not None:
            self._inner.close()
        self._inner = self._stack.enter_context(contextlib.ExitStack())
        self._inner.enter_context(clock.frozen(at, all_threads=True))
        self.at = at

    def advance(self, **delta: float) -> None:
        self.set(self.at + dt.timedelta(**delta))


class Otp:
    """Drives the sign-in API like a phone would."""

    def __init__(self, client) -> None:
        self.client = client

    def post(self, path: str, body: dict, *, ip: str = "127.0.0.1", **headers: str):
        return self.client.post(
            f"/api/v1{path}",
            data=json.dumps(body),
            content_type="application/json",
            headers=headers,
            REMOTE_ADDR=ip,
        )

    def request(self, phone: str, *, ip: str = "127.0.0.1"):
        return self.post("/auth/otp", {"phone": phone}, ip=ip)

    def outbox(self, phone: str) -> list[dict]:
        response = self.client.get("/api/v1/sandbox/sms", {"phone": phone})
        assert response.status_code == 200, response.content
        return response.json()

    def last_code(self, phone: str) -> str:
        match = re.search(r"(\d{6})", self.outbox(phone)[0]["text"])
        assert match, "no code in the SMS"
        return match.group(1)

    def login(self, phone: str, code: str, *, ip: str = "127.0.0.1"):
        return self.post("/auth/login", {"phone": phone, "code": code}, ip=ip)

    def sign_in(self, phone: str) -> str:
        """Request a code, read it from the outbox, log in; return the session token."""
        assert self.request(phone).status_code == 200
        response = self.login(phone, self.last_code(phone))
        assert response.status_code == 200, response.content
        return response.json()["token"]

    def me(self, token: str):
        return self.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})


def wrong_code(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"
