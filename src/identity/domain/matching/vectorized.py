"""Comparison vectors for many pairs at once: integer equality and rapidfuzz's C loops.

`RecordColumns` folds each compared field of every record once and numbers its distinct
values. A keyed level (exact, metaphone, nickname, ...) is then one numpy equality over the
pairs' key numbers, and a scored level (Jaro-Winkler, edit distances, token sets) runs rapidfuzz
once per distinct pair of values, not once per pair. Both read the tables in `levels`, and a
property test holds the result equal to `MatchModel.vector` pair by pair.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import numpy.typing as npt
from rapidfuzz import process

from identity.domain.matching.levels import KEYED, SCORED, Level, fold, limit
from identity.domain.matching.model import Comparison, FieldValues, MatchModel

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MISSING = 0  # the code of a blank or absent value in every column


class FieldColumn:
    """One field of every record: `codes[record]` indexes `values`, its distinct folded values
    (`values[0]` is the blank, for missing ones)."""

    __slots__ = ("_keys", "codes", "values")

    def __init__(self, raw: Iterable[str | None]) -> None:
        index: dict[str, int] = {"": MISSING}
        by_raw: dict[str | None, int] = {}
        codes: list[int] = []
        for value in raw:
            code = by_raw.get(value)
            if code is None:
                code = by_raw[value] = index.setdefault(fold(value or ""), len(index))
            codes.append(code)
        self.values = list(index)
        self.codes: IntArray = np.array(codes, dtype=np.int64)
        self._keys: dict[tuple[str, float | None, int | None], tuple[IntArray, IntArray]] = {}

    def keys(self, level: Level) -> tuple[IntArray, IntArray]:
        """Per distinct value, a number for its left key and one for its right key: equal
        numbers, equal keys. A value without a key gets -1 on the left and -2 on the right."""
        cached = (level.kind, level.threshold, level.length)
        if cached not in self._keys:
            left_key, right_key = KEYED[level.kind]
            numbers: dict[str, int] = {}

            def number(key_of: Callable[[str, Level], str | None], none: int) -> IntArray:
                found = [none] + [none if (key := key_of(v, level)) is None
                                  else numbers.setdefault(key, len(numbers))
                                  for v in self.values[1:]]
                return np.array(found, dtype=np.int64)

            left = number(left_key, -1)
            right = (np.where(left < 0, -2, left) if right_key is left_key
                     else number(right_key, -2))
            self._keys[cached] = (left, right)
        return self._keys[cached]

    def scores(self, scorer: Callable[..., float], left: IntArray, right: IntArray
               ) -> FloatArray:
        """`scorer` on the values behind each pair of codes, once per distinct pair."""
        width = len(self.values)
        distinct, position = np.unique(left * width + right, return_inverse=True)
        values = np.array(self.values, dtype=object)
        found = process.cpdist(values[distinct // width], values[distinct % width],
                               scorer=scorer, dtype=np.float64, workers=-1)
        return np.asarray(found, dtype=np.float64)[position]


class RecordColumns:
    """The records as comparisons see them; pairs are (left, right) arrays of positions."""

    def __init__(self, records: Sequence[FieldValues], fields: Iterable[str]) -> None:
        self.size = len(records)
        self.fields = {name: FieldColumn([r.get(name) for r in records])
                       for name in dict.fromkeys(fields)}

    def levels(self, comparisons: Sequence[Comparison], left: IntArray, right: IntArray
               ) -> IntArray:
        """One row per pair, one column per comparison: the level it reaches."""
        found = np.empty((len(left), len(comparisons)), dtype=np.int64)
        for k, comparison in enumerate(comparisons):
            found[:, k] = self._ladder(comparison, left, right)
        return found

    def _ladder(self, comparison: Comparison, left: IntArray, right: IntArray) -> IntArray:
        column = self.fields[comparison.field]
        a, b = column.codes[left], column.codes[right]
        chosen = np.full(len(a), len(comparison.levels) - 1, dtype=np.int64)
        open_ = np.ones(len(a), dtype=bool)
        scores: dict[str, FloatArray] = {}  # two thresholds on one scorer score once
        for index, level in enumerate(comparison.levels[:-1]):
            if not open_.any():
                break
            hit = self._hits(column, level, a, b, open_, scores) & open_
            chosen[hit] = index
            open_ &= ~hit
        return chosen

    @staticmethod
    def _hits(column: FieldColumn, level: Level, a: IntArray, b: IntArray, open_: BoolArray,
              scores: dict[str, FloatArray]) -> BoolArray:
        if level.kind == "null":
            missing: BoolArray = (a == MISSING) | (b == MISSING)
            return missing
        if level.kind in KEYED:
            left_keys, right_keys = column.keys(level)
            same: BoolArray = left_keys[a] == right_keys[b]
            return same
        scorer, scale, is_similarity = SCORED[level.kind]
        threshold = limit(level)
        known = scores.setdefault(level.kind, np.full(len(a), np.nan))
        todo = np.flatnonzero(open_ & (a != MISSING) & (b != MISSING) & np.isnan(known))
        if todo.size:
            known[todo] = column.scores(scorer, a[todo], b[todo]) / scale
        return known >= threshold if is_similarity else known <= threshold  # NaN: never


def model_fields(model: MatchModel) -> list[str]:
    return [c.field for c in model.comparisons]


def vectors(model: MatchModel, lefts: Sequence[FieldValues], rights: Sequence[FieldValues]
            ) -> list[tuple[int, ...]]:
    """The level each comparison reaches for each pair (lefts[i], rights[i])."""
    count = len(lefts)
    columns = RecordColumns([*lefts, *rights], model_fields(model))
    found = columns.levels(model.comparisons, np.arange(count, dtype=np.int64),
                           np.arange(count, 2 * count, dtype=np.int64))
    return [tuple(row) for row in found.tolist()]
