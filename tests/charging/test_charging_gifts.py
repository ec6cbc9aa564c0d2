"""Gifts of data (流量转赠) over the API: a code to the giving line's own number, then the
bytes move from the giver's transferable buckets to a GIFT bucket of the receiver valid to
the end of the Beijing month; rules with stable codes; idempotent; reversible by staff."""

from __future__ import annotations

import pytest

from haoka.accounts.models import SandboxSms, User
from haoka.charging import cycles, gifts
from haoka.charging.models import Bucket, DataGift, DataMovement
from haoka.core import clock, ledger
from haoka.lines.models import Line
from haoka.notices.models import Notification
from tests.support.charging import BASE, GB, MB, charging_token, data_unit, make_line, post
from tests.support.charging import request_body as nchf_body
from tests.support.money import beijing, call, session_token, staff_token, use_data
from tests.support.web import latest_otp

pytestmark = pytest.mark.django_db
PLAN = "CM-MANGO-39"  # 40 GB of general data a month
MONTH_END = beijing(2026, 6, 1)


@pytest.fixture
def pair(catalog, now):
    giver = make_line(plan=PLAN, balance_fen=5000, now=now)
    receiver = make_line(plan=PLAN, balance_fen=5000, now=now)
    return giver, receiver, session_token(giver, now)


def _plan_data(line) -> Bucket:
    return Bucket.objects.get(line=line, origin__endswith=":data", source="PLAN")


def _ask(client, token, giver, receiver, megabytes=1024, **headers):
    body = {"to_msisdn": receiver.msisdn, "megabytes": megabytes}
    return call(client, token, "post", f"/lines/{giver.msisdn}/data-gifts", body, **headers)


def _confirm(client, token, giver, gift_id, code=None):
    code = code or latest_otp(giver.msisdn)
    path = f"/lines/{giver.msisdn}/data-gifts/{gift_id}/confirm"
    return call(client, token, "post", path, {"code": code})


def _give(client, token, giver, receiver, megabytes=1024) -> int:
    asked = _ask(client, token, giver, receiver, megabytes)
    assert asked.status_code == 201, asked.content
    done = _confirm(client, token, giver, asked.json()["gift_id"])
    assert done.status_code == 200 and done.json()["status"] == "DONE", done.content
    return asked.json()["gift_id"]


def test_a_confirmed_gift_moves_a_gigabyte_into_a_gift_bucket_of_the_receiver(client, pair, now):
    giver, receiver, token = pair
    asked = _ask(client, token, giver, receiver)
    assert asked.status_code == 201, asked.content
    body = asked.json()
    assert (body["status"], body["data"]) == ("CODE_SENT", "1GB")
    assert body["to_msisdn"] == receiver.msisdn[:3] + "****" + receiver.msisdn[-4:]
    sms = SandboxSms.objects.filter(phone=giver.msisdn).latest("id").text  # the SIM in hand
    assert "转赠给" in sms and receiver.msisdn[-4:] in sms and "1GB" in sms
    assert _plan_data(giver).amount == 40 * GB  # nothing moves before the code comes back

    done = _confirm(client, token, giver, body["gift_id"])
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "DONE"
    plan = _plan_data(giver)
    assert (plan.amount, plan.moved_out) == (39 * GB, GB)
    gift = Bucket.objects.get(origin=f"gift:{body['gift_id']}")
    assert (gift.line_id, gift.source, gift.amount) == (receiver.pk, "GIFT", GB)
    assert (gift.valid_from, gift.valid_to, gift.rating_groups) == (now, MONTH_END, [])
    kinds = {m.line_id: m.kind for m in DataMovement.objects.all()}
    assert kinds == {giver.pk: "GIFT_OUT", receiver.pk: "GIFT_IN"}
    told = set(Notification.objects.values_list("recipient_id", "kind"))
    assert told == {(giver.user_id, "DATA_GIFT_SENT"), (receiver.user_id, "DATA_GIFT_RECEIVED")}


def test_the_receiver_spends_the_gift_before_its_plan_data(client, pair, now):
    giver, receiver, token = pair
    gift_id = _give(client, token, giver, receiver)
    use_data(receiver, 300 * MB, at=now)
    gift = Bucket.objects.get(origin=f"gift:{gift_id}")
    assert gift.used == 300 * MB and _plan_data(receiver).used == 0


