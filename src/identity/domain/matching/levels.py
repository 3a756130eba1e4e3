"""Comparison levels: the rungs of a comparison's ladder, as data.

A level names a predicate and its parameters; the scorer never asks which field it is
comparing (the Splink habit): a new field or a new rung is configuration, not a new branch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import jellyfish
from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein

from identity.domain.matching.nicknames import canonical_name

Predicate = Callable[[str, str, "Level"], bool]


@dataclass(frozen=True, slots=True)
class Level:
    """`kind` picks the predicate; `threshold` is a similarity floor or a distance ceiling and
    `length` a prefix or suffix length, depending on the kind."""

    label: str
    kind: str
    threshold: float | None = None
    length: int | None = None
    tf_adjusted: bool = False  # an exact match on a rare value says more than on a common one
    m: float | None = None  # P(this level | same person); None on the null level
    u: float | None = None  # P(this level | different people)

    def matches(self, a: str | None, b: str | None) -> bool:
        """A blank value is a missing one: it matches the null level and nothing else."""
        missing = not a or not b or not fold(a) or not fold(b)
        if self.kind == "null":
            return missing
        if self.kind == "else":
            return True
        if missing or a is None or b is None:
            return False
        return PREDICATES[self.kind](a, b, self)


@lru_cache(maxsize=262_144)
def fold(value: str) -> str:
    """Cached: the same names and towns are compared again and again."""
    return " ".join(value.casefold().split())


def _limit(level: Level) -> float:
    if level.threshold is None:
        raise ValueError(f"level {level.label!r} ({level.kind}) needs a threshold")
    return level.threshold


def _size(level: Level) -> int:
    if level.length is None:
        raise ValueError(f"level {level.label!r} ({level.kind}) needs a length")
    return level.length


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _dates_transposed(a: str, b: str) -> bool:
    """1980-03-07 against 1980-07-03: day and month swapped on entry."""
    return len(a) == len(b) == 10 and a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7]


PREDICATES: dict[str, Predicate] = {
    "exact": lambda a, b, _: fold(a) == fold(b),
    "jaro_winkler": lambda a, b, lv: JaroWinkler.similarity(fold(a), fold(b)) >= _limit(lv),
    "levenshtein": lambda a, b, lv: Levenshtein.distance(fold(a), fold(b)) <= _limit(lv),
    "damerau_levenshtein": lambda a, b, lv: (
        DamerauLevenshtein.distance(fold(a), fold(b)) <= _limit(lv)),
    "metaphone": lambda a, b, _: (
        (code := jellyfish.metaphone(fold(a))) != "" and code == jellyfish.metaphone(fold(b))),
    "nysiis": lambda a, b, _: (
        (code := jellyfish.nysiis(fold(a))) != "" and code == jellyfish.nysiis(fold(b))),
    "nickname": lambda a, b, _: canonical_name(a) == canonical_name(b),
    "date_transposed": lambda a, b, _: _dates_transposed(a, b),
    "same_year": lambda a, b, _: len(a) >= 4 and a[:4] == b[:4],
    "token_set": lambda a, b, lv: fuzz.token_set_ratio(fold(a), fold(b)) / 100 >= _limit(lv),
    "prefix": lambda a, b, lv: fold(a)[: _size(lv)] == fold(b)[: _size(lv)],
    "digits_suffix": lambda a, b, lv: (
        len(_digits(a)) >= _size(lv) and _digits(a)[-_size(lv):] == _digits(b)[-_size(lv):]),
    "email_local": lambda a, b, _: fold(a).split("@")[0] == fold(b).split("@")[0],
}
KINDS = frozenset({"null", "else", *PREDICATES})
