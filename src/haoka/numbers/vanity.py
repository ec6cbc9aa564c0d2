"""Vanity (靓号) classification: a table of tail patterns, a score, a tier; search suggestions.

Every rule in :data:`RULES` looks at the end ("tail") of an 11-digit national number, except
``NO_FOUR`` which looks at the whole number. A rule matches or not; its match always covers
the same digits (its ``window``), so a :class:`PatternMatch` is a constant of the rule.

Semantics (the decisions behind the table):

- Letters are digits, and different letters are different digits: ``AABB`` needs A != B,
  ``ABCABC`` three distinct digits, ``ABCDABCD`` four. ``12121212`` is therefore ``ABAB``.
- Runs keep only the longest: a number ending ``8888`` is ``TAIL_SAME_4``, not also
  ``TAIL_SAME_3``; runs of 8 or more are ``TAIL_SAME_8`` (the match covers the last 8 digits).
- Straights (顺子) step by exactly one with no wrap-around: ``7890`` and ``8901`` are not
  ascending, ``0123`` is; ``3210`` is descending, ``1098`` is not. Longest only, capped at 8.
- ``AABBCC`` replaces the ``AABB`` its last four digits also form.
- Lucky endings (``LUCKY_*``) are bonuses for the digits themselves and stack with shapes:
  ``8888`` is ``TAIL_SAME_4`` + ``LUCKY_888``.
- ``BIRTHDAY_YYYYMMDD``: the last eight digits are a real date with a year in 1950..2025
  (``20230229`` is not, ``20240229`` is). It replaces ``BIRTHDAY_MMDD``. ``BIRTHDAY_MMDD``
  (the last four are a month and day that exist in some year, 0229 included) only counts when
  no other pattern already explains those four digits, so ``1111`` is a four-run, not a birthday.
- ``NO_FOUR`` looks at all 11 digits (what "不含4" means to a buyer); ``FOUR_IN_TAIL`` is a
  penalty when any of the last four digits is 4. The two never match together.

The score is the sum of the matched rules' scores; the tier is a monotone step function of
the score (:data:`TIER_THRESHOLDS`), so gaining a positive pattern never lowers the tier.
``pattern_mask`` sets bit ``PATTERN_BITS[code]`` for each match; bit positions are stored in
the database and must never change or be reused.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from haoka.core.errors import ValidationError
from haoka.core.phone import InvalidMsisdn  # the one shared class, code "invalid_msisdn"

#: The years a ``BIRTHDAY_YYYYMMDD`` tail may carry (a constant: domain code reads no clock).
BIRTHDAY_YEARS = range(1950, 2026)


class Tier(enum.StrEnum):
    """Vanity tier, best first. ``NORMAL`` is stored as ``"N"``."""

    S = "S"
    A = "A"
    B = "B"
    C = "C"
    D = "D"
    NORMAL = "N"

    @property
    def rank(self) -> int:
        """0 for S (best) .. 5 for NORMAL."""
        return _TIER_ORDER.index(self)

    @property
    def label(self) -> str:
        """Short Chinese label: "A 级", "普通"."""
        return "普通" if self is Tier.NORMAL else f"{self.value} 级"

    @property
    def title(self) -> str:
        """What the goods are called: "A 级靓号", "普通号"."""
        return "普通号" if self is Tier.NORMAL else f"{self.value} 级靓号"


_TIER_ORDER = tuple(Tier)

#: Lowest score of each tier, best tier first; below the last one a number is NORMAL.
TIER_THRESHOLDS: tuple[tuple[int, Tier], ...] = (
    (1500, Tier.S),
    (500, Tier.A),
    (200, Tier.B),
    (80, Tier.C),
    (30, Tier.D),
)


def tier_for_score(*, score: int) -> Tier:
    """The tier of a total score (monotone: a higher score never gives a worse tier)."""
    for minimum, tier in TIER_THRESHOLDS:
        if score >= minimum:
            return tier
    return Tier.NORMAL


@dataclass(frozen=True, slots=True)
class PatternMatch:
    """One matched rule: the digits ``msisdn[start:start + length]``."""

    code: str
    label: str
    score: int
    start: int
    length: int

    def digits(self, msisdn: str) -> str:
        return msisdn[self.start : self.start + self.length]


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of the vanity table.

    ``detect(msisdn)`` looks only at the last ``window`` digits. Rules with a window over four
    also carry ``gate``, a necessary condition on the last four digits alone, used to skip them
    quickly. A matched rule is dropped when any code in ``yields_to`` also matched.
    """

    code: str
    bit: int
    label: str
    explain: str  # "{d}" is replaced by the matched digits
    score: int
    window: int
    detect: Callable[[str], bool]
    gate: Callable[[str], bool] | None = None
    yields_to: tuple[str, ...] = ()

    @property
    def match(self) -> PatternMatch:
        return PatternMatch(self.code, self.label, self.score, 11 - self.window, self.window)


