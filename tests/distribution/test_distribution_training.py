"""Training: the seeded courses and materials, taking a quiz (pass, fail, bad answers, the
daily limit) and what passing unlocks (products tied to a course, vanity numbers)."""

from __future__ import annotations

import datetime as dt

import pytest

from haoka.catalog import queries as catalog_queries
from haoka.core.errors import HaokaError
from haoka.distribution import operations as dist_ops
from haoka.distribution import training
from haoka.distribution.models import Course, Material, Question, QuizAttempt
from tests.support.distribution import PLAN, T0, make_agent, offer


def answers_of(code: str, *, wrong: int = 0) -> list[int]:
    """The right answers of a course, the first ``wrong`` of them replaced by a wrong one."""
    rows = Question.objects.filter(course__code=code).order_by("sort", "id")
    out = []
    for n, q in enumerate(rows):
        out.append((q.answer + 1) % len(q.options) if n < wrong else q.answer)
    return out


def three_question_course(*, code: str = "mini", pass_percent: int = 67) -> Course:
    course = Course.objects.create(
        code=code, title="小测验", content="内容", pass_percent=pass_percent
    )
    for n in range(3):
        Question.objects.create(
            course=course, text=f"第{n + 1}题", options=["对", "错"], answer=0, sort=n
        )
    return course


@pytest.fixture
def seeded(db):
    training.seed_training()


# ---------------------------------------------------------------------------- seed and view


def test_the_seed_creates_two_courses_and_materials_for_seeded_plans(catalog, seeded):
    assert list(Course.objects.order_by("sort").values_list("title", "unlocks_vanity")) == [
        ("号卡销售入门", False),
        ("靓号销售进阶", True),
    ]
    materials = list(Material.objects.all())
    assert 3 <= len(materials) <= 4
    assert {m.kind for m in materials} == {"POSTER", "COPY"}
    codes = [m.plan_code for m in materials]
    assert {p.code for p in catalog_queries.plans_by_codes(codes=codes)} == set(codes)


def test_every_seeded_question_has_distinct_options_and_a_valid_answer(seeded):
    for course in Course.objects.all():
        questions = list(course.questions.all())
        assert 4 <= len(questions) <= 5
        for q in questions:
            assert len(set(q.options)) == len(q.options) >= 3
            assert 0 <= q.answer < len(q.options)


def test_seeding_twice_changes_nothing_and_keeps_staff_edits(seeded):
    Course.objects.filter(code="basics").update(title="号卡销售入门（2026版）")
    before = (Material.objects.count(), Course.objects.count(), Question.objects.count())
    training.seed_training()
    after = (Material.objects.count(), Course.objects.count(), Question.objects.count())
    assert after == before == (4, 2, 10)
    assert Course.objects.get(code="basics").title == "号卡销售入门（2026版）"


def test_the_course_view_shows_questions_and_options_but_never_the_answers(seeded):
    view = training.course_view(course_code="basics")
    assert view["title"] == "号卡销售入门"
    assert "一证五号" in view["content"]
    assert len(view["questions"]) == 5
    for q in view["questions"]:
        assert set(q) == {"id", "text", "options"}
    assert "answer" not in repr(view)


def test_an_unpublished_or_unknown_course_cannot_be_viewed_or_taken(seeded):
    Course.objects.filter(code="vanity").update(published=False)
    agent = make_agent()
    for code in ("vanity", "nope"):
        with pytest.raises(training.CourseNotFound) as err:
            training.course_view(course_code=code)
        assert (err.value.code, err.value.status) == ("course_not_found", 404)
        with pytest.raises(training.CourseNotFound):
            training.submit_quiz(agent_id=agent.pk, course_code=code, answers=[0] * 5, now=T0)
    assert not QuizAttempt.objects.exists()


# ---------------------------------------------------------------------------- quiz


def test_all_answers_right_passes_the_course_with_100_percent(seeded):
    agent = make_agent()
    attempt = training.submit_quiz(
        agent_id=agent.pk, course_code="basics", answers=answers_of("basics"), now=T0
    )
    assert (attempt.score_percent, attempt.passed, attempt.at) == (100, True, T0)
    assert attempt.answers == answers_of("basics")


def test_one_wrong_answer_of_five_still_passes_at_80_percent(seeded):
    agent = make_agent()
    attempt = training.submit_quiz(
        agent_id=agent.pk, course_code="basics", answers=answers_of("basics", wrong=1), now=T0
    )
    assert (attempt.score_percent, attempt.passed) == (80, True)


def test_two_wrong_answers_of_five_fail(seeded):
    agent = make_agent()
    attempt = training.submit_quiz(
        agent_id=agent.pk, course_code="basics", answers=answers_of("basics", wrong=2), now=T0
    )
    assert (attempt.score_percent, attempt.passed) == (60, False)


def test_the_score_is_rounded_down_so_two_of_three_miss_a_67_percent_mark(db):
    three_question_course(pass_percent=67)
    agent = make_agent()
    attempt = training.submit_quiz(agent_id=agent.pk, course_code="mini", answers=[0, 0, 1], now=T0)
    assert (attempt.score_percent, attempt.passed) == (66, False)


