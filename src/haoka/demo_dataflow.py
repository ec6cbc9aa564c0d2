"""The demo's 流量控 (``/lines/<msisdn>/data``): every part of the page has something to show.

- 家庭共享: the demo consumer's first line is the main line of a family group; the second
  line joined it (invited with a 2 GB monthly cap, accepted with the code of the sandbox SMS)
  and has drawn the pool in a few online sessions (Nchf create / update / release, in
  process: the pool is drawn on the real charging path).
- 转赠: the first line gave the second some data earlier this month (``gifts.ask`` and
  ``confirm`` with the sandbox code): a DONE gift in the line's history.
- 积分: a conversion rate (``conversions.set_rate``) and a lot of welcome points for the
  consumer (``points_ledger.earn``).
- 积分商城: a data pack and a membership of the catalog and a coupon with a few codes.

Every step finds what an earlier run made and stops there: seeding twice changes nothing."""

from __future__ import annotations

import datetime as dt
import re

from django.db import IntegrityError, transaction

from haoka.accounts import queries as accounts_queries
from haoka.charging import (
    conversions,
    cycle,
    family,
    family_rules,
    gifts,
    nchf,
    online,
    points,
    points_ledger,
    points_shop,
)
from haoka.core import clock
from haoka.lines import queries as lines_queries

#: The demo consumer's lines (see demo.DEMO_LINES): the main line and its family member.
MAIN = "13912345678"
MEMBER = ("18612345678", "460012026112202")
CAP_MB = 2048
#: The member's sessions on the pool: how many, and the bytes each uses.
SESSIONS, SESSION_BYTES = 3, 96 * 1024 * 1024
TENCENT_VIDEO = 1003  # general data on the member's plan (not one of its 定向 apps)
GIFT_MB, GIFT_KEY = 500, "demo-gift-1"
POINTS_PER_GB, WELCOME_POINTS, WELCOME_ORIGIN = 100, 800, "demo:welcome"
COUPON_CODES = ("LKDEMO0001", "LKDEMO0002", "LKDEMO0003", "LKDEMO0004", "LKDEMO0005")
#: The points shop: code, name, kind, price, catalog pack, merchant, description, sort.
SHOP = (
    ("demo-data-5g", "5G 通用流量月包", "PACK", 300, "PK-DATA-5G-M", "", "当月有效", 10),
    ("demo-txv-vip", "腾讯视频 VIP 月卡", "MEMBERSHIP", 600, "PK-MEM-TXV-30D", "",
     "含 20G 腾讯视频定向流量", 20),
    ("demo-coffee", "咖啡 9 折券", "COUPON", 200, "", "瑞幸咖啡（演示）", "全国门店可用", 30),
)  # fmt: skip


def seed(*, user_id: int) -> None:
    """The demo consumer's (``user_id``) family group, gift, points and points shop."""
    now = clock.now()
    month_start, _ = cycle.beijing_month(now)
    # Earlier this month (or just after it began, early on the 1st): the family's start.
    start = min(max(month_start + dt.timedelta(minutes=5), now - dt.timedelta(days=3)), now)
    main = lines_queries.find_line(msisdn=MAIN, user_id=user_id)
    member = lines_queries.find_line(msisdn=MEMBER[0], user_id=user_id)
    if main is None or member is None:
        return
    _shop(now=now)
    _points(user_id=user_id, now=now)
    if _family(main, member, user_id=user_id, at=start):
        _use_pool(start=start, now=now)
    # After the sessions, so that they drew the pool rather than the gift's bucket.
    _gift(main, user_id=user_id, at=start + (now - start) * (SESSIONS + 0.5) / (SESSIONS + 1))
    print(f"流量控：{MAIN} 家庭共享（副卡 {MEMBER[0]}），转赠、积分和积分商城")


def _shop(*, now: dt.datetime) -> None:
    for code, name, kind, price, pack, merchant, text, sort in SHOP:
        item = points_shop.put_on_sale(
            code=code, name=name, kind=kind, price_points=price, pack_code=pack,
            sponsor_name=merchant, description=text, sort=sort,
        )  # fmt: skip
        if kind == "COUPON":
            points_shop.add_codes(item_id=item.pk, codes=COUPON_CODES)


