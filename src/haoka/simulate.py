"""``haoka simulate payment|carrier|courier|nrf``: run one outside-system simulator (uvicorn;
the NRF on granian, which speaks h2c as network functions do).

    haoka simulate carrier --port 8102 --time-scale 3600 --failure-rate 0.1 --seed 7

Without ``--port`` a simulator listens on haoka's port (``HAOKA_PORT``, 8000) plus its offset
in ``SIMULATORS``: payment 8101, carrier 8102, courier 8103 by default, and other ports for a
haoka on another port, so that two demos on one machine do not collide; the NRF 8104, which
haoka uses only when ``HAOKA_NRF_URL`` names it.
    python -m haoka.simulate courier --callback-url http://127.0.0.1:8000/api/v1/callbacks/couriers/simexpress

Every setting also comes from the environment (``HAOKA_SIM_SECRET``, ``HAOKA_SIM_TIME_SCALE``,
``HAOKA_SIM_FAILURE_RATE``, ...); flags win. No Django is imported: the simulators are
outside systems with their own in-memory state (docs/integrations.md).

``DEMO_TIME_SCALE`` (3600: a simulated hour per real second) is the scale ``haoka demo`` should
pass: the carrier-and-courier part of the journey (accept, ship, deliver ~24 h later,
activate) then takes about 30 real seconds, so the whole purchase fits in about a minute.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Any
from urllib.parse import urlsplit

from haoka import simkit

DEMO_TIME_SCALE = 3600.0
DEFAULT_WEB_PORT = 8000
#: kind -> (module, port offset from haoka's port, the variable that names its URL to haoka).
#: haoka.settings derives the same defaults (PAYMENT_GATEWAY_URL, CARRIER_API_URL, ...).
SIMULATORS = {
    "payment": ("haoka.payments.simulator", 101, "HAOKA_PAYMENT_GATEWAY_URL"),
    "carrier": ("haoka.carriers.simulator", 102, "HAOKA_CARRIER_API_URL"),
    "courier": ("haoka.logistics.simulator", 103, "HAOKA_COURIER_API_URL"),
    "nrf": ("haoka.charging.nrf_simulator", 104, "HAOKA_NRF_URL"),
}
#: The NRF simulator's own settings (flag, variable): its signing key (an RSA key in PEM,
#: created when missing, its public part written to ``<file>.pub``), the heartBeatTimer it
#: gives registering NFs, the lifetime of the tokens it issues (seconds), its nfInstanceId
#: (the tokens' issuer: the same variable tells haoka whom to trust).
NRF_OPTIONS = {
    "key_file": "HAOKA_NRF_SIM_KEY_FILE",
    "heartbeat": "HAOKA_NRF_SIM_HEARTBEAT",
    "token_ttl": "HAOKA_NRF_SIM_TOKEN_TTL",
    "instance_id": "HAOKA_NRF_INSTANCE_ID",
}
#: The NRF simulator's nfInstanceId unless set.
NRF_SIM_INSTANCE_ID = "6f1e0c7a-8d1b-5b0e-9a52-6e5a6f6b7261"


def web_port(env: dict[str, str] | None = None) -> int:
    """haoka's own port: ``HAOKA_PORT``, else 8000."""
    env = os.environ if env is None else env
    return int(env.get("HAOKA_PORT") or DEFAULT_WEB_PORT)


def default_port(kind: str, *, web_port: int) -> int:
    """The port of simulator ``kind`` beside a haoka on ``web_port`` (8000 -> 8101..8103)."""
    return web_port + SIMULATORS[kind][1]


def sim_urls(*, web_port: int, env: dict[str, str] | None = None) -> dict[str, str]:
    """Where haoka on ``web_port`` finds each simulator: the URL set in its variable
    (``HAOKA_PAYMENT_GATEWAY_URL`` ...), else 127.0.0.1 on its default port."""
    env = os.environ if env is None else env
    return {
        kind: env.get(variable) or f"http://127.0.0.1:{default_port(kind, web_port=web_port)}"
        for kind, (_module, _offset, variable) in SIMULATORS.items()
    }


def listen_port(url: str) -> int:
    """The port a simulator serving ``url`` listens on."""
    split = urlsplit(url)
    return split.port or (443 if split.scheme == "https" else 80)


_FLAGS = (
    "secret", "callback_url", "courier_url", "latency_ms", "failure_rate", "timeout_rate",
    "duplicate_rate", "out_of_order_rate", "reject_rate", "time_scale", "caller_timeout", "seed",
)  # fmt: skip


