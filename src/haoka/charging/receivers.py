"""Charging listens to lines: a new line is provisioned (charging account, month's allowances)
in the same transaction that opens it."""

from __future__ import annotations

from haoka.lines.signals import line_opened


def _on_line_opened(sender, *, line_id, plan_code, now, **kwargs) -> None:
    from haoka.charging import operations

    operations.provision_line(line_id=line_id, plan_code=plan_code, now=now)


def connect() -> None:
    line_opened.connect(_on_line_opened, dispatch_uid="charging.line_opened")
