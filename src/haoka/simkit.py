"""Shared machinery of the outside-system simulators (payment gateway, carriers, courier).

The simulators are separate processes (Starlette under uvicorn): no Django, no database, state
in memory. This module gives each of them the same behaviour (docs/integrations.md):

- ``SimConfig``: faults and timing (read from ``HAOKA_SIM_*`` and flags by haoka.simulate).
- ``Sim``: one per app. ``guard`` runs first in every ``/v1/`` request: real-time latency, then
  an injected failure (503) or timeout (sleeps past the caller's timeout, then 504) *before
  anything is done*, then the signature check (401 ``{"error": "bad_signature"}``).
  ``sleep`` waits *simulated* seconds (divided by ``time_scale``); ``spawn`` runs background
  work that is cancelled on shutdown; ``stats`` counts what ``GET /_sim/stats`` shows.
- ``CallbackSender``: signed callbacks delivered in background tasks, in order per object,
  retried until 2xx (backoff 0.5 s doubling to 30 s, real time, for 24 simulated hours but at
  least 10 real minutes), with injected duplicates (same ``event_id`` sent twice) and
  out-of-order delivery (an event is held back until the next event of the same object has
  been delivered, or at most ``HOLD_SECONDS`` of real time).

Determinism: with a seed, fault and latency draws come from one stream in request order, and
each object's business draws (delays, rejects, duplicates) from a stream derived from the seed
and the caller's id, so they do not depend on timing. Identifiers (payment ids, ICCIDs,
tracking numbers, event ids) never come from the seed: a restarted seeded simulator must not
reuse ids haoka has already stored under UNIQUE constraints.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import random
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from haoka.core import signing

DEFAULT_SECRET = "sandbox-secret"
HOLD_SECONDS = 5.0  # longest real time an out-of-order event is held back
STAT_KEYS = (
    "requests", "failures_injected", "timeouts_injected", "bad_signatures", "create_requests",
    "created", "repeats", "callbacks_sent", "callbacks_duplicated", "callbacks_reordered",
    "callbacks_failed", "callbacks_abandoned",
)  # fmt: skip
_RATES = ("failure_rate", "timeout_rate", "duplicate_rate", "out_of_order_rate", "reject_rate")


class SimError(Exception):
    """An error answer: ``{"error": code, **extra}`` with HTTP ``status``."""

    def __init__(self, status: int, code: str, **extra: Any) -> None:
        super().__init__(code)
        self.status, self.code, self.extra = status, code, extra


@dataclasses.dataclass
class SimConfig:
    """Faults and timing of one simulator. Latency and timeouts are real time; ``time_scale``
    divides only the simulated business delays (60 = a simulated minute per real second)."""

    secret: str = DEFAULT_SECRET
    callback_url: str = ""
    courier_url: str = "http://127.0.0.1:8103"
    latency_ms: tuple[int, int] = (20, 200)
    failure_rate: float = 0.0
    timeout_rate: float = 0.0
    duplicate_rate: float = 0.0
    out_of_order_rate: float = 0.0
    reject_rate: float = 0.0
    time_scale: float = 1.0
    caller_timeout: float = 35.0  # seconds the caller waits; an injected timeout sleeps past it
    callback_timeout: float = 10.0  # how long the simulator waits for a callback's answer
    seed: int | None = None

    def public(self) -> dict[str, Any]:
        """The settings ``GET /_sim/config`` shows (never the secret)."""
        data = dataclasses.asdict(self)
        data.pop("secret")
        data["latency_ms"] = list(self.latency_ms)
        return data

    def update(self, changes: dict[str, Any]) -> None:
        """Apply ``POST /_sim/config`` changes, all or none. Raises SimError (400)."""
        new = dataclasses.replace(self)
        for key, value in changes.items():
            try:
                _set(new, key, value)
            except (TypeError, ValueError) as exc:
                raise SimError(400, "invalid_config", field=key, detail=str(exc)) from None
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(new, field.name))


def _set(config: SimConfig, key: str, value: Any) -> None:
    if key in _RATES:
        rate = float(value)
        if not 0.0 <= rate <= 1.0:
            raise ValueError("a rate is between 0 and 1")
        setattr(config, key, rate)
    elif key == "latency_ms":
        low, high = (int(v) for v in (value.split(",") if isinstance(value, str) else value))
        if not 0 <= low <= high:
            raise ValueError("latency_ms is [min, max] with 0 <= min <= max")
        config.latency_ms = (low, high)
    elif key in ("time_scale", "caller_timeout", "callback_timeout"):
        number = float(value)
        if number <= 0:
            raise ValueError(f"{key} must be positive")
        setattr(config, key, number)
    elif key == "seed":
        config.seed = None if value in (None, "") else int(value)
    elif key in ("callback_url", "courier_url"):
        setattr(config, key, str(value))
    else:
        raise ValueError(f"unknown setting {key}")


# ---------------------------------------------------------------- helpers


def new_id(prefix: str) -> str:
    """A fresh random identifier (never from the seed)."""
    return f"{prefix}_{secrets.token_hex(10)}"


def now_iso() -> str:
    """Current UTC time, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def parse_json(body: bytes) -> dict[str, Any]:
    """The JSON object in ``body``. Raises SimError (400, invalid_json)."""
    try:
        data = json.loads(body or b"null")
    except ValueError:
        raise SimError(400, "invalid_json") from None
    if not isinstance(data, dict):
        raise SimError(400, "invalid_json")
    return data