@dataclass(frozen=True, slots=True)
class Classification:
    """The vanity verdict for one number (shared between numbers with the same patterns)."""

    matches: tuple[PatternMatch, ...]
    score: int
    tier: Tier
    pattern_mask: int

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(m.code for m in self.matches)


def _shape(digits: str) -> str:
    """Letter shape of a digit string: "8899" -> "AABB", "1231" -> "ABCA"."""
    letters: dict[str, str] = {}
    return "".join(letters.setdefault(d, "ABCDEFGHIJ"[len(letters)]) for d in digits)


def _straights(alphabet: str, n: int) -> frozenset[str]:
    return frozenset(alphabet[i : i + n] for i in range(len(alphabet) - n + 1))


_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_mmdd(t: str) -> bool:
    month, day = int(t[:2]), int(t[2:])
    return 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]


def _is_yyyymmdd(s: str) -> bool:
    year, month, day = int(s[-8:-4]), int(s[-4:-2]), int(s[-2:])
    if year not in BIRTHDAY_YEARS or not _is_mmdd(s[-4:]):
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return not (month == 2 and day == 29 and not leap)


_CN_COUNT = {3: "三", 4: "四", 5: "五", 6: "六", 7: "七", 8: "八"}
_SAME_SCORES = {3: 100, 4: 400, 5: 900, 6: 1600, 7: 4000, 8: 10000}
_ASC_SCORES = {4: 200, 5: 450, 6: 900, 7: 1800, 8: 3000}
_DESC_SCORES = {4: 160, 5: 380, 6: 750, 7: 1500, 8: 2500}


def _same_rules() -> list[Rule]:
    def rule(n: int) -> Rule:
        name = "豹子" if n == 3 else f"{_CN_COUNT[n]}连"
        return Rule(
            f"TAIL_SAME_{n}", n - 3, f"尾号{name} {'A' * n}", f"尾号 {{d}} 为{name}号（{'A' * n}）",
            _SAME_SCORES[n], n,
            detect=lambda s: s.endswith(s[-1] * n),
            gate=(lambda t: t == t[0] * 4) if n > 4 else None,
            yields_to=tuple(f"TAIL_SAME_{m}" for m in range(n + 1, 9)),
        )  # fmt: skip

    return [rule(n) for n in range(3, 9)]


def _straight_rules(code: str, first_bit: int, alphabet: str, word: str) -> list[Rule]:
    scores = _ASC_SCORES if code == "ASC" else _DESC_SCORES

    def rule(n: int) -> Rule:
        runs, runs4 = _straights(alphabet, n), _straights(alphabet, 4)
        return Rule(
            f"{code}_{n}", first_bit + n - 4, f"{_CN_COUNT[n]}位顺子（{word}）",
            f"尾号 {{d}} 为{_CN_COUNT[n]}位{word}顺子", scores[n], n,
            detect=lambda s: s[-n:] in runs,
            gate=(lambda t: t in runs4) if n > 4 else None,
            yields_to=tuple(f"{code}_{m}" for m in range(n + 1, 9)),
        )  # fmt: skip

    return [rule(n) for n in range(4, 9)]


def _shape_rule(shape: str, bit: int, score: int, gate_shape: str | None = None) -> Rule:
    n = len(shape)
    return Rule(
        shape, bit, shape, f"尾号 {{d}} 为 {shape} 型", score, n,
        detect=lambda s: _shape(s[-n:]) == shape,
        gate=(lambda t: _shape(t) == gate_shape) if gate_shape else None,
        yields_to=("AABBCC",) if shape == "AABB" else (),
    )  # fmt: skip


def _lucky_rule(tail: str, bit: int, meaning: str, score: int) -> Rule:
    return Rule(
        f"LUCKY_{tail}", bit, f"尾号{tail}（{meaning}）", f"尾号 {{d}} 谐音“{meaning}”",
        score, len(tail), detect=lambda s: s.endswith(tail),
    )  # fmt: skip


