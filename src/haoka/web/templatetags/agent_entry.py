"""The 代理中心 entry on 我的 (where it leads depends on the user's agent record) and the
赞助方中心 entry, for members of an approved sponsor only."""

from django import template
from django.urls import reverse

from haoka.distribution import queries as dist_queries
from haoka.distribution.domain import AgentStatus
from haoka.sponsors import queries as sponsor_queries

register = template.Library()


@register.simple_tag
def agent_entry(user) -> dict:
    """{url, title, hint} for the signed-in user: the console, the application or apply."""
    agent = dist_queries.agent_of(user_id=user.pk) if user.is_authenticated else None
    if agent is None:
        return {
            "url": reverse("web:agent_apply"),
            "title": "申请成为代理",
            "hint": "开店分享号卡，激活即得佣金",
        }
    if agent.status in (AgentStatus.APPROVED, AgentStatus.FROZEN):
        return {
            "url": reverse("web:agent_console"),
            "title": "代理中心",
            "hint": "今日销售、佣金、店铺和团队",
        }
    hint = "审核中，请耐心等待" if agent.status == AgentStatus.PENDING else "未通过，可重新申请"
    return {"url": reverse("web:agent_application"), "title": "我的代理申请", "hint": hint}


@register.simple_tag
def sponsor_entry(user) -> bool:
    """Whether 我的 shows the 赞助方中心 entry: the user acts for an APPROVED sponsor."""
    return (
        user.is_authenticated and sponsor_queries.approved_sponsor_of(user_id=user.pk) is not None
    )
