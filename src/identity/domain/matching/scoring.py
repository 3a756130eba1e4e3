"""Pair → level per comparison → Fellegi-Sunter weights, a probability and an explanation."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from identity.domain.matching.levels import Level
from identity.domain.matching.model import MatchModel, Record

# How often each folded value occurs among records, per field: the u of a tf-adjusted level.
TermFrequencies = Mapping[str, Mapping[str, float]]


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
    if level.tf_adjusted and tf is not None and value:
        u = tf.get(field, {}).get(" ".join(value.casefold().split()), u)
    return math.log2(level.m / max(u, 1e-12))


def score(model: MatchModel, a: Record, b: Record, tf: TermFrequencies | None = None,
          vector: tuple[int, ...] | None = None) -> PairScore:
    """`vector`, when training already computed it, saves comparing the pair again."""
    fields: list[FieldScore] = []
    total = model.prior_weight
    vector = vector if vector is not None else model.vector(a, b)
    for comparison, index in zip(model.comparisons, vector, strict=True):
        level = comparison.levels[index]
        weight = level_weight(level, a.get(comparison.field), comparison.field, tf)
        total += weight
        fields.append(FieldScore(comparison.field, a.get(comparison.field),
                                 b.get(comparison.field), level.label, weight,
                                 bucket_of(level, weight)))
    probability = 2**total / (1 + 2**total) if total < 1000 else 1.0
    decision = (Decision.LINK if probability >= model.link_threshold
                else Decision.REVIEW if probability >= model.review_threshold else Decision.NONE)
    veto = model.non_match(vector)
    if veto is not None:
        decision = Decision.NONE
    return PairScore(tuple(fields), total, probability, decision,
                     veto.name if veto else None)
