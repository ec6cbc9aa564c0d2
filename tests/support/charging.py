"""Charging tests: lines made directly (as staff would), an integration token with the
``charging`` scope, and Nchf requests shaped like TS 32.291's examples."""

from __future__ import annotations

import datetime as dt
import itertools
import json

from haoka.accounts import operations as account_ops
from haoka.accounts.models import User
from haoka.charging.models import Bucket
from haoka.core import ledger
from haoka.lines import operations as line_ops
from haoka.lines.models import Line

KB, MB, GB = 1024, 1024**2, 1024**3
BASE = "/nchf-convergedcharging/v3/chargingdata"
_serial = itertools.count(1)


def make_line(*, plan: str, balance_fen: int = 0, now: dt.datetime, carrier: str = "CMCC") -> Line:
    n = next(_serial)
    user = User.objects.create(username=f"138{n:08d}", phone=f"138{n:08d}")
    return line_ops.open_line(
        user_id=user.pk,
        msisdn=f"139{n:08d}",
        carrier_code=carrier,
        plan_code=plan,
        iccid=f"8986000000000{n:07d}",
        imsi=f"46000{n:010d}",
        opening_balance_fen=balance_fen,
        actor="staff:test",
        now=now,
    )


def wallet_fen(line: Line) -> int:
    return -ledger.balance_fen(account=f"liability:wallet:line:{line.pk}")


def left(line: Line, label: str) -> int:
    b = Bucket.objects.get(line=line, label=label)
    return b.amount - b.used - b.reserved


def charging_token(now: dt.datetime) -> str:
    return account_ops.create_api_token(
        name=f"smf-{next(_serial)}", scopes=["charging"], username=None, now=now
    ).token


def request_body(
    line: Line,
    *,
    seq: int,
    units: list[dict],
    at: dt.datetime,
    retransmission: bool = False,
    by: str = "imsi",
) -> dict:
    subscriber = f"imsi-{line.imsi}" if by == "imsi" else f"msisdn-86{line.msisdn}"
    return {
        "subscriberIdentifier": subscriber,
        "nfConsumerIdentification": {"nodeFunctionality": "SMF", "nFName": "smf-sh-01"},
        "invocationTimeStamp": at.isoformat().replace("+00:00", "Z"),
        "invocationSequenceNumber": seq,
        "retransmissionIndicator": retransmission,
        "multipleUnitUsage": units,
    }


def data_unit(rg: int, *, request: int | None = None, used: int | None = None) -> dict:
    unit: dict = {"ratingGroup": rg}
    if request is not None:
        unit["requestedUnit"] = {"totalVolume": request}
    if used is not None:
        unit["usedUnitContainer"] = [
            {"localSequenceNumber": 1, "totalVolume": used, "uplinkVolume": used // 4,
             "downlinkVolume": used - used // 4}
        ]  # fmt: skip
    return unit


def post(client, path: str, body: dict, token: str):
    return client.post(
        path,
        data=json.dumps(body),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
