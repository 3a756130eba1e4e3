"""Pair → level per comparison → Fellegi-Sunter weights, a probability and an explanation."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from identity.domain.matching.levels import Level, fold
from identity.domain.matching.model import Comparison, FieldValues, MatchModel

# How often each folded value occurs among records, per field: the u of a tf-adjusted level.
TermFrequencies = Mapping[str, Mapping[str, float]]
# The entry for every value a (compacted) table does not list; no real value is blank.
OTHER_VALUES = ""


class Bucket(StrEnum):
    """How a field's evidence reads to a person (the bar Senzing's why/how sets)."""

    SAME = "same"
    CLOSE = "close"
    LIKELY = "likely"
    UNLIKELY = "unlikely"
    NO_CHANCE = "no chance"
    MISSING = "missing"


class Decision(StrEnum):
    LINK = "link"
    REVIEW = "review"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class FieldScore:
    field: str
    left: str | None
    right: str | None
    level: str
    weight: float
    bucket: Bucket


@dataclass(frozen=True, slots=True)
class PairScore:
    fields: tuple[FieldScore, ...]
    weight: float  # the prior's weight plus every field's
    probability: float
    decision: Decision
    non_match: str | None = None  # the never-link rule that vetoed the pair, if any


def bucket_of(level: Level, weight: float) -> Bucket:
    if level.kind == "null":
        return Bucket.MISSING
    if weight >= 6:
        return Bucket.SAME
    if weight >= 3:
        return Bucket.CLOSE
    if weight >= 0:
        return Bucket.LIKELY
    if weight >= -3:
        return Bucket.UNLIKELY
    return Bucket.NO_CHANCE


def level_weight(level: Level, value: str | None, field: str,
                 tf: TermFrequencies | None) -> float:
    """log2(m/u); on a tf-adjusted level u is how common this very value is, so a match on
    "Smith" weighs less than one on "Okafor"."""
    if level.kind == "null" or level.m is None or level.u is None:
        return 0.0
    u = level.u
    if level.tf_adjusted and tf is not None and value and (table := tf.get(field)):
        u = table.get(fold(value), table.get(OTHER_VALUES, u))
    return math.log2(level.m / max(u, 1e-12))


def probability(weight: float) -> float:
    """The match weight (log2 odds) as a probability; huge weights saturate at 1."""
    return 2**weight / (1 + 2**weight) if weight < 1000 else 1.0


def _frequencies(model: MatchModel, tf: TermFrequencies | None) -> TermFrequencies | None:
    """`tf` defaults to the frequencies the model was trained with."""
    return tf if tf is not None or not model.term_frequencies else model.term_frequencies


def score(model: MatchModel, a: FieldValues, b: FieldValues,
          tf: TermFrequencies | None = None) -> PairScore:
    tf = _frequencies(model, tf)
    fields: list[FieldScore] = []
    total = model.prior_weight
    vector = model.vector(a, b)
    for comparison, index in zip(model.comparisons, vector, strict=True):
        level = comparison.levels[index]
        weight = level_weight(level, a.get(comparison.field), comparison.field, tf)
        total += weight
        fields.append(FieldScore(comparison.field, a.get(comparison.field),
                                 b.get(comparison.field), level.label, weight,
                                 bucket_of(level, weight)))
    chance = probability(total)
    veto = model.non_match(vector)
    return PairScore(tuple(fields), total, chance, decide(model, chance, veto is not None),
                     veto.name if veto else None)


def decide(model: MatchModel, chance: float, vetoed: bool) -> Decision:
    """Thresholds first; a never-link rule overrides any probability."""
    if vetoed:
        return Decision.NONE
    if chance >= model.link_threshold:
        return Decision.LINK
    return Decision.REVIEW if chance >= model.review_threshold else Decision.NONE


def encode_score(pair: PairScore) -> str:
    """What a probabilistic link keeps as its evidence, so `explain` can show it later."""
    return json.dumps({
        "fields": [{"field": f.field, "left": f.left, "right": f.right, "level": f.level,
                    "weight": f.weight, "bucket": f.bucket.value} for f in pair.fields],
        "weight": pair.weight, "probability": pair.probability,
        "decision": pair.decision.value, "non_match": pair.non_match,
    }, separators=(",", ":"))


def decode_score(text: str) -> PairScore:
    raw = json.loads(text)
    return PairScore(
        tuple(FieldScore(f["field"], f["left"], f["right"], f["level"], f["weight"],
                         Bucket(f["bucket"])) for f in raw["fields"]),
        raw["weight"], raw["probability"], Decision(raw["decision"]), raw.get("non_match"))


class QuickScorer:
    """The first look at a pair, for records whose values are already folded (`fold_record`):
    the level of each (field, value pair) is remembered, since names, towns and postcodes
    recur (on FEBRL3 ingested record by record, 69% of the value pairs compared had been
    compared before), and each level's weight is computed once, except where term
    frequencies make it depend on the value."""

    def __init__(self, model: MatchModel, max_size: int = 500_000) -> None:
        self._model = model
        self._comparisons = list(enumerate(model.comparisons))
        self._max_size = max_size
        self._tf = _frequencies(model, None)
        # (comparison, left, right) -> (level, its weight, or None where it depends on tf)
        self._seen: dict[tuple[int, str, str], tuple[int, float | None]] = {}

    def _level(self, position: int, comparison: Comparison, left: str, right: str
               ) -> tuple[int, float | None]:
        key = (position, left, right)
        found = self._seen.get(key)
        if found is None:
            if len(self._seen) >= self._max_size:
                self._seen.clear()  # cheaper than LRU bookkeeping on every hit
            index = comparison.level_of_folded(left, right)
            level = comparison.levels[index]
            weight = None if level.tf_adjusted and self._tf else level_weight(
                level, None, comparison.field, None)
            found = self._seen[key] = (index, weight)
        return found

    def vector(self, a: FieldValues, b: FieldValues) -> tuple[int, ...]:
        return tuple(
            self._level(position, comparison, left, right)[0]
            if (left := a.get(comparison.field)) and (right := b.get(comparison.field)) else 0
            for position, comparison in self._comparisons)

    def probability(self, a: FieldValues, b: FieldValues) -> float:
        """What `score` would say of the pair's probability (a missing value weighs 0)."""
        total = self._model.prior_weight
        for position, comparison in self._comparisons:
            left, right = a.get(comparison.field), b.get(comparison.field)
            if not left or not right:
                continue
            index, weight = self._level(position, comparison, left, right)
            if weight is None:
                weight = level_weight(comparison.levels[index], left, comparison.field, self._tf)
            total += weight
        return probability(total)
