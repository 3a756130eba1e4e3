"""Batch matching over a set of records: candidates by blocking, training, scoring, clusters.

Pure: no I/O. `resolve_records` is the one batch pipeline: `identity resolve` and the FEBRL
benchmark both call it. Records are numbered once, in id order, and every stage works on arrays
of those numbers: blocking groups them, comparison looks values up by number (`vectorized`),
and training and scoring run over arrays of comparison vectors. The real-time path calls
`score` on the candidates one new record brings, and agrees with this one pair by pair.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from identity.domain.matching.blocking import blocked_pairs
from identity.domain.matching.fitting import estimate_m, estimate_u, sample_pairs
from identity.domain.matching.model import FieldValues, MatchModel
from identity.domain.matching.prior import estimate_prior
from identity.domain.matching.scoring import (
    level_weight,
)
from identity.domain.matching.vectorized import (
    BoolArray,
    FloatArray,
    IntArray,
    RecordColumns,
    model_fields,
)
from identity.domain.resolution import components

RecordId = str
Progress = Callable[[str], object]  # told the name of each stage as it starts

STAGES = ("blocking", "comparing", "fitting", "scoring", "clustering")
MIN_RECORDS_TO_FIT = 100  # below this, random pairs and EM say more about chance than data


@dataclass(frozen=True, slots=True)
class Candidates:
    pairs: list[tuple[RecordId, RecordId]]
    oversized_blocks: list[tuple[str, int]]  # (blocking key, size): skipped, never stalls


@dataclass(frozen=True, slots=True)
class LinkedPair:
    left: RecordId  # the smaller id
    right: RecordId
    probability: float


@dataclass(frozen=True, slots=True)
class BatchResult:
    model: MatchModel  # what scored the pairs, with the term frequencies it used
    fitted: bool  # m and u were fitted on these records (not just taken from the model)
    clusters: dict[RecordId, RecordId]  # every record -> the smallest id in its cluster
    links: list[LinkedPair]
    candidate_pairs: int
    oversized_blocks: list[tuple[str, int]]

    @property
    def cluster_count(self) -> int:
        return len(set(self.clusters.values()))


def resolve_records(records: Mapping[RecordId, FieldValues], model: MatchModel, *,
                    sources: Mapping[RecordId, str] | None = None, train: bool = True,
                    seed: int = 0, random_pairs: int = 200_000, max_block: int = 500,
                    progress: Progress | None = None) -> BatchResult:
    """Block, compare, fit (the prior from the model's `prior_rules`, u on random pairs, m by
    EM on the blocked ones), score, cluster.

    With `sources` (each record's file or system) only pairs across sources count: linking,
    not deduplicating; random pairs for u are drawn across sources too. `train=False`, or
    fewer than `MIN_RECORDS_TO_FIT` records, keeps the model's m and u as they are. The model
    returned carries the term frequencies of these records (a model that is not fitted here
    keeps its own, if it has any).
    """
    step = progress or (lambda _: None)
    ids = sorted(records)
    rows = [records[record_id] for record_id in ids]
    origin = None if sources is None else _numbered([sources[i] for i in ids])
    step("blocking")
    left, right, oversized = blocked_pairs(rows, model.blocking, max_block, origin)
    step("comparing")
    columns = RecordColumns(rows, model_fields(model))
    levels = columns.levels(model.comparisons, left, right)
    step("fitting")
    fitted = train and len(ids) >= MIN_RECORDS_TO_FIT
    if fitted:
        prior = estimate_prior(records, model.prior_rules, sources=sources)
        if prior is not None:
            model = replace(model, prior=prior, prior_records=len(records))
        model = _fit(model, columns, levels, origin, seed=seed, random_pairs=random_pairs)
    if fitted or not model.term_frequencies:
        model = replace(model, term_frequencies=_term_frequencies(columns, model))
    step("scoring")
    chances, linked = _decide(model, columns, left, levels)
    step("clustering")
    at = np.flatnonzero(linked)
    links = [LinkedPair(ids[a], ids[b], p) for a, b, p in zip(
        left[at].tolist(), right[at].tolist(), chances[at].tolist(), strict=True)]
    found = {member: part[0] for part in components(ids, [(p.left, p.right) for p in links])
             for member in part}
    return BatchResult(model, fitted, found, links, len(left), oversized)


# ---------------------------------------------------------------------------------------------
# Candidates


def scored_pairs(records: Mapping[RecordId, FieldValues], model: MatchModel,
                 max_block: int = 500) -> list[LinkedPair]:
    """Every candidate pair no never-link rule forbids, with its match probability under
    `model` just as it is (no fitting, no term frequencies but its own): how the service
    scores with it in real time, pair by pair."""
    ids = sorted(records)
    rows = [records[record_id] for record_id in ids]
    left, right, _ = blocked_pairs(rows, model.blocking, max_block)
    columns = RecordColumns(rows, model_fields(model))
    levels = columns.levels(model.comparisons, left, right)
    chances = _chances(model, columns, left, levels)
    at = np.flatnonzero(~_vetoed(model, levels))
    return [LinkedPair(ids[a], ids[b], p) for a, b, p in zip(
        left[at].tolist(), right[at].tolist(), chances[at].tolist(), strict=True)]


def candidate_pairs(records: Mapping[RecordId, FieldValues], model: MatchModel,
                    max_block: int = 500) -> Candidates:
    """Pairs sharing a blocking key, each once, in id order. A block larger than `max_block`
    (a common surname, a default postcode) is skipped and reported: it would cost n²
    comparisons."""
    ids = sorted(records)
    left, right, oversized = blocked_pairs([records[i] for i in ids], model.blocking,
                                           max_block)
    return Candidates([(ids[a], ids[b]) for a, b in zip(left.tolist(), right.tolist(),
                                                         strict=True)], oversized)


def _numbered(labels: Sequence[str]) -> IntArray:
    index: dict[str, int] = {}
    return np.array([index.setdefault(label, len(index)) for label in labels], dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# Fitting and scoring


def term_frequencies(records: Iterable[FieldValues], model: MatchModel
                     ) -> dict[str, dict[str, float]]:
    """Share of records holding each (folded) value, for the fields with a tf-adjusted level."""
    rows = list(records)
    return _term_frequencies(RecordColumns(rows, model_fields(model)), model)


def _term_frequencies(columns: RecordColumns, model: MatchModel) -> dict[str, dict[str, float]]:
    if not columns.size:
        return {}
    found = {}
    for comparison in model.comparisons:
        if any(level.tf_adjusted for level in comparison.levels):
            column = columns.fields[comparison.field]
            counts = np.bincount(column.codes, minlength=len(column.values)).tolist()
            found[comparison.field] = {value: n / columns.size for value, n in
                                       zip(column.values[1:], counts[1:], strict=True) if n}
    return found


def _fit(model: MatchModel, columns: RecordColumns, blocked_levels: IntArray,
         origin: IntArray | None, *, seed: int, random_pairs: int) -> MatchModel:
    left, right = sample_pairs(columns.size, random_pairs, seed, origin)
    model = estimate_u(model, columns.levels(model.comparisons, left, right))
    return estimate_m(model, blocked_levels) if len(blocked_levels) else model


def _weights(model: MatchModel, columns: RecordColumns, left: IntArray, levels: IntArray
             ) -> FloatArray:
    """Each pair's match weight, added up in `score`'s order, so the floats are the same."""
    tf = model.term_frequencies
    total = np.full(len(levels), model.prior_weight)
    for k, comparison in enumerate(model.comparisons):
        name = comparison.field
        table = np.array([level_weight(level, None, name, None) for level in comparison.levels])
        weight = table[levels[:, k]]
        for index, level in enumerate(comparison.levels):
            if level.tf_adjusted and tf:  # u is how common the left record's value is
                column = columns.fields[name]
                by_value = np.array([level_weight(level, value, name, tf)
                                     for value in column.values])
                at = np.flatnonzero(levels[:, k] == index)
                weight[at] = by_value[column.codes[left[at]]]
        total += weight
    return total


def _vetoed(model: MatchModel, levels: IntArray) -> BoolArray:
    """Pairs a never-link rule holds for."""
    position = {c.field: k for k, c in enumerate(model.comparisons)}
    vetoed = np.zeros(len(levels), dtype=bool)
    for rule in model.never_link:
        holds = np.ones(len(levels), dtype=bool)
        for name, allowed in rule.when:
            if name not in position:
                holds[:] = False
                break
            comparison = model.comparisons[position[name]]
            ok = np.array([level.label in allowed for level in comparison.levels])
            holds &= ok[levels[:, position[name]]]
        vetoed |= holds
    return vetoed


def _chances(model: MatchModel, columns: RecordColumns, left: IntArray, levels: IntArray
             ) -> FloatArray:
    weights = _weights(model, columns, left, levels)
    odds = np.power(2.0, np.minimum(weights, 999.0))
    return np.where(weights < 1000, odds / (1 + odds), 1.0)  # as `probability` saturates


def _decide(model: MatchModel, columns: RecordColumns, left: IntArray, levels: IntArray
            ) -> tuple[FloatArray, BoolArray]:
    """Probabilities and links: what `score` decides, pair by pair."""
    chances = _chances(model, columns, left, levels)
    allowed = ~_vetoed(model, levels)
    return chances, allowed & (chances >= model.link_threshold)
