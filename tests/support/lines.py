"""Lines self-service tests: lines opened by staff (no order) and lines bought through the
whole order flow (real-name check, payment, carrier, activation) with the orders tests' fakes,
and an API driver for the owner, someone else and staff."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass, field

from haoka.accounts import operations as account_ops
from haoka.accounts import stepup
from haoka.accounts.models import Role, User
from haoka.core import clock, ledger
from haoka.core.errors import PermissionDenied
from haoka.lines import operations as line_ops
from haoka.lines.models import Line
from haoka.orders.models import Order
from haoka.payments.models import Payment
from tests.support.orders import ICCID, carrier_callback, deliver, id_number
from tests.support.web import latest_otp

_serial = itertools.count(1)
NAME = "李四"
#: Numbers in the pool (CTCC) for lines bought through orders.
CT_NUMBERS = ["18912340001", "18912340002", "18912340003", "18912340004"]


@dataclass
class Person:
    client: object
    user: User
    serial: int
    token: str = ""
    expires_at: dt.datetime | None = None
    proofs: dict = field(default_factory=dict)

    def call(self, method: str, path: str, body: dict | None = None, **headers):
        if self.expires_at is None or clock.now() >= self.expires_at:  # tests move time
            issued = account_ops._issue_session(user=self.user, now=clock.now())
            self.token, self.expires_at = issued.token, issued.expires_at
        kwargs = {"headers": {"Authorization": f"Bearer {self.token}", **headers}}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(self.client, method)(f"/api/v1{path}", **kwargs)

    def step_up(self, msisdn: str, action: str) -> dict:
        """The ``Step-Up-Proof`` header for ``action`` on ``msisdn``, got as the owner gets it:
        a code to their phone (the sandbox outbox), verified. An unspent proof is used again
        (a refused action spends none), so retries stay within the one-code-a-minute limit.
        Empty when the line is not theirs to ask about (the action then answers as it will)."""
        proof = self.proofs.get((msisdn, action), "")
        try:
            stepup.check(
                user_id=self.user.pk, action=action, target=msisdn, proof=proof, now=clock.now()
            )
        except PermissionDenied:
            sent = self.call("post", f"/lines/{msisdn}/step-up/code", {"action": action})
            if sent.status_code == 404:
                return {}
            assert sent.status_code == 200, sent.content
            code = latest_otp(self.user.phone)
            body = {"action": action, "code": code}
            verified = self.call("post", f"/lines/{msisdn}/step-up/verify", body)
            assert verified.status_code == 201, verified.content
            proof = self.proofs[(msisdn, action)] = verified.json()["proof"]
        return {"Step-Up-Proof": proof}


def minted_proof(user: User, msisdn: str, action: str, *, minute: int, now: dt.datetime) -> str:
    """A step-up proof got the owner's way (code sent, read from the outbox, verified), its
    code sent ``minute`` minutes after ``now`` (one code a minute), for tests that need several
    at once (races)."""
    at = now + dt.timedelta(minutes=minute)
    stepup.send_code(user_id=user.pk, action=action, target=msisdn, client_ip="test", now=at)
    code = latest_otp(user.phone)
    verified = stepup.verify_code(user_id=user.pk, action=action, target=msisdn, code=code, now=at)
    return verified.proof


def person(client, *, staff: bool = False) -> Person:
    n = next(_serial)
    phone = f"136{n:08d}"
    user = User.objects.create(
        username=phone, phone=phone, role=Role.STAFF if staff else Role.CONSUMER
    )
    return Person(client=client, user=user, serial=n)


def staff_line(
    owner: Person,
    *,
    plan: str = "CM-HUAKA-19",
    carrier: str = "CMCC",
    balance_fen: int = 0,
    now: dt.datetime,
) -> Line:
    """A line staff opened directly (brought over from another system): no order."""
    n = owner.serial
    return line_ops.open_line(
        user_id=owner.user.pk,
        msisdn=f"139{n:08d}",
        carrier_code=carrier,
        plan_code=plan,
        iccid=f"8986000000000{n:07d}",
        imsi=f"46000{n:010d}",
        opening_balance_fen=balance_fen,
        actor="staff:test",
        now=now,
    )


def order_line(buyer: Person, *, msisdn: str, plan: str, gateway_fake, commits) -> Line:
    """Buy a line through the order flow: hold, order, real-name (``NAME`` and the buyer's
    ``id_number``), sign, pay (when anything is due), carrier, delivery, activation."""
    held = buyer.call("post", f"/numbers/{msisdn}/reserve")
    assert held.status_code == 201, held.content
    ordered = buyer.call(
        "post",
        "/orders",
        {
            "plan_code": plan,
            "msisdn": msisdn,
            "contact_phone": buyer.user.phone,
            "shipping_address": {
                "province": "广东",
                "city": "深圳",
                "district": "南山区",
                "detail": f"科技园 {buyer.serial} 号",
                "receiver": NAME,
                "phone": buyer.user.phone,
            },
        },
    )
    assert ordered.status_code == 201, ordered.content
    ref = ordered.json()["ref"]
    kyc = buyer.call(
        "post", f"/orders/{ref}/kyc", {"name": NAME, "id_number": id_number(buyer.serial)}
    )
    assert kyc.json()["state"] == "KYC_PASSED", kyc.content
    signed = buyer.call("post", f"/orders/{ref}/contract", {"accept": True, "signature_name": NAME})
    assert signed.status_code == 200, signed.content
    if signed.json()["next_action"] == "payment":
        assert buyer.call("post", f"/orders/{ref}/payment", {"method": "wechat"}).status_code == 201
        payment = Payment.objects.get(reference=ref)
        with commits():
            deliver(gateway_fake.pay(payment.merchant_order_id))

    order = Order.objects.get(ref=ref)
    with commits():
        carrier_callback(buyer.client, order, "order.accepted", iccid=ICCID, imsi="460031234567890")
        carrier_callback(buyer.client, order, "order.delivered")
    with commits():
        activated = buyer.call("post", f"/orders/{ref}/activate", {"iccid_last6": ICCID[-6:]})
    assert activated.json()["state"] == "ACTIVATED", activated.content
    return Line.objects.get(order_ref=ref)


def wallet_fen(line: Line) -> int:
    return -ledger.balance_fen(account=f"liability:wallet:line:{line.pk}")


def ledger_is_balanced() -> bool:
    return ledger.trial_balance_fen() == 0 and ledger.unbalanced_transactions() == []


def set_wallet(line: Line, fen: int, *, key: str) -> None:
    """Move the wallet to ``fen`` (usage or fees charged elsewhere; a negative is arrears)."""
    delta = wallet_fen(line) - fen
    if delta == 0:
        return
    ledger.open_account(code="revenue:test", name="test", kind="REVENUE", busy=True)
    ledger.post(
        legs=[
            ledger.Leg(f"liability:wallet:line:{line.pk}", delta),
            ledger.Leg("revenue:test", -delta),
        ],
        kind="test.adjust",
        key=key,
    )