def add_sim_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--secret``, ``--latency-ms 20,200``, ``--failure-rate`` ... (default: from env)."""
    for name in _FLAGS:
        parser.add_argument("--" + name.replace("_", "-"), dest=name, default=None)


def config_from(
    *, args: argparse.Namespace | None = None, env: dict[str, str] | None = None, **defaults: Any
) -> simkit.SimConfig:
    """A config from ``defaults``, then ``HAOKA_SIM_<NAME>`` variables, then CLI ``args``.

    Raises SimError (400, invalid_config) for an unusable value.
    """
    env = os.environ if env is None else env
    changes: dict[str, Any] = dict(defaults)
    for name in _FLAGS:
        if env.get(f"HAOKA_SIM_{name.upper()}"):
            changes[name] = env[f"HAOKA_SIM_{name.upper()}"]
        if args is not None and getattr(args, name, None) is not None:
            changes[name] = getattr(args, name)
    # The secret is settable here only, never through the unauthenticated /_sim/config.
    config = simkit.SimConfig(secret=str(changes.pop("secret", simkit.DEFAULT_SECRET)))
    config.update(changes)
    return config


def parser() -> argparse.ArgumentParser:
    """The CLI's argument parser (``haoka simulate`` reuses it)."""
    result = argparse.ArgumentParser(prog="haoka simulate", description="运行外部系统模拟器")
    result.add_argument("kind", choices=sorted(SIMULATORS))
    result.add_argument("--host", default="127.0.0.1")
    result.add_argument("--port", type=int, default=None)
    result.add_argument("--log-level", default="warning")
    add_sim_arguments(result)
    for name in NRF_OPTIONS:
        result.add_argument("--" + name.replace("_", "-"), dest=name, default=None)
    return result


def build(kind: str, args: argparse.Namespace | None = None, **overrides):
    """The Starlette app of simulator ``kind``, configured from env, ``args``, ``overrides``.

    Raises KeyError (unknown kind), simkit.SimError (unusable setting).
    """
    module_name, _offset, _variable = SIMULATORS[kind]
    module = importlib.import_module(module_name)
    port = web_port()
    defaults = {
        "courier": {
            "callback_url": f"http://127.0.0.1:{port}/api/v1/callbacks/couriers/simexpress"
        },
        "carrier": {"courier_url": sim_urls(web_port=port)["courier"]},
    }.get(kind, {})
    extra = _nrf_options(args) if kind == "nrf" else {}
    config = config_from(args=args, **{**defaults, **overrides})
    return module.create_app(config, **extra)


def _nrf_options(args: argparse.Namespace | None) -> dict[str, Any]:
    """The NRF simulator's key file, heartbeat and token lifetime: flags, else variables."""
    home = os.environ.get("HAOKA_HOME") or "."
    options: dict[str, Any] = {
        "key_file": os.path.join(home, "nrf-sim-key.pem"),
        "instance_id": NRF_SIM_INSTANCE_ID,
    }
    for name, variable in NRF_OPTIONS.items():
        value = getattr(args, name, None) if args is not None else None
        value = value or os.environ.get(variable)
        if value:
            options[name] = value if name in ("key_file", "instance_id") else int(value)
    return options


def nrf_app():
    """The NRF simulator for granian's worker (configured from the environment)."""
    return build("nrf")


def main(argv: list[str] | None = None) -> int:
    """Run a simulator until interrupted; 2 on a bad setting."""
    import uvicorn  # noqa: PLC0415  (only running a simulator needs the server; build() does not)

    args = parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        app = build(args.kind, args)
    except simkit.SimError as exc:
        print(
            f"错误：参数 {exc.extra.get('field')} 无效：{exc.extra.get('detail')}", file=sys.stderr
        )
        return 2
    port = args.port or default_port(args.kind, web_port=web_port())
    config = app.state.sim.config
    print(
        f"{args.kind} 模拟器 http://{args.host}:{port}/  time_scale={config.time_scale:g} "
        f"failure_rate={config.failure_rate:g} timeout_rate={config.timeout_rate:g}",
        flush=True,
    )
    if args.kind == "nrf":
        return _serve_nrf(args, port)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=args.host,
            port=port,
            log_level=args.log_level,
            lifespan="on",
            timeout_graceful_shutdown=2,  # a request in an injected timeout must not hold us up
        )
    )
    server.run()
    return 0


def _serve_nrf(args: argparse.Namespace, port: int) -> int:
    """Granian, HTTP/1.1 and h2c on one port, one worker (the registry lives in its memory).
    Flags reach the worker process as the variables they stand for."""
    from granian import Granian  # noqa: PLC0415  (only the NRF simulator runs on granian)
    from granian.constants import HTTPModes, Interfaces  # noqa: PLC0415
    from granian.log import LogLevels  # noqa: PLC0415

    for name in _FLAGS:
        if getattr(args, name, None) is not None:
            os.environ[f"HAOKA_SIM_{name.upper()}"] = str(getattr(args, name))
    for name, variable in NRF_OPTIONS.items():
        if getattr(args, name, None) is not None:
            os.environ[variable] = str(getattr(args, name))
    Granian(
        target="haoka.simulate:nrf_app", factory=True, address=args.host, port=port, workers=1,
        interface=Interfaces.ASGI, http=HTTPModes.auto, log_level=LogLevels(args.log_level),
        workers_kill_timeout=2,  # as the other simulators: open connections do not hold it up
    ).serve()  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
