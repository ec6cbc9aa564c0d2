"""推荐 batches, the pure rule: affordable numbers first with a vanity one in every fourth place,
the same batch for the same seed, and 换一批 never repeating a number until a pool is used up."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from haoka.numbers import recommend

CHEAP = [f"1380000{i:04d}" for i in range(100)]
NICE = [f"1390000{i:04d}" for i in range(30)]

msisdns = st.integers(min_value=0, max_value=9_999).map(lambda i: f"1370000{i:04d}")
pools = st.lists(msisdns, max_size=60, unique=True)
seeds = st.integers(min_value=0, max_value=recommend.SEED_LIMIT - 1)


def batch(n: int, *, seed: int = 7, cheap=CHEAP, nice=NICE) -> list[str]:
    return recommend.batch(affordable=cheap, vanity=nice, seed=seed, number=n)


def test_a_batch_is_twelve_numbers_affordable_first_with_a_vanity_one_every_fourth_place():
    cards = batch(0)
    assert len(cards) == recommend.BATCH_SIZE == 12
    kinds = ["V" if m in NICE else "A" for m in cards]
    assert "".join(kinds) == "AAAVAAAVAAAV"


def test_the_same_seed_and_batch_give_the_same_cards_and_another_seed_others():
    assert batch(0) == batch(0)
    assert batch(3, seed=42) == batch(3, seed=42)
    assert batch(0, seed=1) != batch(0, seed=2)


def test_the_order_does_not_depend_on_how_the_candidates_were_listed():
    assert batch(2, cheap=list(reversed(CHEAP)), nice=NICE[::-1]) == batch(2)


def test_next_batches_repeat_nothing_until_the_vanity_pool_is_used_up():
    seen: list[str] = []
    for n in range(len(NICE) // 3):  # 10 batches use the 30 vanity numbers once each
        seen += batch(n)
    assert len(seen) == len(set(seen)) == 120
    assert set(batch(10)) & set(seen)  # then it starts over


def test_a_number_taken_between_batches_shifts_nothing_else():
    first = batch(0)
    taken = first[0]
    again = recommend.batch(
        affordable=[m for m in CHEAP if m != taken], vanity=NICE, seed=7, number=0
    )
    assert again[:2] == first[1:3]  # the others keep their order


def test_a_small_pool_of_one_kind_leaves_its_places_to_the_other():
    only_nice = batch(0, cheap=CHEAP[:2])
    assert len(only_nice) == 12 and sum(m in CHEAP for m in only_nice) == 2
    assert only_nice[:2] == [m for m in only_nice if m in CHEAP]  # affordable still first
    no_nice = batch(0, nice=[])
    assert len(no_nice) == 12 and all(m in CHEAP for m in no_nice)
    assert batch(0, cheap=CHEAP[:3], nice=NICE[:2]) and len(batch(0, cheap=[], nice=[])) == 0


def test_a_window_starts_at_four_digits_of_the_seed():
    assert recommend.window_start(0) == "0000"
    assert recommend.window_start(123_456) == "3456"


@given(pools, pools, seeds, st.integers(min_value=0, max_value=50))
def test_a_batch_never_repeats_a_number_and_holds_at_most_twelve(cheap, nice, seed, n):
    cards = recommend.batch(affordable=cheap, vanity=nice, seed=seed, number=n)
    assert len(cards) == len(set(cards)) == min(12, len(set(cheap) | set(nice)))
    assert set(cards) <= set(cheap) | set(nice)


@given(pools, pools, seeds)
def test_consecutive_batches_are_disjoint_while_both_pools_last(cheap, nice, seed):
    nice = [m for m in nice if m not in cheap]
    per_nice = min(3, len(nice))
    per_cheap = min(12 - per_nice, len(cheap))
    per_nice = min(12 - per_cheap, len(nice))
    rounds = min(
        len(cheap) // per_cheap if per_cheap else 99, len(nice) // per_nice if per_nice else 99
    )
    seen: list[str] = []
    for n in range(min(rounds, 20)):
        seen += recommend.batch(affordable=cheap, vanity=nice, seed=seed, number=n)
    assert len(seen) == len(set(seen))
