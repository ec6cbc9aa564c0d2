"""The kyc machines (staff review of a check, the 一证五号 claim), without a database."""

from __future__ import annotations

import itertools

import pytest

from haoka.kyc import domain
from haoka.kyc.domain import ClaimStatus as C
from haoka.kyc.domain import KycStatus as K
from haoka.kyc.models import IdentityClaim, KycAttempt, KycEvent, KycRecord


def test_only_a_flagged_check_is_reviewed():
    for target in (K.PASSED, K.REJECTED):
        domain.REVIEW_MACHINE.check(current=K.FLAGGED, target=target)
    assert domain.REVIEW_MACHINE.final == {K.PASSED, K.REJECTED}
    for current, target in itertools.product((K.PASSED, K.REJECTED), K):
        with pytest.raises(domain.KycNotUnderReview) as refused:
            domain.REVIEW_MACHINE.check(current=current, target=target)
        assert refused.value.code == "kyc_not_under_review"


def test_a_claim_is_released_and_may_be_taken_again_but_never_moves_to_itself():
    domain.CLAIM_MACHINE.check(current=C.ACTIVE, target=C.RELEASED)
    domain.CLAIM_MACHINE.check(current=C.RELEASED, target=C.ACTIVE)
    for state in C:
        with pytest.raises(domain.ClaimStateConflict):
            domain.CLAIM_MACHINE.check(current=state, target=state)


def test_the_models_choices_derive_from_the_machines():
    for model, field in ((KycRecord, "status"), (KycEvent, "to_status"), (KycAttempt, "status")):
        assert model._meta.get_field(field).choices == domain.REVIEW_MACHINE.choices()
    assert IdentityClaim._meta.get_field("status").choices == domain.CLAIM_MACHINE.choices()
    assert domain.REVIEW_MACHINE.label(K.FLAGGED) == "待人工审核"