def field(data: dict[str, Any], key: str, kind: type = str, *, optional: bool = False) -> Any:
    """``data[key]`` of type ``kind`` (non-empty for str, positive for int).

    Raises SimError (400, invalid_request, field=key).
    """
    value = data.get(key)
    if value is None and optional:
        return None
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and kind is str:
        ok = bool(value.strip())
    if ok and kind is int:
        ok = value > 0
    if not ok:
        raise SimError(400, "invalid_request", field=key)
    return value


# ---------------------------------------------------------------- the simulator core


class Sim:
    """State shared by one simulator app: config, randomness, stats, background tasks."""

    def __init__(self, config: SimConfig, *, transport: httpx.AsyncBaseTransport | None = None):
        self.config = config
        self.stats: Counter[str] = Counter({key: 0 for key in STAT_KEYS})
        self.rng = self._stream("requests")
        self.callbacks = CallbackSender(self)
        self.http: httpx.AsyncClient | None = None
        self._transport = transport
        self._tasks: set[asyncio.Task] = set()

    def _stream(self, key: str) -> random.Random:
        # Non-crypto simulation randomness; seeded by a string so the draws are reproducible.
        seed = None if self.config.seed is None else f"{self.config.seed}:{key}"
        return random.Random(seed)  # noqa: S311

    def rng_for(self, key: str) -> random.Random:
        """The random stream of one object (reproducible from the seed and ``key``)."""
        return self._stream(f"object:{key}")

    def reseed(self) -> None:
        self.rng = self._stream("requests")

    async def sleep(self, simulated_seconds: float) -> None:
        """Wait ``simulated_seconds`` of simulated time (real time / ``time_scale``)."""
        await asyncio.sleep(max(0.0, simulated_seconds) / self.config.time_scale)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
        """Run ``coro`` in the background; it is cancelled when the app shuts down."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def pending(self) -> int:
        """Background tasks still running (timelines, callbacks being delivered or retried)."""
        return sum(1 for task in self._tasks if not task.done())

    async def startup(self) -> None:
        self.http = httpx.AsyncClient(transport=self._transport)

    async def shutdown(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.http is not None:
            await self.http.aclose()

    async def guard(self, request: Request, *, faults: bool = True) -> bytes:
        """Latency, then injected faults, then the signature; return the raw body.

        Raises SimError: 503 injected_failure, 504 injected_timeout (after sleeping past the
        caller's timeout), 401 bad_signature.
        """
        if faults:
            await self._inject_faults()
        body = await request.body()
        header = request.headers.get(signing.HEADER)
        try:
            signing.verify(secret=self.config.secret, body=body, header=header)
        except signing.SignatureError:
            self.stats["bad_signatures"] += 1
            raise SimError(401, "bad_signature") from None
        return body

    async def faults(self) -> None:
        """Latency, then an injected failure or timeout, for a route without a signature (the
        NRF's: network functions authenticate to it otherwise). Raises SimError (503, 504)."""
        await self._inject_faults()

    async def _inject_faults(self) -> None:
        cfg = self.config
        self.stats["requests"] += 1
        draw, latency_ms = self.rng.random(), self.rng.uniform(*cfg.latency_ms)
        await asyncio.sleep(latency_ms / 1000)
        if draw < cfg.failure_rate:
            self.stats["failures_injected"] += 1
            raise SimError(503, "injected_failure")
        if draw < cfg.failure_rate + cfg.timeout_rate:
            self.stats["timeouts_injected"] += 1
            await asyncio.sleep(cfg.caller_timeout * 1.2 + 0.2)
            raise SimError(504, "injected_timeout")

    async def post_signed(self, url: str, payload: dict[str, Any]) -> httpx.Response:
        """POST ``payload`` signed with the shared secret. Raises httpx.HTTPError."""
        assert self.http is not None, "the app is not started"
        body = dumps(payload)
        return await self.http.post(
            url, content=body, headers=signed_headers(secret=self.config.secret, body=body),
            timeout=self.config.callback_timeout,
        )  # fmt: skip


def signed_headers(*, secret: str, body: bytes) -> dict[str, str]:
    """Headers of a signed JSON request (fresh timestamp)."""
    signature = signing.sign(secret=secret, body=body)
    return {"content-type": "application/json", signing.HEADER: signature}


@dataclasses.dataclass
class _Event:
    url: str
    body: bytes
    duplicate: bool


class CallbackSender:
    """Signed callbacks, delivered per object in order (unless reordering is injected)."""

    def __init__(self, sim: Sim, *, concurrency: int = 16) -> None:
        self.sim = sim
        self._concurrency = concurrency
        self._slots: asyncio.Semaphore | None = None  # bounds concurrent HTTP attempts
        self._tails: dict[tuple[str, str], asyncio.Task] = {}
        self._held: dict[tuple[str, str], tuple[_Event, asyncio.Task]] = {}

    def send(self, *, url: str, payload: dict[str, Any], key: str, rng: random.Random) -> str:
        """Schedule ``payload`` (an ``event_id`` is added first) to ``url``; return the id.

        ``key`` names the object whose events stay in order; ``rng`` decides the injected
        duplicate and out-of-order faults. Never blocks.
        """
        cfg = self.sim.config
        event_id = new_id("evt")
        duplicate = rng.random() < cfg.duplicate_rate
        hold = rng.random() < cfg.out_of_order_rate
        event = _Event(url, dumps({"event_id": event_id, **payload}), duplicate)
        chain = (url, key)
        held = self._held.pop(chain, None)
        if hold and held is None:
            self._held[chain] = (event, self.sim.spawn(self._release_later(chain)))
            return event_id
        self._enqueue(chain, event)
        if held is not None:
            # Why: the held (earlier) event goes after this later one: out of order.
            held[1].cancel()
            self.sim.stats["callbacks_reordered"] += 1
            self._enqueue(chain, held[0])
        return event_id

    async def _release_later(self, chain: tuple[str, str]) -> None:
        await asyncio.sleep(HOLD_SECONDS)
        held = self._held.pop(chain, None)
        if held is not None:
            self._enqueue(chain, held[0])

    def _enqueue(self, chain: tuple[str, str], event: _Event) -> None:
        previous = self._tails.get(chain)
        task = self.sim.spawn(self._after(previous, event))
        self._tails[chain] = task

        def forget(done: asyncio.Task) -> None:
            if self._tails.get(chain) is done:
                del self._tails[chain]

        task.add_done_callback(forget)

    async def _after(self, previous: asyncio.Task | None, event: _Event) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        if await self._deliver(event):
            self.sim.stats["callbacks_sent"] += 1
            if event.duplicate and await self._deliver(event):
                self.sim.stats["callbacks_duplicated"] += 1

    async def _deliver(self, event: _Event) -> bool:
        """POST until a 2xx; False when giving up after the retry window."""
        cfg, loop = self.sim.config, asyncio.get_running_loop()
        deadline = loop.time() + max(24 * 3600 / cfg.time_scale, 600.0)
        backoff = 0.5
        while True:
            if self._slots is None:  # made in the running loop, not at import time
                self._slots = asyncio.Semaphore(self._concurrency)
            async with self._slots:
                try:
                    assert self.sim.http is not None
                    response = await self.sim.http.post(
                        event.url, content=event.body, timeout=cfg.callback_timeout,
                        headers=signed_headers(secret=cfg.secret, body=event.body),
                    )  # fmt: skip
                    if 200 <= response.status_code < 300:
                        return True
                except httpx.HTTPError:
                    pass
            self.sim.stats["callbacks_failed"] += 1
            if loop.time() + backoff > deadline:
                self.sim.stats["callbacks_abandoned"] += 1
                return False
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)


# ---------------------------------------------------------------- app assembly

Handler = Callable[[Request, bytes], Awaitable[Response]]


def api_route(sim: Sim, path: str, handler: Handler, *, methods: list[str], faults: bool = True):
    """A signed route whose handler gets ``(request, body)`` after ``sim.guard`` passed.
    ``faults=False`` for routes other simulators call (no latency, no injected faults)."""

    async def endpoint(request: Request) -> Response:
        body = await sim.guard(request, faults=faults)
        return await handler(request, body)

    return Route(path, endpoint, methods=methods)


def sim_routes(sim: Sim, *, extra_stats: Callable[[], dict[str, Any]] | None = None):
    """``GET/POST /_sim/config`` and ``GET /_sim/stats`` (unsigned: a sandbox control plane)."""

    async def config(request: Request) -> Response:
        if request.method == "POST":
            sim.config.update(parse_json(await request.body()))
            sim.reseed()
        return JSONResponse(sim.config.public())

    async def stats(request: Request) -> Response:
        data: dict[str, Any] = dict(sim.stats)
        data["background_tasks"] = sim.pending()
        if extra_stats is not None:
            data.update(extra_stats())
        return JSONResponse(data)

    return [
        Route("/_sim/config", config, methods=["GET", "POST"]),
        Route("/_sim/stats", stats, methods=["GET"]),
    ]


def build_app(sim: Sim, routes: list[BaseRoute]) -> Starlette:
    """A Starlette app with SimError answers and the background work tied to its lifespan."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        await sim.startup()
        try:
            yield
        finally:
            await sim.shutdown()

    async def on_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SimError)
        return JSONResponse({"error": exc.code, **exc.extra}, status_code=exc.status)

    app = Starlette(routes=routes, exception_handlers={SimError: on_error}, lifespan=lifespan)
    app.state.sim = sim
    return app
