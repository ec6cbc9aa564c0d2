"""The ``haoka`` command. Every subcommand works on the database ``DATABASE_URL`` names
(default: ./haoka.sqlite3)."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys

import django
from django.core.management import execute_from_command_line
from granian import Granian
from granian.constants import HTTPModes, Interfaces

from haoka import simulate
from haoka.core import clock
from haoka.core.errors import HaokaError

# The subcommands import the domains inside their function, after ``_setup()``: a model
# module cannot be imported before Django's apps are loaded.


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haoka.settings")
    django.setup()


def _fail(message: str) -> int:
    print(f"错误：{message}", file=sys.stderr)
    return 2


def cmd_serve(args) -> int:
    """Granian (HTTP parsed in Rust) over the WSGI app, by default: one port speaks HTTP/1.1
    and HTTP/2 cleartext with prior knowledge (h2c), which the SBI needs (an SMF's Nchf
    client speaks only h2c); for online charging, whose requests are small and many, it
    spends about a fifth less CPU per request than gunicorn. ``--server gunicorn`` (threaded
    workers, HTTP/1.1 only) stays for comparison. With ``HAOKA_NRF_URL`` set this process
    also registers the CHF with the NRF, heartbeats and deregisters on the way out
    (``haoka.charging.nrf``; docs/design.md "One production path")."""
    _setup()
    from haoka.charging import nrf  # noqa: PLC0415  (needs the apps loaded: after _setup())

    port = int(args.port or os.environ.get("HAOKA_PORT", "8000"))
    registrar = _start_registrar(nrf)
    try:
        if args.server == "gunicorn":
            _serve_gunicorn(args, port)
        else:
            Granian(
                target="haoka.wsgi:application", address=args.host, port=port,
                interface=Interfaces.WSGI, http=HTTPModes.auto, workers=args.workers,
                blocking_threads=args.threads, log_access=not args.quiet,
                workers_kill_timeout=5,  # as gunicorn's graceful timeout: idle h2 connections
            ).serve()  # fmt: skip
    finally:
        if registrar is not None:
            registrar[1].set()  # deregister, then end
            registrar[0].join(timeout=nrf.TIMEOUT + 2)
    return 0


def _start_registrar(nrf):
    """The NRF registration's process and its stop event, or None without an NRF. Spawned,
    never forked, and started before the server forks its workers (``nrf.run_beside_server``)."""
    from django.conf import settings  # noqa: PLC0415  (after _setup())

    if not settings.NRF_URL:
        return None
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    process = context.Process(
        target=nrf.run_beside_server, args=(stop, os.getpid()), name="nrf-registration",
        daemon=True,
    )  # fmt: skip
    process.start()
    return process, stop


def _serve_gunicorn(args, port: int) -> None:
    from gunicorn.app.base import BaseApplication  # noqa: PLC0415  (only this server needs it)

    from haoka.wsgi import application  # noqa: PLC0415  (needs the apps loaded: after _setup())

    class Server(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"{args.host}:{port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", args.threads)
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 5)
            self.cfg.set("accesslog", None if args.quiet else "-")
            # One shared control socket (~/.gunicorn) would make concurrent instances (tests,
            # several deployments on a host) step on each other; haoka does not use it.
            self.cfg.set("control_socket_disable", True)

        def load(self):
            return application

    Server().run()


def cmd_worker(args) -> int:
    _setup()
    from haoka.core import worker  # noqa: PLC0415  (needs the apps loaded: after _setup())

    return worker.run(queues=args.queue, interval=args.interval)


def cmd_demo(args) -> int:
    _setup()
    from haoka import demo  # noqa: PLC0415  (needs the apps loaded: after _setup())

    return demo.run(
        port=int(args.port or os.environ.get("HAOKA_PORT", "8000")),
        seed_numbers=args.numbers,
        setup_only=args.setup_only,
    )


def cmd_seed(args) -> int:
    _setup()
    from haoka import demo  # noqa: PLC0415  (needs the apps loaded: after _setup())

    demo.seed(numbers_per_carrier=args.numbers)
    return 0


def cmd_numbers_import(args) -> int:
    _setup()
    from haoka.numbers import importer  # noqa: PLC0415  (needs the apps loaded: after _setup())

    return importer.cli_import(path=args.file)


def cmd_numbers_generate(args) -> int:
    _setup()
    from haoka.numbers import importer  # noqa: PLC0415  (needs the apps loaded: after _setup())

    return importer.cli_generate(
        carrier=args.carrier, count=args.count, seed=args.seed, output=args.output
    )


def cmd_usage_import(args) -> int:
    _setup()
    from haoka.charging import usage_cli  # noqa: PLC0415  (needs the apps loaded: after _setup())

    return usage_cli.cli_import(path=args.file, rejects=args.rejects)


def cmd_usage_rerate(args) -> int:
    _setup()
    from haoka.charging import usage_cli  # noqa: PLC0415  (needs the apps loaded: after _setup())

    return usage_cli.cli_rerate(start=args.start, end=args.end)


def cmd_tokens_create(args) -> int:
    _setup()
    from haoka.accounts import operations  # noqa: PLC0415  (needs the apps loaded: after _setup())

    try:
        issued = operations.create_api_token(
            name=args.name, scopes=args.scope, username=args.user, now=clock.now()
        )
    except HaokaError as exc:
        return _fail(f"{exc.message} {exc.details or ''}")
    print(issued.token)
    print("（令牌只显示这一次，请妥善保存）", file=sys.stderr)
    return 0


def cmd_audit_verify(args) -> int:
    _setup()
    from haoka.core import audit  # noqa: PLC0415  (needs the apps loaded: after _setup())

    report = audit.verify()
    if report.ok:
        print(f"审计链完整：{report.checked} 条记录")
        return 0
    for problem in report.problems:
        print(problem, file=sys.stderr)
    print(
        f"审计链异常：{len(report.problems)} 处问题（共检查 {report.checked} 条）", file=sys.stderr
    )
    return 1


def cmd_simulate(args) -> int:
    return int(simulate.main([args.system, *args.rest]) or 0)


def cmd_manage(args) -> int:
    _setup()
    execute_from_command_line(["haoka", *args.rest])
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="haoka", description="号卡平台命令行")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="运行 Web 与 API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port")
    p.add_argument("--workers", type=int, default=2, help="进程数")
    p.add_argument("--threads", type=int, default=8, help="每个进程的线程数")
    p.add_argument(
        "--server",
        choices=["granian", "gunicorn"],
        default="granian",
        help="HTTP 服务器（granian：HTTP/1.1 与 h2c；gunicorn：仅 HTTP/1.1）",
    )
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("worker", help="运行后台任务与定时任务")
    p.add_argument("--queue", action="append", default=None)
    p.add_argument("--interval", type=float, default=1.0)
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("demo", help="迁移、写入演示数据并运行全部进程")
    p.add_argument("--port")
    p.add_argument("--numbers", type=int, default=20000, help="每个运营商生成的演示号码数")
    p.add_argument("--setup-only", action="store_true", help="只迁移和写入演示数据")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("seed", help="写入演示数据（可重复执行）")
    p.add_argument("--numbers", type=int, default=20000)
    p.set_defaults(func=cmd_seed)

    numbers = sub.add_parser("numbers", help="号码池").add_subparsers(
        dest="numbers_command", required=True
    )
    p = numbers.add_parser("import", help="从 CSV 导入号码")
    p.add_argument("file")
    p.set_defaults(func=cmd_numbers_import)
    p = numbers.add_parser("generate", help="生成号码并导入（或写入 CSV）")
    p.add_argument("--carrier", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--output", help="写入 CSV 文件而不导入")
    p.set_defaults(func=cmd_numbers_generate)

    usage = sub.add_parser("usage", help="话单（离线用量）").add_subparsers(
        dest="usage_command", required=True
    )
    p = usage.add_parser("import", help="从 CSV 导入话单并计费")
    p.add_argument("file")
    p.add_argument("--rejects", help="把被拒绝的话单及原因写入此 CSV")
    p.set_defaults(func=cmd_usage_import)
    p = usage.add_parser("rerate", help="按时间段重新计费")
    p.add_argument("--from", dest="start", required=True, help="开始时间（含），ISO 8601 带时区")
    p.add_argument("--to", dest="end", required=True, help="结束时间（不含）")
    p.set_defaults(func=cmd_usage_rerate)

    tokens = sub.add_parser("tokens", help="接口令牌").add_subparsers(
        dest="tokens_command", required=True
    )
    p = tokens.add_parser("create", help="创建接口令牌（只显示一次）")
    p.add_argument("--name", required=True)
    p.add_argument("--scope", action="append", required=True)
    p.add_argument("--user", help="令牌所属用户名（默认新建服务用户）")
    p.set_defaults(func=cmd_tokens_create)

    audit = sub.add_parser("audit", help="审计日志").add_subparsers(
        dest="audit_command", required=True
    )
    p = audit.add_parser("verify", help="校验审计链")
    p.set_defaults(func=cmd_audit_verify)

    p = sub.add_parser("simulate", help="运行外部系统模拟器（支付、运营商、快递、NRF）")
    p.add_argument("system", choices=["payment", "carrier", "courier", "nrf"])
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("manage", help="Django 管理命令（migrate、createsuperuser 等）")
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_manage)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
