"""Comparison vectors for many pairs at once: rapidfuzz's C loops instead of Python's.

Gives exactly what `MatchModel.vector` gives pair by pair (a property test holds the two
together); batch matching and training compare hundreds of thousands of pairs, where the
per-pair Python path costs seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein

from identity.domain.matching.levels import PREDICATES, Level, fold
from identity.domain.matching.model import MatchModel, Record

BoolArray = Any  # numpy's bool arrays; numpy's own annotations need its mypy plugin

# Kinds rapidfuzz scores element-wise: (scorer, scale, is a similarity).
_VECTOR_SCORERS: dict[str, tuple[Callable[..., float], float, bool]] = {
    "jaro_winkler": (JaroWinkler.similarity, 1.0, True),
    "levenshtein": (Levenshtein.distance, 1.0, False),
    "damerau_levenshtein": (DamerauLevenshtein.distance, 1.0, False),
    "token_set": (fuzz.token_set_ratio, 100.0, True),
}


def _hits(level: Level, left: list[str], right: list[str]) -> BoolArray:
    if level.kind == "null":
        return np.array([not a or not b for a, b in zip(left, right, strict=True)], dtype=bool)
    if level.kind == "else":
        return np.ones(len(left), dtype=bool)
    if level.kind == "exact":
        return np.array([a == b for a, b in zip(left, right, strict=True)], dtype=bool)
    if level.kind in _VECTOR_SCORERS:
        scorer, scale, is_similarity = _VECTOR_SCORERS[level.kind]
        scores = process.cpdist(left, right, scorer=scorer, dtype=np.float64) / scale
        limit = level.threshold if level.threshold is not None else float("nan")
        return scores >= limit if is_similarity else scores <= limit
    predicate = PREDICATES[level.kind]
    return np.array([bool(a and b) and predicate(a, b, level)
                     for a, b in zip(left, right, strict=True)], dtype=bool)


def vectors(model: MatchModel, lefts: Sequence[Record], rights: Sequence[Record]
            ) -> list[tuple[int, ...]]:
    """The level each comparison reaches for each pair (lefts[i], rights[i])."""
    count = len(lefts)
    if count == 0:
        return []
    columns = []
    for comparison in model.comparisons:
        left = [fold(r.get(comparison.field) or "") for r in lefts]
        right = [fold(r.get(comparison.field) or "") for r in rights]
        chosen = np.full(count, len(comparison.levels) - 1, dtype=np.int64)
        open_ = np.ones(count, dtype=bool)
        for index, level in enumerate(comparison.levels[:-1]):
            if not open_.any():
                break
            hit = _hits(level, left, right) & open_
            chosen[hit] = index
            open_ &= ~hit
        columns.append(chosen)
    return [tuple(int(v) for v in row) for row in np.stack(columns, axis=1)]
