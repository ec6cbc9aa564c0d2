"""推荐, the number picker's first view: which numbers one batch shows, and the next batch
after 换一批. Pure rules (no database, no clock, no randomness of its own): the same
candidates, seed and batch number always give the same cards.

- A batch is mostly affordable numbers (no or a low vanity premium: 普通号 and D 级), with
  a vanity number (C 级 and up) in every :data:`VANITY_EVERY`-th place, so the first cards a
  buyer sees cost nothing extra and a few nice numbers are still there to tempt.
- Each pool is put in an order that depends only on the seed and the number itself (a keyed
  hash), so a number taken by someone else between two batches shifts nothing else.
- Batch ``n`` takes the ``n``-th run of each pool in that order: consecutive batches never
  repeat a number until a pool is used up; then it starts over from its first run.
- A pool too small for its share leaves its places to the other one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from haoka.numbers.vanity import Tier

#: Cards in one batch (six rows of two on a phone).
BATCH_SIZE = 12
#: Every this-many-th card is a vanity number: 3 of 12.
VANITY_EVERY = 4
#: Tiers with no or a low premium (¥0 and ¥9-¥20 by the default price lists).
AFFORDABLE_TIERS = frozenset({Tier.NORMAL, Tier.D})
#: The lowest tier rank (0 = S .. 5 = 普通) that counts as affordable.
AFFORDABLE_FROM_RANK = min(t.rank for t in AFFORDABLE_TIERS)
#: How many candidates of each pool one seed reads: batches do not repeat for
#: ``AFFORDABLE_WINDOW / 9`` = 26 rounds of 换一批 on a large pool.
AFFORDABLE_WINDOW = 240
VANITY_WINDOW = 80
#: Seeds are drawn below this (and a seed from a URL is refused above it).
SEED_LIMIT = 1_000_000
#: 换一批 counts up to here (a URL asking for more starts over).
BATCH_LIMIT = 10_000


def window_start(seed: int) -> str:
    """Where a seed's candidates begin in the reversed-number order: four digits, i.e. the
    last four digits of the numbers read backwards, so a window spreads over many prefixes
    and segments rather than one block of consecutive numbers."""
    return f"{seed % 10_000:04d}"


def _rank(seed: int, msisdn: str) -> bytes:
    return hashlib.blake2b(f"{seed}:{msisdn}".encode(), digest_size=8).digest()


def _run(items: list[str], *, start: int, count: int) -> list[str]:
    """``count`` items from ``start`` on, going round (``count`` is at most ``len(items)``)."""
    return [items[(start + i) % len(items)] for i in range(count)] if items else []


def batch(
    *,
    affordable: Sequence[str],
    vanity: Sequence[str],
    seed: int,
    number: int,
    size: int = BATCH_SIZE,
    vanity_every: int = VANITY_EVERY,
) -> list[str]:
    """The msisdns of batch ``number`` (0 is the first view) from the two candidate pools:
    at most ``size``, no repeats, affordable first with a vanity number at every
    ``vanity_every``-th place."""
    cheap = sorted(set(affordable), key=lambda m: _rank(seed, m))
    nice = sorted(set(vanity) - set(cheap), key=lambda m: _rank(seed, m))
    want_nice = min(size // vanity_every, len(nice))
    want_cheap = min(size - want_nice, len(cheap))
    want_nice = min(size - want_cheap, len(nice))  # a small cheap pool leaves room
    cheap_run = _run(cheap, start=number * want_cheap, count=want_cheap)
    nice_run = _run(nice, start=number * want_nice, count=want_nice)
    out: list[str] = []
    while cheap_run or nice_run:
        vanity_place = (len(out) + 1) % vanity_every == 0
        if nice_run and (vanity_place or not cheap_run):
            out.append(nice_run.pop(0))
        else:
            out.append(cheap_run.pop(0))
    return out
