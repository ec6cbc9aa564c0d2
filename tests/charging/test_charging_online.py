"""Online charging over HTTP (Nchf_ConvergedCharging v3): grants are reservations, used units
are committed and the rest released, retransmissions change nothing, and callers are checked."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.conf import settings

from haoka.accounts import operations as account_ops
from haoka.accounts.models import User
from haoka.catalog.models import Plan
from haoka.charging import nchf_api, online, tariffs
from haoka.charging.models import Bucket, ChargingAccount, UsageRecord
from haoka.core import ledger
from tests.support.charging import (
    BASE,
    KB,
    MB,
    charging_token,
    data_unit,
    left,
    make_line,
    post,
    request_body,
    wallet_fen,
)

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"  # 40 GB general data, 芒果TV (rating group 1011) zero-rated
MANGO_TV, VIDEO = 1011, 1003


@pytest.fixture
def token(catalog, now):
    return charging_token(now)


@pytest.fixture
def small_plan(catalog):
    """CM-MANGO-39 with only 1 MB of data, ¥0.01 per MB after it (1 fen per MB)."""
    Plan.objects.filter(code=PLAN).update(
        general_data_bytes=1 * MB, payg_data_fen_per_mb=Decimal("1.0000")
    )
    tariffs.forget_cached()


def _open(client, line, token, now, *, request: int, rg: int = VIDEO, seq: int = 0):
    body = request_body(line, seq=seq, units=[data_unit(rg, request=request)], at=now)
    return post(client, BASE, body, token)


def _ref(response) -> str:
    return response["Location"].rsplit("/", 1)[1]


def test_a_session_reserves_commits_what_was_used_and_releases_the_rest(client, token, now):
    line = make_line(plan=PLAN, now=now)
    created = _open(client, line, token, now, request=5 * MB)
    assert created.status_code == 201, created.content
    assert created["Location"].startswith(settings.PUBLIC_BASE_URL + BASE + "/")
    info = created.json()["multipleUnitInformation"][0]
    assert info["resultCode"] == "SUCCESS" and info["grantedUnit"] == {"totalVolume": 5 * MB}
    assert info["validityTime"] == 3600 and info["volumeQuotaThreshold"] == MB
    assert left(line, "套餐通用流量") == 40 * 1024 * MB - 5 * MB  # held, not yet spent
    ref = _ref(created)
    body = request_body(line, seq=1, units=[data_unit(VIDEO, request=5 * MB, used=3 * MB)], at=now)
    updated = post(client, f"{BASE}/{ref}/update", body, token)
    assert updated.status_code == 200, updated.content
    bucket = Bucket.objects.get(line=line, label="套餐通用流量")
    assert (bucket.used, bucket.reserved) == (3 * MB, 5 * MB)
    body = request_body(line, seq=2, units=[data_unit(VIDEO, used=1500)], at=now)
    released = post(client, f"{BASE}/{ref}/release", body, token)
    assert released.status_code == 204 and released.content == b""
    bucket.refresh_from_db()
    assert (bucket.used, bucket.reserved) == (3 * MB + 2048, 0)  # per started KB
    records = UsageRecord.objects.filter(line=line).order_by("id")
    assert [r.rated_amount for r in records] == [3 * MB, 2048]
    assert ledger.trial_balance_fen() == 0


def test_a_retransmitted_request_gets_the_first_answer_and_changes_nothing(client, token, now):
    line = make_line(plan=PLAN, now=now)
    first = _open(client, line, token, now, request=2 * MB)
    again = post(
        client,
        BASE,
        request_body(line, seq=0, units=[data_unit(VIDEO, request=2 * MB)], at=now,
                     retransmission=True),
        token,
    )  # fmt: skip
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Location"] == first["Location"]
    ref = _ref(first)
    body = request_body(line, seq=1, units=[data_unit(VIDEO, request=2 * MB, used=MB)], at=now)
    one = post(client, f"{BASE}/{ref}/update", body, token)
    two = post(client, f"{BASE}/{ref}/update", {**body, "retransmissionIndicator": True}, token)
    assert one.json() == two.json()
    bucket = Bucket.objects.get(line=line, label="套餐通用流量")
    assert (bucket.used, bucket.reserved) == (MB, 2 * MB)
    assert UsageRecord.objects.filter(line=line).count() == 1


def test_zero_rated_traffic_is_granted_without_drawing_anything(client, token, now):
    line = make_line(plan=PLAN, now=now)
    created = _open(client, line, token, now, request=50 * MB, rg=MANGO_TV)
    ref = _ref(created)
    body = request_body(line, seq=1, units=[data_unit(MANGO_TV, used=50 * MB)], at=now)
    assert post(client, f"{BASE}/{ref}/release", body, token).status_code == 204
    assert left(line, "套餐通用流量") == 40 * 1024 * MB
    record = UsageRecord.objects.get(line=line)
    assert (record.free_amount, record.wallet_fen) == (50 * MB, 0)


def test_the_wallet_pays_after_the_allowance_and_the_last_grant_redirects_to_top_up(
    client, small_plan, token, now
):
    line = make_line(plan=PLAN, balance_fen=3, now=now)  # ¥0.03: 3 MB at 1 fen/MB
    created = _open(client, line, token, now, request=10 * MB)
    info = created.json()["multipleUnitInformation"][0]
    # 1 MB allowance, then what 3 fen buy at 1 fen/MB: 4095 KB (3.999 fen, debited 3 and the
    # 0.999 carried, since whole fen are debited as they add up).
    assert info["grantedUnit"] == {"totalVolume": 1 * MB + 4095 * KB}
    fui = info["finalUnitIndication"]
    assert fui["finalUnitAction"] == "REDIRECT"
    assert fui["redirectServer"]["redirectServerAddress"].endswith(f"/lines/{line.msisdn}/topup")
    assert ChargingAccount.objects.get(line=line).reserved_fen == 3
    ref = _ref(created)
    body = request_body(line, seq=1, units=[data_unit(VIDEO, request=MB, used=4 * MB)], at=now)
    answer = post(client, f"{BASE}/{ref}/update", body, token).json()
    assert wallet_fen(line) == 0
    assert answer["multipleUnitInformation"][0]["resultCode"] == "QUOTA_LIMIT_REACHED"
    assert answer["multipleUnitInformation"][0]["grantedUnit"] == {"totalVolume": 0}
    assert ledger.balance_fen(account="revenue:usage") == -3
    assert ledger.trial_balance_fen() == 0


def test_a_suspended_line_is_denied_service(client, token, now):
    line = make_line(plan=PLAN, now=now)
    type(line).objects.filter(pk=line.pk).update(status="SUSPENDED", suspend_reason="ARREARS")
    info = _open(client, line, token, now, request=MB).json()["multipleUnitInformation"][0]
    assert info["resultCode"] == "END_USER_SERVICE_DENIED" and "grantedUnit" not in info


def test_sessions_left_open_past_their_holding_time_are_swept(client, token, now):
    line = make_line(plan=PLAN, now=now)
    _open(client, line, token, now, request=8 * MB)
    assert online.expire_sessions(now=now + dt.timedelta(minutes=30)) == 0
    assert online.expire_sessions(now=now + online.HOLDING) == 1
    bucket = Bucket.objects.get(line=line, label="套餐通用流量")
    assert (bucket.used, bucket.reserved) == (0, 0)


def test_a_reused_sequence_number_with_new_content_is_charged_not_taken_for_a_retransmission(
    client, token, now
):
    line = make_line(plan=PLAN, now=now)
    ref = _ref(_open(client, line, token, now, request=MB, seq=5))
    for n, used in enumerate((10 * KB, 20 * KB, 30 * KB)):  # seq 5, then 3: numbers reused
        at = now + dt.timedelta(seconds=n + 1)
        body = request_body(line, seq=5 - n, units=[data_unit(VIDEO, request=MB, used=used)],
                            at=at)  # fmt: skip
        answer = post(client, f"{BASE}/{ref}/update", body, token)
        assert answer.status_code == 200, answer.content
    assert [r.rated_amount for r in UsageRecord.objects.filter(line=line).order_by("id")] == [
        10 * KB, 20 * KB, 30 * KB,
    ]  # fmt: skip
    bucket = Bucket.objects.get(line=line, label="套餐通用流量")
    assert (bucket.used, bucket.reserved) == (60 * KB, MB)


def test_unknown_subscribers_bad_bodies_and_wrong_callers_get_problem_details(client, token, now):
    line = make_line(plan=PLAN, now=now)
    body = request_body(line, seq=0, units=[data_unit(VIDEO, request=MB)], at=now)
    unknown = post(client, BASE, {**body, "subscriberIdentifier": "imsi-460009999999999"}, token)
    assert unknown.status_code == 404 and unknown.json()["cause"] == "USER_UNKNOWN"
    assert unknown["Content-Type"] == "application/problem+json"
    bad = post(client, BASE, {**body, "invocationSequenceNumber": -1}, token)
    assert bad.status_code == 400 and bad.json()["cause"] == "INVALID_MSG_FORMAT"
    assert bad.json()["invalidParams"][0]["param"] == "/invocationSequenceNumber"
    garbage = client.post(
        BASE, data=b"{not json", content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert garbage.status_code == 400
    assert client.post(BASE, data=body, content_type="application/json").status_code == 401
    other = charging_token(now)
    ref = _ref(post(client, BASE, body, token))
    stolen = post(client, f"{BASE}/{ref}/update", {**body, "invocationSequenceNumber": 1}, other)
    assert stolen.status_code == 404  # another caller's session does not exist for it
    assert Bucket.objects.get(line=line, label="套餐通用流量").reserved == MB


def test_a_consumer_session_token_cannot_charge(client, catalog, now):
    line = make_line(plan=PLAN, now=now)
    user = User.objects.get(pk=line.user_id)
    consumer = account_ops._issue_session(user=user, now=now).token
    body = request_body(line, seq=0, units=[data_unit(VIDEO, request=MB)], at=now)
    denied = post(client, BASE, body, consumer)
    assert denied.status_code == 403 and denied.json()["cause"] == "FORBIDDEN"


def test_an_unknown_or_revoked_token_cannot_charge_through_the_framework_free_handler(catalog, now):
    line = make_line(plan=PLAN, now=now)

    def charge(token: str):
        body = request_body(line, seq=0, units=[data_unit(VIDEO, request=MB)], at=now)
        return nchf_api.handle(
            method="POST", path=BASE, authorization=f"Bearer {token}",
            body=json.dumps(body).encode(), base_url="http://haoka.test",
        )  # fmt: skip

    unknown = charge("hk_not-a-token")
    assert unknown.status == 401 and unknown.body["cause"] == "UNAUTHORIZED"
    token = charging_token(now)
    assert charge(token).status == 201
    account_ops.revoke_token(token=token, now=now)
    revoked = charge(token)  # at once: no time-to-live keeps it charging
    assert revoked.status == 401 and revoked.body["cause"] == "UNAUTHORIZED"
