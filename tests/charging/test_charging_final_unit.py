"""The final unit action is the operator's choice: REDIRECT to the top-up page, RESTRICT_ACCESS
to what the filter rules leave open, or TERMINATE; a choice that cannot work is refused at start."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import checks as django_checks
from django.test import override_settings

from haoka.catalog.models import Plan
from haoka.charging import checks, tariffs
from tests.support.charging import (
    BASE,
    MB,
    charging_token,
    data_unit,
    make_line,
    post,
    request_body,
)
from tests.support.nchf_spec import check_answer

PLAN = "CM-MANGO-39"
RULES = ("permit out ip from any to 203.0.113.7", "permit out 17 from any to any 53")


@pytest.fixture
def small_plan(catalog):
    Plan.objects.filter(code=PLAN).update(
        general_data_bytes=1 * MB, payg_data_fen_per_mb=Decimal("1.0000")
    )
    tariffs.forget_cached()


@pytest.mark.django_db
@override_settings(CHF_FINAL_UNIT_ACTION="RESTRICT_ACCESS", CHF_RESTRICTION_RULES=RULES)
def test_the_last_grant_restricts_access_to_the_top_up_site_when_the_operator_says_so(
    client, small_plan, now
):
    line = make_line(plan=PLAN, balance_fen=3, now=now)
    body = request_body(line, seq=1, units=[data_unit(1003, request=10 * MB)], at=now)
    answer = post(client, BASE, body, charging_token(now))
    check_answer(answer)
    indication = answer.json()["multipleUnitInformation"][0]["finalUnitIndication"]
    assert indication == {
        "finalUnitAction": "RESTRICT_ACCESS",
        "restrictionFilterRuleList": list(RULES),
    }


@pytest.mark.parametrize(
    ("action", "rules", "ids", "error"),
    [
        ("REDIRECT", (), (), None),
        ("TERMINATE", (), (), None),
        ("RESTRICT_ACCESS", RULES, (), None),
        ("RESTRICT_ACCESS", (), ("topup-only",), None),
        ("RESTRICT_ACCESS", (), (), "haoka.charging.E002"),
        ("BLOCK", (), (), "haoka.charging.E001"),
    ],
)
def test_a_final_unit_action_that_cannot_work_is_refused_at_start(action, rules, ids, error):
    with override_settings(
        CHF_FINAL_UNIT_ACTION=action, CHF_RESTRICTION_RULES=rules, CHF_RESTRICTION_FILTER_IDS=ids
    ):
        found = checks.final_unit_action()
        registered = django_checks.run_checks(tags=[django_checks.Tags.compatibility])
    assert [e.id for e in found] == ([error] if error else [])
    assert [e.id for e in registered if e.id.startswith("haoka.charging")] == [e.id for e in found]