#: Codes that already explain the last four digits, so BIRTHDAY_MMDD adds nothing there.
_EXPLAINS_LAST_FOUR = (
    "BIRTHDAY_YYYYMMDD", "AAAB", "AABB", "ABAB", "ABBA", "AABBCC", "ABCABC", "ABCDABCD",
    "LUCKY_1314", *(f"TAIL_SAME_{n}" for n in range(4, 9)),
    *(f"{c}_{n}" for c in ("ASC", "DESC") for n in range(4, 9)),
)  # fmt: skip

#: The vanity table. ``bit`` is stored in the database: never change or reuse one.
RULES: tuple[Rule, ...] = (
    *_same_rules(),  # bits 0..5
    Rule("AAAB", 6, "尾号 AAAB", "尾号 {d} 为三同带一（AAAB）", 90, 4,
         detect=lambda s: _shape(s[-4:]) == "AAAB"),
    *_straight_rules("ASC", 7, "0123456789", "升序"),  # bits 7..11
    *_straight_rules("DESC", 12, "9876543210", "降序"),  # bits 12..16
    _shape_rule("AABB", 17, 220),
    _shape_rule("ABAB", 18, 200),
    _shape_rule("ABBA", 19, 150),
    _shape_rule("AABBCC", 20, 800, gate_shape="AABB"),
    _shape_rule("ABCABC", 21, 700, gate_shape="ABCA"),
    Rule("ABCDABCD", 22, "ABCDABCD", "尾号 {d} 为 ABCDABCD 型", 2000, 8,
         detect=lambda s: s[-8:-4] == s[-4:] and _shape(s[-4:]) == "ABCD",
         gate=lambda t: _shape(t) == "ABCD"),
    _lucky_rule("168", 23, "一路发", 100),
    _lucky_rule("518", 24, "我要发", 80),
    _lucky_rule("520", 25, "我爱你", 100),
    _lucky_rule("521", 26, "我爱你", 100),
    _lucky_rule("1314", 27, "一生一世", 120),
    _lucky_rule("888", 28, "发发发", 120),
    _lucky_rule("666", 29, "六六大顺", 100),
    _lucky_rule("999", 30, "长长久久", 100),
    Rule("BIRTHDAY_YYYYMMDD", 31, "生日号（年月日）", "尾号 {d} 为有效日期（生日全号）", 300,
         8, detect=_is_yyyymmdd, gate=_is_mmdd),
    Rule("BIRTHDAY_MMDD", 32, "生日号（月日）", "尾号 {d} 为有效月日（生日号）", 40, 4,
         detect=lambda s: _is_mmdd(s[-4:]), yields_to=_EXPLAINS_LAST_FOUR),
    Rule("NO_FOUR", 33, "不含4", "全号不含数字 4", 20, 11,
         detect=lambda s: "4" not in s, gate=lambda t: "4" not in t),
    Rule("FOUR_IN_TAIL", 34, "尾四位含4", "尾号 {d} 含数字 4", -30, 4,
         detect=lambda s: "4" in s[-4:]),
)  # fmt: skip

RULES_BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}

#: Stable bit position of each rule code in ``Classification.pattern_mask``.
PATTERN_BITS: dict[str, int] = {rule.code: rule.bit for rule in RULES}

assert len(set(PATTERN_BITS.values())) == len(RULES), "duplicate pattern bit"
assert all(0 <= bit < 63 for bit in PATTERN_BITS.values()), "bit must fit a signed BIGINT"
assert all(code in RULES_BY_CODE for rule in RULES for code in rule.yields_to)

_FLAG = {rule.code: 1 << rule.bit for rule in RULES}
_SHORT_RULES = tuple(rule for rule in RULES if rule.window <= 4)
_LONG_RULES = tuple(rule for rule in RULES if rule.window > 4)
assert all(rule.gate is not None for rule in _LONG_RULES)

# Per last-four-digits: (mask of short rules matched, long rules still worth testing).
_TAIL4: dict[str, tuple[int, tuple[tuple[int, Callable[[str], bool]], ...]]] = {}


def _tail4_entry(t4: str) -> tuple[int, tuple[tuple[int, Callable[[str], bool]], ...]]:
    # Short rules see only their last `window` digits, so running them on t4 alone is exact.
    mask = 0
    for rule in _SHORT_RULES:
        if rule.detect(t4):
            mask |= _FLAG[rule.code]
    gated = [rule for rule in _LONG_RULES if rule.gate and rule.gate(t4)]
    candidates = tuple((_FLAG[rule.code], rule.detect) for rule in gated)
    entry = _TAIL4[t4] = (mask, candidates)
    return entry


