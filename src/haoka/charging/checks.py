"""Django system checks of charging's settings: a deployment that cannot work is refused at
start (``manage.py check``, ``haoka serve``), not found out by a 5G core mid-session."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from haoka.charging import nchf


@checks.register(checks.Tags.compatibility)
def final_unit_action(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """HAOKA_CHF_FINAL_UNIT_ACTION names an action; RESTRICT_ACCESS says what stays open."""
    action = settings.CHF_FINAL_UNIT_ACTION
    if action not in nchf.FINAL_UNIT_ACTIONS:
        return [checks.Error(
            f"HAOKA_CHF_FINAL_UNIT_ACTION={action!r}: 应为 {', '.join(nchf.FINAL_UNIT_ACTIONS)}",
            id="haoka.charging.E001",
        )]  # fmt: skip
    if action == "RESTRICT_ACCESS" and not (
        settings.CHF_RESTRICTION_RULES or settings.CHF_RESTRICTION_FILTER_IDS
    ):
        return [checks.Error(
            "RESTRICT_ACCESS 需要 HAOKA_CHF_RESTRICTION_RULES 或 HAOKA_CHF_RESTRICTION_FILTER_IDS"
            "（否则用户无法访问充值页面）",
            id="haoka.charging.E002",
        )]  # fmt: skip
    return []
