"""CHF-initiated notifications (TS 32.291 ChargingNotifyRequest): a session refused quota hears
REAUTHORIZATION once a top-up or a pack makes some available, a suspended or closed line's
sessions hear ABORT_CHARGING; each cause notifies once, delivery is retried, and every
notification is what the published schema allows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings

from haoka.catalog.models import Plan
from haoka.charging import closing, notifications, notify, packs, tariffs, topups
from haoka.charging.models import ChargingNotification, ChargingSession
from haoka.lines import operations as line_ops
from haoka.payments import gateway
from tests.support import nchf_spec
from tests.support.charging import (
    BASE,
    MB,
    charging_token,
    data_unit,
    make_line,
    post,
    request_body,
)
from tests.support.h2c_sink import H2cSink
from tests.support.money import FakeGateway, pay

PLAN = "CM-MANGO-39"
VIDEO = 1003


def _check(body: dict) -> None:
    nchf_spec.check(body, "ChargingNotifyRequest")


# ---------------------------------------------------------------- the rules


def test_a_reauthorization_lists_the_waiting_rating_groups_as_the_schema_says():
    body = notify.body(kind=notify.NotifyKind.REAUTHORIZATION, rating_groups=[1003, 100])
    _check(body)
    assert body == {
        "notificationType": "REAUTHORIZATION",
        "reauthorizationDetails": [{"ratingGroup": 100}, {"ratingGroup": 1003}],
    }
    abort = notify.body(kind=notify.NotifyKind.ABORT_CHARGING)
    _check(abort)
    assert abort == {"notificationType": "ABORT_CHARGING"}


def test_only_groups_refused_quota_or_given_their_final_units_wait():
    answer = {
        "multipleUnitInformation": [
            {"ratingGroup": 1, "resultCode": "SUCCESS", "grantedUnit": {"totalVolume": 5}},
            {"ratingGroup": 2, "resultCode": "QUOTA_LIMIT_REACHED"},
            {"ratingGroup": 3, "resultCode": "SUCCESS",
             "finalUnitIndication": {"finalUnitAction": "TERMINATE"}},
            "junk",
        ]
    }  # fmt: skip
    assert notify.waiting_groups(answer) == [2, 3]
    assert notify.waiting_groups(None) == []
    assert notify.waiting_groups({}) == []


def test_retries_back_off_and_stop_growing_at_two_minutes():
    waits = [notify.backoff(attempts=n).total_seconds() for n in range(1, 10)]
    assert waits == [1, 2, 4, 8, 16, 32, 64, 120, 120]


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("http://smf.example:8000/nsmf-callback/v1/notify", True),
        ("https://10.0.0.1/cb", True),
        ("ftp://smf/cb", False),
        ("/relative", False),
        ("http://", False),
        ("http://" + "a" * 500, False),
        (42, False),
    ],
)
def test_a_notify_uri_must_be_an_absolute_http_url(uri, ok):
    assert notify.valid_uri(uri) is ok


# ---------------------------------------------------------------- with the database


@pytest.fixture
def small_plan(catalog):
    """1 MB of data, then ¥0.01 per MB from the wallet."""
    Plan.objects.filter(code=PLAN).update(
        general_data_bytes=1 * MB, payg_data_fen_per_mb=Decimal("1.0000")
    )
    tariffs.forget_cached()


def _blocked_session(client, line, token, now, *, uri: str | None) -> str:
    """A session that used its last grant and was refused more (QUOTA_LIMIT_REACHED)."""
    body = request_body(line, seq=1, units=[data_unit(VIDEO, request=10 * MB)], at=now)
    if uri is not None:
        body["notifyUri"] = uri
    created = post(client, BASE, body, token)
    assert created.status_code == 201, created.content
    ref = created["Location"].rsplit("/", 1)[1]
    used = request_body(line, seq=2, units=[data_unit(VIDEO, request=MB, used=MB)], at=now)
    answer = post(client, f"{BASE}/{ref}/update", used, token).json()
    assert answer["multipleUnitInformation"][0]["resultCode"] == "QUOTA_LIMIT_REACHED"
    return ref


@pytest.mark.django_db
def test_a_top_up_tells_a_blocked_session_once_and_a_session_without_a_uri_not_at_all(
    client, small_plan, commits, now
):
    line = make_line(plan=PLAN, balance_fen=0, now=now)
    token = charging_token(now)
    ref = _blocked_session(client, line, token, now, uri="http://smf.test/cb/1")
    _blocked_session(client, line, token, now, uri=None)
    fake = FakeGateway()
    with gateway.overridden(fake.client()):
        topup = topups.start_topup(line_id=line.pk, amount_fen=2000, method="wechat", now=now)
        pay(fake, topup, at=now, commits=commits)
        topups.payment_received(  # the receiver again: the same credit
            payment_id=topup.payment_id, reference=topup.ref, amount_fen=2000, now=now
        )

    (sent,) = ChargingNotification.objects.all()
    assert (sent.kind, sent.uri, sent.state) == (
        "REAUTHORIZATION",
        "http://smf.test/cb/1",
        "PENDING",
    )
    assert sent.key.startswith(f"reauth:{ref}:credit:")
    assert sent.body == {"notificationType": "REAUTHORIZATION",
                         "reauthorizationDetails": [{"ratingGroup": VIDEO}]}  # fmt: skip


@pytest.mark.django_db
def test_a_pack_bought_while_a_session_waits_tells_it_again(client, small_plan, commits, now):
    line = make_line(plan=PLAN, balance_fen=0, now=now)
    ref = _blocked_session(client, line, charging_token(now), now, uri="http://smf.test/cb/2")
    fake = FakeGateway()
    with gateway.overridden(fake.client()):
        topup = topups.start_topup(line_id=line.pk, amount_fen=5000, method="wechat", now=now)
        pay(fake, topup, at=now, commits=commits)
    data_pack = next(
        o for o in packs.offers(carrier_code="CMCC") if o.data_bytes and o.price_fen <= 5000
    )

    purchase = packs.buy(line_id=line.pk, pack_code=data_pack.code, now=now)

    keys = sorted(ChargingNotification.objects.values_list("key", flat=True))
    assert len(keys) == 2 and keys[1] == f"reauth:{ref}:pack:{purchase.pk}"


@pytest.mark.django_db
def test_suspending_a_line_aborts_its_sessions_and_closing_it_aborts_each_once(
    client, small_plan, now
):
    line = make_line(plan=PLAN, balance_fen=100, now=now)
    token = charging_token(now)
    body = request_body(line, seq=1, units=[data_unit(VIDEO, request=MB)], at=now)
    body["notifyUri"] = "http://smf.test/cb/3"
    ref = post(client, BASE, body, token)["Location"].rsplit("/", 1)[1]

    line_ops.change_status(line_id=line.pk, to="SUSPENDED", suspend_reason="POLICY",
                           actor="staff:test", reason="test", now=now)  # fmt: skip
    closing.release_sessions(line_id=line.pk, now=now)

    (sent,) = ChargingNotification.objects.all()
    assert (sent.key, sent.body) == (f"abort:{ref}", {"notificationType": "ABORT_CHARGING"})


@pytest.mark.django_db
def test_a_create_with_a_notify_uri_that_is_no_url_is_refused(client, catalog, now):
    line = make_line(plan=PLAN, balance_fen=100, now=now)
    body = request_body(line, seq=1, units=[data_unit(VIDEO, request=MB)], at=now)
    body["notifyUri"] = "javascript:alert(1)"
    answer = post(client, BASE, body, charging_token(now))
    assert answer.status_code == 400
    assert answer.json()["cause"] == "INVALID_MSG_FORMAT"


# ---------------------------------------------------------------- delivery over h2c


def _queued(line, *, uri: str, now) -> ChargingNotification:
    session = ChargingSession.objects.create(
        ref=f"s{line.pk}", line=line, caller_token_id=1, create_key=f"k{line.pk}",
        state="OPEN", notify_uri=uri, expires_at=now, created_at=now, updated_at=now,
    )  # fmt: skip
    notifications.abort(session_ids=[session.pk], now=now)
    return ChargingNotification.objects.get()


@pytest.mark.django_db(transaction=True)
def test_the_pump_delivers_over_h2c_retrying_a_failing_consumer_until_it_answers(catalog, now):
    line = make_line(plan=PLAN, now=now)
    with H2cSink() as sink, override_settings(SBI_HTTP1=False):
        notifications.client.cache_clear()
        row = _queued(line, uri=sink.url("/nsmf-callback/notify/1"), now=now)
        sink.statuses.extend([503])

        assert notifications.pump(now=now) == {row.key: "retry"}
        assert notifications.pump(now=now) == {}  # not due before its backoff
        later = now + dt.timedelta(seconds=1)
        assert notifications.pump(now=later) == {row.key: "sent"}

        received = sink.wait_for(2)
    assert [r.path for r in received] == ["/nsmf-callback/notify/1"] * 2
    assert received[0].method == "POST" and received[0].body == row.body
    _check(received[1].body)
    row.refresh_from_db()
    assert (row.state, row.attempts, row.sent_at) == ("SENT", 2, later)


@pytest.mark.django_db(transaction=True)
def test_a_consumer_that_refuses_or_never_answers_is_given_up(catalog, now):
    line = make_line(plan=PLAN, now=now)
    with H2cSink() as sink, override_settings(SBI_HTTP1=False):
        notifications.client.cache_clear()
        row = _queued(line, uri=sink.url(), now=now)
        sink.statuses.extend([404])
        assert notifications.pump(now=now) == {row.key: "failed"}  # its answer: no retry
    row.refresh_from_db()
    assert (row.state, row.last_error) == ("FAILED", "HTTP 404")
    notifications.client.cache_clear()
