"""The demo's sponsor (后向流量客户): an approved sponsor whose member signs in with
``DEMO_SPONSOR``, a wallet funded through the payment gateway, and a 定向免流 campaign for
抖音 that the demo consumer's first line has used over the last days: real online sessions
(Nchf create / update / release, in process), so the budget slices, the SPONSOR buckets and
their settlement exist, and the sponsor console and the line's 赞助流量 card show data at once;
and a CAMARA campaign with a session the consumer's second line is using.

Seeding meets the payment gateway in process (the ``outside`` the demo's seeding uses), as
the line top-ups of the demo do. Idempotent: a second run finds the sponsor and stops."""

from __future__ import annotations

import datetime as dt
import uuid

from haoka.accounts import operations as accounts_ops
from haoka.accounts import queries as accounts_queries
from haoka.charging import nchf, online, sponsored
from haoka.core import clock
from haoka.payments import gateway as pay_gateway
from haoka.sponsors import camara, camara_domain, campaigns, domain, operations, wallet
from haoka.sponsors import queries as sponsor_queries

#: The demo sponsor's member signs in with this phone (the code is in the sandbox SMS).
DEMO_SPONSOR = "13600136000"
COMPANY = "晓视短视频科技有限公司（演示）"
#: The demo consumer's line that watches 抖音 on the sponsor (CMCC, see demo.DEMO_LINES).
LINE = ("13912345678", "460002026112201")
DOUYIN = 1006
#: The consumer's second line (CUCC), whose traffic a CAMARA session of the sponsor pays.
CAMARA_LINE = ("18612345678", "460012026112202")
GENERAL = 100  # a rating group of general traffic
CAMARA_BUDGET_FEN = 500_00
TOPUP_FEN = 5_000_00
BUDGET_FEN = 2_000_00
#: Days of sponsored use before now, and what a day's session uses (grants of this size).
DAYS, GRANT, GRANTS_A_DAY = 6, 64 * 1024 * 1024, 2


def _uscc() -> str:
    body = "36013600"  # a made-up organization code; its check characters computed
    first17 = "91110108" + body + domain.organization_check(body)
    return first17 + domain.uscc_check(first17)


def seed(*, outside) -> None:
    """The demo sponsor, its wallet, its 抖音 campaign and the line's sponsored usage.
    ``outside``: the in-process payment gateway of the demo's seeding (``create_payment``,
    ``pay``, ``last``)."""
    user = accounts_queries.user_by_phone(phone=DEMO_SPONSOR)
    if user is not None and sponsor_queries.sponsor_of_member(user_id=user.pk) is not None:
        return
    now = clock.now()
    start = now - dt.timedelta(days=DAYS + 1)
    user = accounts_ops.register_consumer(phone=DEMO_SPONSOR)
    with clock.frozen(start):
        applied = operations.apply(
            user_id=user.pk, company_name=COMPANY, uscc=_uscc(), kind="APP",
            contact_name="王晓雨", contact_phone=DEMO_SPONSOR, now=start,
        )  # fmt: skip
        sponsor = operations.decide(
            sponsor_id=applied.sponsor_id, approve=True, actor="demo", reason="演示数据", now=start
        )
        with pay_gateway.overridden(outside):
            wallet.start_topup(
                sponsor=sponsor, user_id=user.pk, amount_fen=TOPUP_FEN, method="wechat", now=start
            )
        outside.pay(outside.last, at=start + dt.timedelta(seconds=30))
    at = start + dt.timedelta(minutes=5)
    with clock.frozen(at):
        campaigns.create(
            sponsor=sponsor, actor="demo", kind="APP_FREE_FLOW", name="抖音看视频免流量",
            budget_fen=BUDGET_FEN, valid_from=at, valid_to=at + dt.timedelta(days=365),
            rating_groups=[DOUYIN], per_line_cap_mb=1024, price_fen_per_gb=500,
            eligibility={"all": True}, now=at,
        )  # fmt: skip
    sponsored.forget_cached()
    _watch(start=start, now=now)
    _camara(sponsor, now=now)
    print(f"赞助方：{COMPANY}（{sponsor.sponsor_id}），抖音定向免流活动和 CAMARA 赞助会话")


