"""``haoka simulate payment|carrier|courier``: run one outside-system simulator under uvicorn.

    haoka simulate carrier --port 8102 --time-scale 3600 --failure-rate 0.1 --seed 7
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

from haoka import simkit

DEMO_TIME_SCALE = 3600.0
SIMULATORS = {
    "payment": ("haoka.payments.simulator", 8101),
    "carrier": ("haoka.carriers.simulator", 8102),
    "courier": ("haoka.logistics.simulator", 8103),
}

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
    return result


def build(kind: str, args: argparse.Namespace | None = None, **overrides):
    """The Starlette app of simulator ``kind``, configured from env, ``args``, ``overrides``.

    Raises KeyError (unknown kind), simkit.SimError (unusable setting).
    """
    module_name, _port = SIMULATORS[kind]
    module = importlib.import_module(module_name)
    defaults = {"callback_url": module.DEFAULT_CALLBACK_URL} if kind == "courier" else {}
    config = config_from(args=args, **defaults, **overrides)
    return module.create_app(config)


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
    port = args.port or SIMULATORS[args.kind][1]
    config = app.state.sim.config
    print(
        f"{args.kind} 模拟器 http://{args.host}:{port}/  time_scale={config.time_scale:g} "
        f"failure_rate={config.failure_rate:g} timeout_rate={config.timeout_rate:g}",
        flush=True,
    )
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


if __name__ == "__main__":
    sys.exit(main())
