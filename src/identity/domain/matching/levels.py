"""Comparison levels: the rungs of a comparison's ladder, as data.

A level names a predicate and its parameters; the scorer never asks which field it is
comparing (the Splink habit): a new field or a new rung is configuration, not a new branch.

Every predicate sees folded values (case and runs of spaces folded; a blank is missing and
never reaches one). Most kinds hold when a key of one value equals a key of the other
(`KEYED`), and the rest threshold a rapidfuzz score (`SCORED`): batch matching computes keys
once per record and scores once per distinct pair of values, from these same tables, so the
pair-by-pair path and the batch path cannot drift apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial

import jellyfish
from rapidfuzz import fuzz
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein

from identity.domain.matching.nicknames import canonical_name

Predicate = Callable[[str, str, "Level"], bool]
KeyFunction = Callable[[str, "Level"], str | None]  # None: this value matches nothing


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
        left, right = fold(a or ""), fold(b or "")
        missing = not left or not right
        if self.kind == "null":
            return missing
        if self.kind == "else":
            return True
        return not missing and PREDICATES[self.kind](left, right, self)


@lru_cache(maxsize=262_144)
def fold(value: str) -> str:
    """Cached: the same names and towns are compared again and again. NFKC first: a name
    typed full-width compares as the same letters (traits are stored as sent, in NFC)."""
    if not value.isascii():
        value = unicodedata.normalize("NFKC", value)
    return " ".join(value.casefold().split())


def limit(level: Level) -> float:
    if level.threshold is None:
        raise ValueError(f"level {level.label!r} ({level.kind}) needs a threshold")
    return level.threshold


def _size(level: Level) -> int:
    if level.length is None:
        raise ValueError(f"level {level.label!r} ({level.kind}) needs a length")
    return level.length


def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def _whole(value: str, _: Level) -> str:
    return value


def _metaphone(value: str, _: Level) -> str | None:
    return str(jellyfish.metaphone(value)) or None


def _nysiis(value: str, _: Level) -> str | None:
    return str(jellyfish.nysiis(value)) or None


def _nickname(value: str, _: Level) -> str:
    return canonical_name(value)


def _year(value: str, _: Level) -> str | None:
    return value[:4] if len(value) >= 4 else None


def _prefix(value: str, level: Level) -> str:
    return value[: _size(level)]


def _digits_suffix(value: str, level: Level) -> str | None:
    digits, size = _digits(value), _size(level)
    return digits[-size:] if len(digits) >= size else None


def _email_local(value: str, _: Level) -> str:
    return value.split("@")[0]


def _date(value: str, _: Level) -> str | None:
    return value[:4] + value[5:7] + value[8:10] if len(value) == 10 else None


def _date_swapped(value: str, _: Level) -> str | None:
    """1980-07-03 keys as 1980-03-07 does: day and month swapped on entry."""
    return value[:4] + value[8:10] + value[5:7] if len(value) == 10 else None


# kind -> (key of the left value, key of the right value); the level holds when they are equal.
KEYED: dict[str, tuple[KeyFunction, KeyFunction]] = {
    "exact": (_whole, _whole),
    "metaphone": (_metaphone, _metaphone),
    "nysiis": (_nysiis, _nysiis),
    "nickname": (_nickname, _nickname),
    "date_transposed": (_date, _date_swapped),
    "same_year": (_year, _year),
    "prefix": (_prefix, _prefix),
    "digits_suffix": (_digits_suffix, _digits_suffix),
    "email_local": (_email_local, _email_local),
}

_NUMBER = re.compile(r"\d+")


def address_tokens(a: str, b: str, *, processor: object = None,
                   score_cutoff: float | None = None) -> float:
    """Token-set similarity of two address lines, 0 when both give house numbers and no
    number is common to them: 83 rue Pasteur and 196 rue Pasteur are neighbours' addresses,
    not one address spelled two ways. (A rapidfuzz scorer: batch matching calls it too.)"""
    numbers_a, numbers_b = set(_NUMBER.findall(a)), set(_NUMBER.findall(b))
    if numbers_a and numbers_b and numbers_a.isdisjoint(numbers_b):
        return 0.0
    return float(fuzz.token_set_ratio(a, b))


# kind -> (scorer, scale, is a similarity): the level holds when score / scale reaches the
# threshold (a similarity floor) or stays within it (a distance ceiling).
SCORED: dict[str, tuple[Callable[..., float], float, bool]] = {
    "jaro_winkler": (JaroWinkler.similarity, 1.0, True),
    "levenshtein": (Levenshtein.distance, 1.0, False),
    "damerau_levenshtein": (DamerauLevenshtein.distance, 1.0, False),
    "token_set": (fuzz.token_set_ratio, 100.0, True),
    "address_tokens": (address_tokens, 100.0, True),
}


def _keys_equal(left: KeyFunction, right: KeyFunction, a: str, b: str, level: Level) -> bool:
    key = left(a, level)
    return key is not None and key == right(b, level)


def _scores_within(scorer: Callable[..., float], scale: float, is_similarity: bool,
                   a: str, b: str, level: Level) -> bool:
    threshold = limit(level)
    value = scorer(a, b) / scale
    return value >= threshold if is_similarity else value <= threshold


# Each kind's predicate: one of the two above with its row of KEYED or SCORED bound first
# (a partial, not a closure made at import: mutation testing sees only code tests run).
PREDICATES: dict[str, Predicate] = {
    **{kind: partial(_keys_equal, *keys) for kind, keys in KEYED.items()},
    **{kind: partial(_scores_within, *scorer) for kind, scorer in SCORED.items()},
}
KINDS = frozenset({"null", "else", *PREDICATES})
