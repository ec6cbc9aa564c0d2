"""The staff console's landing page: Django admin's index with, at the top, the queues that
wait for staff (KYC reviews, withdrawals, fraud flags, refunds nobody could take back) and
how many items each holds, each linking to its filtered list."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.urls import reverse

from haoka.distribution import queries as distribution_queries
from haoka.kyc import queries as kyc_queries
from haoka.lines import queries as lines_queries
from haoka.payments import queries as payments_queries


@dataclass(frozen=True)
class Queue:
    title: str
    count: int
    url: str


def _url(changelist: str, **filters: str) -> str:
    query = "&".join(f"{key}={value}" for key, value in filters.items())
    return f"{reverse(f'admin:{changelist}_changelist')}?{query}"


def queues(user) -> list[Queue]:
    """The queues ``user`` may see (view permission on the model), with their counts."""
    found: list[Queue] = []

    def add(perm: str, title: str, count, url: str) -> None:
        if user.has_perm(perm):
            found.append(Queue(title=title, count=count(), url=url))

    distribution = {}

    def dist(key: str):
        def count() -> int:
            if not distribution:
                distribution.update(distribution_queries.staff_queues())
            return distribution[key]

        return count

    add(
        "kyc.view_kycrecord",
        "KYC 待人工审核",
        kyc_queries.review_queue_count,
        _url("kyc_kycrecord", status__exact="FLAGGED"),
    )
    add(
        "distribution.view_withdrawal",
        "提现待审核",
        dist("withdrawals_requested"),
        _url("distribution_withdrawal", status__exact="REQUESTED"),
    )
    add(
        "distribution.view_withdrawal",
        "提现打款中",
        dist("withdrawals_paying"),
        _url("distribution_withdrawal", status__exact="PAYING"),
    )
    add(
        "distribution.view_fraudflag",
        "风控待处理",
        dist("fraud_open"),
        _url("distribution_fraudflag", status__exact="OPEN"),
    )
    add(
        "payments.view_unmatchedrefund",
        "未匹配退款",
        payments_queries.open_unmatched_refunds,
        _url("payments_unmatchedrefund", state__exact="OPEN"),
    )
    add(
        "distribution.view_agent",
        "代理申请待审核",
        dist("agents_pending"),
        _url("distribution_agent", status__exact="PENDING"),
    )
    add(
        "lines.view_lineclosure",
        "销户待人工退款",
        lines_queries.manual_closure_refunds,
        _url("lines_lineclosure", state__exact="MANUAL"),
    )
    return found


def _index(request):
    return admin.site.index(request, extra_context={"queues": queues(request.user)})


#: The view served at ``/admin/`` in place of the admin's own index (same login rules).
index = admin.site.admin_view(_index)
INDEX_TEMPLATE = "admin/staff_index.html"
