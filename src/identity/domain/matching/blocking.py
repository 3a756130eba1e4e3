"""Blocking keys: which earlier records a new one is compared with.

A rule is a tuple of terms; a term is a field, or `transform:field` (`metaphone:last_name`,
`prefix3:postcode`, `year:date_of_birth`). A record yields one key per rule whose fields it
all has, so records compared are those that agree exactly on some rule's terms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import jellyfish
import numpy as np
import numpy.typing as npt

from identity.domain.matching.model import Record
from identity.domain.matching.nicknames import canonical_name

TRANSFORMS: dict[str, Callable[[str], str]] = {
    "": lambda v: v,
    "metaphone": lambda v: str(jellyfish.metaphone(v)),
    "nysiis": lambda v: str(jellyfish.nysiis(v)),
    "nickname": canonical_name,
    "prefix3": lambda v: v[:3],
    "year": lambda v: v[:4],
    "digits7": lambda v: "".join(ch for ch in v if ch.isdigit())[-7:],
}


def _transform(term: str) -> tuple[Callable[[str], str], str]:
    transform, _, field = term.rpartition(":")
    if transform not in TRANSFORMS:
        raise ValueError(f"blocking term {term!r}: unknown transform {transform!r}")
    return TRANSFORMS[transform], field


def _value(transform: Callable[[str], str], raw: str | None) -> str | None:
    if not raw:
        return None
    return transform(" ".join(raw.casefold().split())) or None


def _term(term: str, record: Record) -> str | None:
    transform, field = _transform(term)
    return _value(transform, record.get(field))


def blocking_keys(rules: tuple[tuple[str, ...], ...], record: Mapping[str, str | None]
                  ) -> list[str]:
    """Keys carry their rule's position, so equal values under different rules never meet."""
    keys: list[str] = []
    for position, rule in enumerate(rules):
        values = [_term(term, record) for term in rule]
        if all(v is not None for v in values):
            keys.append(f"{position}:" + "\x1f".join(v for v in values if v is not None))
    return keys


def rule_blocks(rules: tuple[tuple[str, ...], ...], records: Sequence[Record]
                ) -> list[npt.NDArray[np.int64]]:
    """Per rule, each record's block as a number (-1: no key under this rule). The blocks
    `blocking_keys` names one record at a time, for many records at once: each term is
    computed once per distinct value, and a rule's terms combine as integers."""
    terms: dict[str, npt.NDArray[np.int64]] = {}
    for term in {term for rule in rules for term in rule}:
        transform, field = _transform(term)
        numbers: dict[str, int] = {}
        by_raw: dict[str | None, int] = {}
        found = []
        for record in records:
            raw = record.get(field)
            number = by_raw.get(raw)
            if number is None:
                value = _value(transform, raw)
                number = by_raw[raw] = -1 if value is None else numbers.setdefault(
                    value, len(numbers))
            found.append(number)
        terms[term] = np.array(found, dtype=np.int64)
    blocks = []
    for rule in rules:
        combined = terms[rule[0]] if rule else np.zeros(len(records), dtype=np.int64)
        for term in rule[1:]:
            other = terms[term]
            joined = np.where((combined >= 0) & (other >= 0),
                              combined * (int(other.max(initial=0)) + 1) + other, -1)
            distinct, combined = np.unique(joined, return_inverse=True)
            if len(distinct) and distinct[0] == -1:
                combined = combined - 1  # keep "no key" at -1, and numbers small
        blocks.append(combined.astype(np.int64))
    return blocks