def _points(*, user_id: int, now: dt.datetime) -> None:
    try:
        conversions.rate_at(at=now)
    except points.NoRate:
        conversions.set_rate(points_per_gb=POINTS_PER_GB, valid_from=now, actor="demo", now=now)
    try:
        with transaction.atomic():  # the lot's origin is UNIQUE: a second run adds none
            points_ledger.earn(
                user_id=user_id, points=WELCOME_POINTS, origin=WELCOME_ORIGIN, now=now
            )
    except IntegrityError:
        pass


def _family(main, member, *, user_id: int, at: dt.datetime) -> bool:
    """The group and its member, joined at ``at``; False when an earlier run made them."""
    try:
        family.live_group(main_line_id=main.pk)
        return False
    except family_rules.FamilyNotFound:
        pass
    with clock.frozen(at):
        family.create(line_id=main.pk, user_id=user_id, now=at)
        invited = family.invite(
            line_id=main.pk, user_id=user_id, msisdn=member.msisdn, monthly_cap_mb=CAP_MB,
            client_ip="demo", now=at,
        )  # fmt: skip
        joined = family.accept(
            member_id=invited.pk, line_id=member.pk, user_id=user_id,
            code=_sandbox_code(member.msisdn), now=at,
        )  # fmt: skip
    return joined.state == family_rules.MemberState.ACTIVE


def _sandbox_code(phone: str) -> str:
    """The code of the newest sandbox SMS to ``phone`` (the demo reads its own outbox)."""
    newest = accounts_queries.sandbox_outbox(phone=phone, limit=1)[0]
    return re.search(r"(?<!\d)\d{6}(?!\d)", newest.text).group(0)


def _use_pool(*, start: dt.datetime, now: dt.datetime) -> None:
    """``SESSIONS`` sessions of the member between ``start`` and ``now``: its own plan has no
    data of the month, so they draw the main line's pool."""
    step = (now - start) / (SESSIONS + 1)
    for n in range(1, SESSIONS + 1):
        at = start + step * n
        with clock.frozen(at):
            _session(at, n=n)


def _body(seq: int, *, at: dt.datetime, request: int | None, used: int | None) -> dict:
    unit: dict = {"ratingGroup": TENCENT_VIDEO}
    if request is not None:
        unit["requestedUnit"] = {"totalVolume": request}
    if used is not None:
        unit["usedUnitContainer"] = [{"localSequenceNumber": 1, "totalVolume": used}]
    return {
        "subscriberIdentifier": f"imsi-{MEMBER[1]}",
        "nfConsumerIdentification": {"nodeFunctionality": "SMF", "nFName": "smf-demo"},
        "invocationTimeStamp": at.isoformat().replace("+00:00", "Z"),
        "invocationSequenceNumber": seq,
        "multipleUnitUsage": [unit],
    }


def _session(at: dt.datetime, *, n: int) -> None:
    """Open with a request, release with what was used (the in-process SMF: token 0)."""
    opened = online.create(
        token_id=0, request=nchf.parse(_body(0, at=at, request=SESSION_BYTES, used=None)), now=at
    )
    body = _body(1, at=at, request=None, used=SESSION_BYTES - n * 1024 * 1024)
    online.release(
        ref=opened.ref, token_id=0, request=nchf.parse(body, operation="release"), now=at
    )


def _gift(main, *, user_id: int, at: dt.datetime) -> None:
    """The main line's gift to the member line, asked and confirmed with the SMS code."""
    with clock.frozen(at):
        asked = gifts.ask(
            line_id=main.pk, user_id=user_id, to_msisdn=MEMBER[0], megabytes=GIFT_MB,
            client_ip="demo", now=at, request_key=GIFT_KEY,
        )  # fmt: skip
        if asked.state != "CODE_SENT":
            return
        gifts.confirm(
            gift_id=asked.pk, line_id=main.pk, user_id=user_id,
            code=_sandbox_code(main.msisdn), now=at,
        )  # fmt: skip
