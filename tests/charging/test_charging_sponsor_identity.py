"""sponsorIdentity (TS 32.291 PDU container information) on the hot path, on both
databases: a request naming a sponsor is paid only by that sponsor's buckets (a campaign of
another sponsor on the same rating group does not pay), one naming none by any, and one
naming an unknown sponsor by the line's own buckets."""

from __future__ import annotations

import pytest

from haoka.charging import nchf, sponsored
from haoka.charging.models import Bucket
from tests.support.charging import BASE, MB, charging_token, make_line, post, request_body
from tests.support.sponsors import make_campaign, make_sponsor

pytestmark = pytest.mark.django_db
PLAN = "CM-SHANGLV-58"
APP = 1011  # 芒果TV


@pytest.fixture(autouse=True)
def fresh_campaigns():
    sponsored.forget_cached()
    yield
    sponsored.forget_cached()


@pytest.fixture
def token(catalog, now):
    return charging_token(now)


@pytest.fixture
def two_sponsors(catalog, now):
    """Two sponsors' free-flow campaigns of the same app (the first one older)."""
    first, second = make_sponsor(now=now), make_sponsor(now=now)
    return (
        make_campaign(first, now=now, rating_groups=[APP]),
        make_campaign(second, now=now, rating_groups=[APP]),
    )


def unit(*, request: int, used: int = 0, sponsor: str | None = None) -> dict:
    container: dict = {"localSequenceNumber": 1, "totalVolume": used}
    if sponsor is not None:
        container["pDUContainerInformation"] = {"sponsorIdentity": sponsor}
    return {"ratingGroup": APP, "requestedUnit": {"totalVolume": request},
            "usedUnitContainer": [container]}  # fmt: skip


def open_session(client, line, token, now, **kwargs) -> str:
    created = post(client, BASE, request_body(line, seq=0, units=[unit(**kwargs)], at=now), token)
    assert created.status_code == 201, created.content
    return created["Location"].rsplit("/", 1)[1]


def reserved_by_payer(line) -> dict[str, int]:
    rows = Bucket.objects.filter(line=line, reserved__gt=0).values_list("payer_id", "reserved")
    return {str(payer): reserved for payer, reserved in rows}


def test_the_sponsor_identity_is_read_from_the_pdu_container_information():
    body = {"ratingGroup": APP, "usedUnitContainer": [
        {"localSequenceNumber": 1, "totalVolume": 5},
        {"localSequenceNumber": 2, "pDUContainerInformation": {"sponsorIdentity": " SPX "}},
    ]}  # fmt: skip
    assert nchf._parse_usage(body, 0).sponsor_identity == "SPX"
    assert nchf._parse_usage({"ratingGroup": APP}, 0).sponsor_identity is None
    odd = {
        "ratingGroup": APP,
        "usedUnitContainer": [{"pDUContainerInformation": {"sponsorIdentity": 7}}],
    }
    assert nchf._parse_usage(odd, 0).sponsor_identity is None


def test_a_request_naming_the_second_sponsor_takes_its_slice_not_the_first_ones(
    client, token, two_sponsors, now
):
    first, second = two_sponsors
    line = make_line(plan=PLAN, now=now)
    open_session(client, line, token, now, request=10 * MB, sponsor=second.sponsor.sponsor_id)
    assert reserved_by_payer(line) == {second.campaign_id: 10 * MB}
    assert not Bucket.objects.filter(line=line, payer_id=first.campaign_id).exists()


def test_a_bucket_of_another_sponsor_the_line_holds_does_not_pay(client, token, two_sponsors, now):
    first, second = two_sponsors
    line = make_line(plan=PLAN, now=now)
    open_session(client, line, token, now, request=10 * MB)  # names none: the first pays
    assert reserved_by_payer(line) == {first.campaign_id: 10 * MB}
    later = now.replace(second=30)
    open_session(client, line, token, later, request=10 * MB, sponsor=second.sponsor.sponsor_id)
    assert reserved_by_payer(line) == {first.campaign_id: 10 * MB, second.campaign_id: 10 * MB}


def test_a_request_naming_an_unknown_sponsor_is_paid_by_the_lines_own_buckets(
    client, token, two_sponsors, now
):
    line = make_line(plan=PLAN, now=now)
    open_session(client, line, token, now, request=10 * MB, sponsor="SPNOBODY0000")
    assert not Bucket.objects.filter(line=line, source="SPONSOR").exists()
    assert Bucket.objects.get(line=line, label="套餐通用流量").reserved == 10 * MB