def _camara(sponsor, *, now: dt.datetime) -> None:
    """A CAMARA campaign, and a session the sponsor's app started two hours ago for the
    consumer's second line through the CAMARA API's use case (500 MB of any traffic for a
    day), 128 MB of it used since over Nchf. Its webhook is the sponsor's own site."""
    at = now - dt.timedelta(hours=2)
    with clock.frozen(at):
        campaign = campaigns.create(
            sponsor=sponsor, actor="demo", kind="CAMARA_SESSION", name="看视频送流量（CAMARA）",
            budget_fen=CAMARA_BUDGET_FEN, valid_from=at - dt.timedelta(minutes=1),
            valid_to=at + dt.timedelta(days=365), rating_groups=[], per_line_cap_mb=1024,
            price_fen_per_gb=500, eligibility={"all": True}, now=at,
        )  # fmt: skip
        body = {
            "sponsorId": camara_domain.camara_sponsor_id(sponsor.sponsor_id),
            "campaignId": camara_domain.camara_campaign_id(campaign.campaign_id),
            "phoneNumber": camara_domain.phone_of(CAMARA_LINE[0]), "dataVolume": 500,
            "duration": 1440, "webhookUrl": "https://webhook.example.com/haoka/camara",
            "callbackToken": str(uuid.uuid4()),
        }  # fmt: skip
        camara.start(sponsor=sponsor, body=body, correlator=str(uuid.uuid4()), now=at)
    used = at + dt.timedelta(minutes=30)
    with clock.frozen(used):
        _session(used, n=0, line=CAMARA_LINE, rating_group=GENERAL, grants=2)


def _watch(*, start: dt.datetime, now: dt.datetime) -> None:
    """One evening session of 抖音 a day on the line, each settled by the worker's run that
    night (slices used up or ended are charged to the sponsor)."""
    day = start.replace(hour=12, minute=0, second=0, microsecond=0)  # 20:00 Beijing
    n = 0
    while (day := day + dt.timedelta(days=1)) < now:
        n += 1
        with clock.frozen(day):
            _session(day, n=n)
        night = day + dt.timedelta(hours=4)
        with clock.frozen(min(night, now)):
            sponsored.settle(now=min(night, now))


def _body(
    seq: int, *, at: dt.datetime, request: int | None, used: int | None, imsi: str = LINE[1],
    rating_group: int = DOUYIN,
) -> dict:  # fmt: skip
    unit: dict = {"ratingGroup": rating_group}
    if request is not None:
        unit["requestedUnit"] = {"totalVolume": request}
    if used is not None:
        unit["usedUnitContainer"] = [{"localSequenceNumber": 1, "totalVolume": used}]
    return {
        "subscriberIdentifier": f"imsi-{imsi}",
        "nfConsumerIdentification": {"nodeFunctionality": "SMF", "nFName": "smf-demo"},
        "invocationTimeStamp": at.isoformat().replace("+00:00", "Z"),
        "invocationSequenceNumber": seq,
        "multipleUnitUsage": [unit],
    }


def _session(
    at: dt.datetime, *, n: int, line: tuple[str, str] = LINE, rating_group: int = DOUYIN,
    grants: int | None = None,
) -> None:  # fmt: skip
    """Open, use ``GRANTS_A_DAY`` grants (or ``grants``) and release, as an SMF would. The
    demo's SMF runs in process: it has no API token (caller token 0)."""
    grants = grants or GRANTS_A_DAY + n % 2
    unit = {"imsi": line[1], "rating_group": rating_group}
    opened = online.create(
        token_id=0, request=nchf.parse(_body(0, at=at, request=GRANT, used=None, **unit)),
        now=at,
    )  # fmt: skip
    for seq in range(1, grants):
        body = _body(seq, at=at, request=GRANT, used=GRANT, **unit)
        online.update(
            ref=opened.ref, token_id=0, request=nchf.parse(body, operation="update"), now=at
        )
    body = _body(grants, at=at, request=None, used=GRANT, **unit)
    online.release(
        ref=opened.ref, token_id=0, request=nchf.parse(body, operation="release"), now=at
    )