@pytest.mark.parametrize(
    "answers",
    [
        [0, 0],  # too few
        [0, 0, 0, 0],  # too many
        [0, 0, 2],  # no such option
        [0, -1, 0],
        [0, True, 0],
        [0, "0", 0],
        [0, 0.0, 0],
        None,
        "000",
    ],
    ids=["few", "many", "range", "negative", "bool", "string", "float", "none", "text"],
)
def test_answers_must_be_one_valid_option_per_question(db, answers):
    three_question_course()
    agent = make_agent()
    with pytest.raises(training.QuizAnswersInvalid) as err:
        training.submit_quiz(agent_id=agent.pk, course_code="mini", answers=answers, now=T0)
    assert (err.value.code, err.value.status) == ("quiz_answers_invalid", 422)
    assert not QuizAttempt.objects.exists()


def test_only_an_approved_agent_may_take_a_quiz(db):
    three_question_course()
    agent = make_agent()
    dist_ops.set_status(agent_id=agent.pk, frozen=True, staff_id=None, reason="测试", now=T0)
    with pytest.raises(dist_ops.AgentNotActive):
        training.submit_quiz(agent_id=agent.pk, course_code="mini", answers=[0, 0, 0], now=T0)


def test_five_attempts_a_beijing_day_then_the_quiz_waits_for_tomorrow(db):
    three_question_course()
    agent = make_agent()
    for n in range(5):
        training.submit_quiz(
            agent_id=agent.pk,
            course_code="mini",
            answers=[1, 1, 1],
            now=T0 + dt.timedelta(minutes=n),
        )
    last_minute = dt.datetime(2026, 3, 1, 15, 59, tzinfo=dt.UTC)  # 23:59 Beijing
    with pytest.raises(training.QuizAttemptsExceeded) as err:
        training.submit_quiz(
            agent_id=agent.pk, course_code="mini", answers=[0, 0, 0], now=last_minute
        )
    assert isinstance(err.value, HaokaError)
    assert (err.value.code, err.value.status) == ("quiz_attempts_exceeded", 429)
    assert QuizAttempt.objects.count() == 5
    midnight = dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC)  # 00:00 Beijing, 2 March
    attempt = training.submit_quiz(
        agent_id=agent.pk, course_code="mini", answers=[0, 0, 0], now=midnight
    )
    assert attempt.passed


def test_the_daily_limit_counts_each_course_and_agent_separately(db):
    three_question_course(code="one")
    three_question_course(code="two")
    agent, other = make_agent(), make_agent()
    for _ in range(5):
        training.submit_quiz(agent_id=agent.pk, course_code="one", answers=[1, 1, 1], now=T0)
    training.submit_quiz(agent_id=agent.pk, course_code="two", answers=[1, 1, 1], now=T0)
    training.submit_quiz(agent_id=other.pk, course_code="one", answers=[1, 1, 1], now=T0)
    assert QuizAttempt.objects.count() == 7


# ---------------------------------------------------------------------------- unlocking


def test_a_product_tied_to_a_course_is_locked_until_the_agent_passes_it(catalog, seeded):
    product = offer()
    product.course = Course.objects.get(code="basics")
    product.save()
    agent = make_agent()
    with pytest.raises(dist_ops.ProductLocked) as err:
        dist_ops.set_shop(agent_id=agent.pk, shop_name="小王的号卡店", items=[(PLAN, 0)])
    assert err.value.code == "product_locked"
    training.submit_quiz(
        agent_id=agent.pk, course_code="basics", answers=answers_of("basics", wrong=2), now=T0
    )
    with pytest.raises(dist_ops.ProductLocked):  # a failed attempt unlocks nothing
        dist_ops.set_shop(agent_id=agent.pk, shop_name="小王的号卡店", items=[(PLAN, 0)])
    training.submit_quiz(
        agent_id=agent.pk, course_code="basics", answers=answers_of("basics"), now=T0
    )
    dist_ops.set_shop(agent_id=agent.pk, shop_name="小王的号卡店", items=[(PLAN, 5_00)])
    assert list(agent.shop_items.values_list("plan_code", "markup_fen")) == [(PLAN, 5_00)]
    assert dist_ops.may_sell(agent, product) == (True, "")


def test_vanity_numbers_open_only_after_passing_the_vanity_course(catalog, seeded):
    agent = make_agent()
    assert not dist_ops.may_sell_vanity(agent)
    with pytest.raises(dist_ops.ProductLocked) as err:
        dist_ops.set_shop(agent_id=agent.pk, shop_name="靓号小店", items=[], sells_vanity=True)
    assert err.value.code == "product_locked"
    training.submit_quiz(
        agent_id=agent.pk, course_code="basics", answers=answers_of("basics"), now=T0
    )
    assert not dist_ops.may_sell_vanity(agent)  # the basics course does not unlock vanity
    attempt = training.submit_quiz(
        agent_id=agent.pk, course_code="vanity", answers=answers_of("vanity"), now=T0
    )
    assert attempt.passed
    assert dist_ops.may_sell_vanity(agent)
    dist_ops.set_shop(agent_id=agent.pk, shop_name="靓号小店", items=[], sells_vanity=True)
    agent.refresh_from_db()
    assert agent.shop_sells_vanity


def test_a_tier_d_agent_cannot_sell_vanity_numbers_even_after_passing(seeded):
    agent = make_agent()
    training.submit_quiz(
        agent_id=agent.pk, course_code="vanity", answers=answers_of("vanity"), now=T0
    )
    agent.tier = "D"
    assert not dist_ops.may_sell_vanity(agent)
