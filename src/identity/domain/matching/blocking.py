"""Blocking keys: which earlier records a new one is compared with.

A rule is a tuple of terms; a term is a field, or `transform:field` (`metaphone:last_name`,
`prefix3:postcode`, `year:date_of_birth`). A record yields one key per rule whose fields it
all has, so records compared are those that agree exactly on some rule's terms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import jellyfish

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


def _term(term: str, record: Record) -> str | None:
    transform, _, field = term.rpartition(":")
    if transform not in TRANSFORMS:
        raise ValueError(f"blocking term {term!r}: unknown transform {transform!r}")
    raw = record.get(field)
    if not raw:
        return None
    value = TRANSFORMS[transform](" ".join(raw.casefold().split()))
    return value or None


def blocking_keys(rules: tuple[tuple[str, ...], ...], record: Mapping[str, str | None]
                  ) -> list[str]:
    """Keys carry their rule's position, so equal values under different rules never meet."""
    keys: list[str] = []
    for position, rule in enumerate(rules):
        values = [_term(term, record) for term in rule]
        if all(v is not None for v in values):
            keys.append(f"{position}:" + "\x1f".join(v for v in values if v is not None))
    return keys