def test_confirming_twice_or_asking_again_with_the_same_key_changes_nothing(client, pair):
    giver, receiver, token = pair
    first = _ask(client, token, giver, receiver, **{"Idempotency-Key": "g-1"})
    again = _ask(client, token, giver, receiver, **{"Idempotency-Key": "g-1"})
    assert first.json()["gift_id"] == again.json()["gift_id"]
    gift_id = first.json()["gift_id"]
    code = latest_otp(giver.msisdn)
    assert _confirm(client, token, giver, gift_id, code).json()["status"] == "DONE"
    repeat = _confirm(client, token, giver, gift_id, code)
    assert repeat.status_code == 200 and repeat.json()["status"] == "DONE"
    assert _plan_data(giver).amount == 39 * GB
    assert Bucket.objects.filter(source="GIFT").count() == 1
    assert DataMovement.objects.count() == 2
    assert DataGift.objects.count() == 1


def test_a_wrong_code_leaves_the_gift_waiting_and_a_late_one_finds_it_expired(client, pair, now):
    giver, receiver, token = pair
    gift_id = _ask(client, token, giver, receiver).json()["gift_id"]
    right = latest_otp(giver.msisdn)
    wrong = _confirm(client, token, giver, gift_id, f"{(int(right) + 1) % 10**6:06d}")
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "step_up_code_invalid"
    assert DataGift.objects.get(pk=gift_id).state == "CODE_SENT"
    later = now + gifts.STEP_UP_CODE_TTL
    with clock.frozen(later, all_threads=True):
        late = _confirm(client, session_token(giver, later), giver, gift_id)
    assert late.status_code == 409 and late.json()["error"]["code"] == "gift_expired"
    assert DataGift.objects.get(pk=gift_id).state == "EXPIRED"
    assert _plan_data(giver).amount == 40 * GB


@pytest.mark.parametrize(
    ("megabytes", "status", "code"),
    [(99, 422, "data_amount_out_of_range"), (6 * 1024, 409, "data_monthly_limit")],
)
def test_amounts_below_100_mb_or_over_the_monthly_limit_are_refused(
    client, pair, megabytes, status, code
):
    giver, receiver, token = pair
    refused = _ask(client, token, giver, receiver, megabytes)
    assert refused.status_code == status and refused.json()["error"]["code"] == code
    assert not DataGift.objects.exists()


def test_the_monthly_limit_counts_what_was_already_given(client, pair):
    giver, receiver, token = pair
    _give(client, token, giver, receiver, 4 * 1024)
    refused = _ask(client, token, giver, receiver, 1025)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "data_monthly_limit"


def test_a_gift_goes_only_to_another_active_line_on_the_platform(client, pair, now):
    giver, receiver, token = pair
    to_self = _ask(client, token, giver, giver)
    assert to_self.json()["error"]["code"] == "gift_same_line"
    body = {"to_msisdn": "13700000000", "megabytes": 200}
    unknown = call(client, token, "post", f"/lines/{giver.msisdn}/data-gifts", body)
    assert unknown.status_code == 409
    assert unknown.json()["error"]["code"] == "gift_receiver_unavailable"
    Line.objects.filter(pk=receiver.pk).update(status="SUSPENDED", suspend_reason="USER_REQUEST")
    suspended = _ask(client, token, giver, receiver)
    assert suspended.json()["error"]["code"] == "gift_receiver_unavailable"


def test_only_the_owner_may_give_and_someone_elses_line_is_not_found(client, pair, now):
    giver, receiver, _ = pair
    stranger = session_token(receiver, now)
    assert _ask(client, stranger, giver, receiver).status_code == 404
    assert _ask(client, staff_token(now), giver, receiver).status_code == 404


def test_data_that_open_sessions_hold_reserved_is_never_given(client, pair, now):
    giver, receiver, token = pair
    use_data(giver, 39 * GB, at=now)  # 1 GB left
    smf = charging_token(now)
    opened = post(
        client, BASE, nchf_body(giver, seq=0, units=[data_unit(1003, request=600 * MB)], at=now),
        smf,
    )  # fmt: skip
    assert opened.status_code == 201, opened.content
    refused = _ask(client, token, giver, receiver, 500)  # 424 MB are free, 600 MB reserved
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "data_not_enough"
    assert _ask(client, token, giver, receiver, 400).status_code == 201


def test_a_gift_whose_data_was_used_before_the_code_came_back_fails(client, pair, now):
    giver, receiver, token = pair
    gift_id = _ask(client, token, giver, receiver, 1024).json()["gift_id"]
    use_data(giver, 39 * GB + 512 * MB, at=now)
    failed = _confirm(client, token, giver, gift_id)
    assert failed.status_code == 409 and failed.json()["error"]["code"] == "data_not_enough"
    gift = DataGift.objects.get(pk=gift_id)
    assert (gift.state, gift.failure) == ("FAILED", "data_not_enough")
    assert not Bucket.objects.filter(source="GIFT").exists()


