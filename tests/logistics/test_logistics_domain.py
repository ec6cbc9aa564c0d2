"""A shipment's machine, without a database: forward only, steps may be skipped, unknown
courier statuses never move a parcel."""

from __future__ import annotations

import itertools

import pytest

from haoka.logistics import domain
from haoka.logistics.domain import ShipmentStatus as S
from haoka.logistics.models import Shipment


def test_a_parcel_moves_forward_only_and_delivered_is_final():
    order = list(S)
    for before, after in itertools.product(S, S):
        assert domain.advances(current=before, scanned=after) == (
            order.index(after) > order.index(before)
        )
    assert domain.MACHINE.final == {S.DELIVERED}
    with pytest.raises(domain.ShipmentMovedBack) as refused:
        domain.MACHINE.check(current=S.DELIVERED, target=S.IN_TRANSIT)
    assert refused.value.code == "shipment_state_conflict"


def test_a_status_of_the_courier_we_do_not_know_never_moves_the_parcel():
    assert not domain.advances(current=S.CREATED, scanned="RETURNED_TO_SENDER")


def test_the_models_choices_derive_from_the_machine():
    assert Shipment._meta.get_field("status").choices == domain.MACHINE.choices()