@functools.cache
def _classification_for_mask(raw_mask: int) -> Classification:
    # Matches are constants of their rules, so the verdict is a function of the raw mask;
    # the number of distinct raw masks is small, so this cache stays small.
    kept = [
        rule for rule in RULES
        if raw_mask & _FLAG[rule.code]
        and not any(raw_mask & _FLAG[code] for code in rule.yields_to)
    ]  # fmt: skip
    score = sum(rule.score for rule in kept)
    return Classification(
        matches=tuple(rule.match for rule in kept),
        score=score,
        tier=tier_for_score(score=score),
        pattern_mask=sum(_FLAG[rule.code] for rule in kept),
    )


def classify(msisdn: str) -> Classification:
    """Classify an 11-digit national number against :data:`RULES`.

    The one argument may be passed by position (this runs once per imported number).
    Only the digits matter: validity as a phone number is :func:`domain.parse_msisdn`'s job.
    Raises InvalidMsisdn when ``msisdn`` is not exactly 11 ASCII digits.
    """
    if len(msisdn) != 11 or not msisdn.isascii() or not msisdn.isdigit():
        raise InvalidMsisdn(reason="not_11_digits")
    t4 = msisdn[7:]
    mask, candidates = _TAIL4.get(t4) or _tail4_entry(t4)
    for flag, detect in candidates:
        if detect(msisdn):
            mask |= flag
    return _classification_for_mask(mask)


def pattern_codes(pattern_mask: int) -> list[str]:
    """The rule codes whose bits are set in a stored ``pattern_mask``, in table order."""
    return [rule.code for rule in RULES if pattern_mask & _FLAG[rule.code]]


def explain_match(*, match: PatternMatch, msisdn: str) -> str:
    """One Chinese sentence for a match: "尾号 8888 为四连号（AAAA），+400 分"."""
    text = RULES_BY_CODE[match.code].explain.format(d=match.digits(msisdn))
    return f"{text}，{match.score:+d} 分"


# ---------------------------------------------------------------- suggestions


class InvalidSuggestionInput(ValidationError):
    code = "invalid_suggestion_input"
    message = "喜欢的数字须为 1 到 6 位数字"


@dataclass(frozen=True, slots=True)
class SuggestionTail:
    """Digits to look for: at the end of the number (``at_end``) or anywhere in it."""

    tail: str
    at_end: bool
    reason: str


def _favourite_tails(f: str) -> list[SuggestionTail]:
    def end(digits: str, reason: str) -> SuggestionTail:
        return SuggestionTail(digits, True, reason)

    found = [end(f, f"尾号为喜欢的数字 {f}")]
    if len(set(f)) == 1:
        found += [end(f[0] * n, f"尾号 {n} 个 {f[0]}") for n in range(3, 6) if n > len(f)]
    elif len(f) == 2:
        a, b = f
        found += [
            end(a + a + b, f"尾号 {a}{a}{b}（AAB）"),
            end(a + b + b, f"尾号 {a}{b}{b}（ABB）"),
            end(f + f, f"尾号 {f}{f}（ABAB）"),
            end(a + a + b + b, f"尾号 {a}{a}{b}{b}（AABB）"),
        ]
    elif len(f) <= 4:
        found.append(end(f + f, f"尾号 {f}{f}（重复两次）"))
    found.append(SuggestionTail(f, False, f"号码中含有 {f}"))
    return found


def suggestion_tails(
    *, birthday: date | None, favourite_digits: str | None
) -> list[SuggestionTail]:
    """Digits worth searching for a customer's birthday and favourite digits, best first,
    without repeats; [] when both are None.

    Raises InvalidSuggestionInput unless favourite digits are 1 to 6 ASCII digits.
    """
    found: list[SuggestionTail] = []
    if birthday is not None:
        ymd = birthday.strftime("%Y%m%d")
        found += [
            SuggestionTail(ymd, True, "生日全号（年月日）"),
            SuggestionTail(ymd[2:], True, "生日（年份后两位 + 月日）"),
            SuggestionTail(ymd[4:], True, "生日月日"),
        ]
    if favourite_digits is not None:
        f = favourite_digits
        if not (isinstance(f, str) and 1 <= len(f) <= 6 and f.isascii() and f.isdigit()):
            raise InvalidSuggestionInput(favourite_digits=str(f)[:20])
        found += _favourite_tails(f)
    unique: dict[tuple[str, bool], SuggestionTail] = {}
    for item in found:
        unique.setdefault((item.tail, item.at_end), item)
    return list(unique.values())