def test_targeted_sponsored_and_gifted_data_are_not_given(client, catalog, now):
    giver = make_line(plan=PLAN, now=now)
    receiver = make_line(plan=PLAN, now=now)
    use_data(giver, 40 * GB, at=now)
    for i, extra in enumerate(
        [{"source": "PACK", "rating_groups": [1003]}, {"source": "SPONSOR"}, {"source": "GIFT"}]
    ):
        Bucket.objects.create(
            line=giver, unit="BYTES", label="x", amount=GB, valid_from=now,
            valid_to=MONTH_END, origin=f"test:{i}", **extra,
        )  # fmt: skip
    refused = _ask(client, session_token(giver, now), giver, receiver, 100)
    assert refused.json()["error"]["code"] == "data_not_enough"


def test_staff_reverse_a_gift_taking_back_what_the_receiver_has_not_used(client, pair, now):
    giver, receiver, token = pair
    gift_id = _give(client, token, giver, receiver)
    use_data(receiver, 256 * MB, at=now)
    gift = gifts.reverse(gift_id=gift_id, actor="staff:test", now=now)
    assert (gift.state, gift.reversed_amount) == ("REVERSED", 768 * MB)
    received = Bucket.objects.get(origin=f"gift:{gift_id}")
    assert received.amount - received.used == 0
    assert (_plan_data(giver).amount, _plan_data(giver).moved_out) == (
        39 * GB + 768 * MB, 256 * MB,
    )  # fmt: skip
    back = DataMovement.objects.get(kind="GIFT_BACK")
    assert (back.line_id, back.amount, back.lapsed) == (giver.pk, 768 * MB, 0)
    taken = DataMovement.objects.get(kind="GIFT_TAKEN_BACK")
    assert (taken.line_id, taken.amount, taken.actor) == (receiver.pk, 768 * MB, "staff:test")
    with pytest.raises(gifts.movements.GiftStateConflict):
        gifts.reverse(gift_id=gift_id, actor="staff:test", now=now)


def test_the_history_shows_gifts_with_the_counterpart_masked(client, pair, now):
    giver, receiver, token = pair
    _give(client, token, giver, receiver)
    sent = call(client, token, "get", f"/lines/{giver.msisdn}/data-movements").json()
    masked = receiver.msisdn[:3] + "****" + receiver.msisdn[-4:]
    assert [m["text"] for m in sent["items"]] == [f"转赠给 {masked} 1GB"]
    got = call(client, session_token(receiver, now), "get",
               f"/lines/{receiver.msisdn}/data-movements").json()  # fmt: skip
    giver_masked = giver.msisdn[:3] + "****" + giver.msisdn[-4:]
    assert got["items"][0]["text"] == f"来自 {giver_masked} 的转赠 1GB"
    assert ledger.trial_balances().get("BYTES", 0) == 0


def test_the_dashboard_and_both_bills_show_the_gift(client, pair, now):
    giver, receiver, token = pair
    _give(client, token, giver, receiver)
    dashboard = call(client, token, "get", f"/lines/{giver.msisdn}").json()
    [plan] = [b for b in dashboard["buckets"] if b["source"] == "PLAN" and b["unit"] == "BYTES"]
    assert (plan["amount"], plan["moved_out"], plan["remaining"]) == (39 * GB, GB, 39 * GB)
    at = beijing(2026, 6, 1, 0, 5)
    with clock.frozen(at):
        cycles.run_cycles(now=at)
    masked = {line.pk: line.msisdn[:3] + "****" + line.msisdn[-4:] for line in (giver, receiver)}
    for line, text in (
        (giver, f"转赠给 {masked[receiver.pk]} 1GB"),
        (receiver, f"来自 {masked[giver.pk]} 的转赠 1GB"),
    ):
        bill = call(client, session_token(line, at), "get", f"/lines/{line.msisdn}/bills/2026-05")
        assert [m["text"] for m in bill.json()["data_movements"]] == [text]
    pdf = call(client, token, "get", f"/lines/{giver.msisdn}/bills/2026-05.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_staff_reverse_a_gift_from_the_admin_and_read_movements_and_lots(client, pair, now):
    giver, receiver, token = pair
    gift_id = _give(client, token, giver, receiver)
    client.force_login(User.objects.create_superuser(username="ops", password="x" * 12))
    for page in ("datagift", "datamovement", "databanklot"):
        assert client.get(f"/admin/charging/{page}/").status_code == 200
    done = client.post(
        "/admin/charging/datagift/",
        {"action": "reverse", "_selected_action": [gift_id]},
        follow=True,
    )
    assert done.status_code == 200 and "已撤回 1GB" in done.content.decode()
    assert DataGift.objects.get(pk=gift_id).state == "REVERSED"
    assert _plan_data(giver).amount == 40 * GB
