"""Blocking keys: which earlier records a new one is compared with.

A rule is a tuple of terms; a term is a field, or `transform:field` (`metaphone:last_name`,
`prefix3:postcode`, `year:date_of_birth`). A record yields one key per rule whose fields it
all has, so records compared are those that agree exactly on some rule's terms.
`blocked_pairs` finds every such pair in a batch of records at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import jellyfish
import numpy as np

from identity.domain.matching.levels import fold
from identity.domain.matching.model import FieldValues
from identity.domain.matching.nicknames import canonical_name
from identity.domain.matching.vectorized import IntArray

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
    return transform(fold(raw)) or None  # as the comparisons fold it, or equal values part


def _term(term: str, record: FieldValues) -> str | None:
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


def rule_blocks(rules: tuple[tuple[str, ...], ...], records: Sequence[FieldValues]
                ) -> list[IntArray]:
    """Per rule, each record's block as a number (-1: no key under this rule). The blocks
    `blocking_keys` names one record at a time, for many records at once: each term is
    computed once per distinct value, and a rule's terms combine as integers."""
    terms: dict[str, IntArray] = {}
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


def blocked_pairs(rows: Sequence[FieldValues], rules: tuple[tuple[str, ...], ...], max_block: int,
                  origin: IntArray | None = None
                  ) -> tuple[IntArray, IntArray, list[tuple[str, int]]]:
    """Batch blocking: pairs (left < right) of positions in `rows` that share a block under
    some rule, each once, sorted; with `origin` (a number per row), only pairs across
    origins. Blocks over `max_block` are skipped and returned as (key, size)."""
    count = len(rows)
    found = [np.empty(0, dtype=np.int64)]
    oversized: list[tuple[str, int]] = []
    for position, blocks in enumerate(rule_blocks(rules, rows)):
        left, right, skipped = _pairs_within(blocks, max_block)
        prefix = f"{position}:"
        oversized += [(next(k for k in blocking_keys(rules, rows[member])
                            if k.startswith(prefix)), size) for member, size in skipped]
        if origin is not None:
            across = origin[left] != origin[right]
            left, right = left[across], right[across]
        found.append(left * count + right)
    pairs = np.unique(np.concatenate(found))
    return pairs // max(count, 1), pairs % max(count, 1), sorted(oversized)


def _pairs_within(blocks: IntArray, max_block: int
                  ) -> tuple[IntArray, IntArray, list[tuple[int, int]]]:
    """Every pair inside each block (-1 is no block), without a Python loop over blocks; and
    the blocks over `max_block`, as (a member, size)."""
    members = np.flatnonzero(blocks >= 0)
    order = members[np.argsort(blocks[members], kind="stable")]  # ascending within a block
    if not len(order):
        return order, order, []
    keyed = blocks[order]
    starts = np.flatnonzero(np.r_[True, keyed[1:] != keyed[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    too_big = sizes > max_block
    skipped = [(int(order[s]), int(n)) for s, n in zip(starts[too_big], sizes[too_big],
                                                       strict=True)]
    # member at sorted position p pairs with every later member of its block
    later = np.repeat(starts + sizes, sizes) - np.arange(len(order)) - 1
    later[np.repeat(too_big, sizes)] = 0
    left_at = np.repeat(np.arange(len(order)), later)
    first = np.repeat(np.cumsum(later) - later, later)
    right_at = left_at + 1 + np.arange(len(left_at)) - first
    return order[left_at], order[right_at], skipped
