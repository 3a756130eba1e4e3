"""Batch matching over a set of records: candidates by blocking, training, scoring, clusters.

Pure: no I/O. The same model and the same functions serve the batch CLI and the benchmark;
the real-time path will call `score` on the candidates one new record brings.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from identity.domain.matching.blocking import blocking_keys
from identity.domain.matching.model import MatchModel, Record
from identity.domain.matching.scoring import (
    Decision,
    PairScore,
    TermFrequencies,
    decide,
    level_weight,
    probability,
    score,
)
from identity.domain.matching.training import estimate_m, estimate_u
from identity.domain.matching.vectorized import vectors
from identity.domain.resolution import components

RecordId = str


@dataclass(frozen=True, slots=True)
class Candidates:
    pairs: list[tuple[RecordId, RecordId]]
    oversized_blocks: list[tuple[str, int]]  # (blocking key, size): skipped, never stalls


def candidate_pairs(records: Mapping[RecordId, Record], model: MatchModel,
                    max_block: int = 500) -> Candidates:
    """Pairs sharing a blocking key, each once. A block larger than `max_block` (a common
    surname, a default postcode) is skipped and reported: it would cost n² comparisons."""
    blocks: dict[str, list[RecordId]] = defaultdict(list)
    for record_id, record in records.items():
        for key in blocking_keys(model.blocking, record):
            blocks[key].append(record_id)
    seen: set[tuple[RecordId, RecordId]] = set()
    oversized: list[tuple[str, int]] = []
    for key, members in sorted(blocks.items()):
        if len(members) > max_block:
            oversized.append((key, len(members)))
            continue
        for i, left in enumerate(members):
            for right in members[i + 1:]:
                seen.add((left, right) if left < right else (right, left))
    return Candidates(sorted(seen), oversized)


def term_frequencies(records: Iterable[Record], model: MatchModel) -> dict[str, dict[str, float]]:
    """Share of records holding each value, for the fields with a tf-adjusted level."""
    fields = [c.field for c in model.comparisons if any(lv.tf_adjusted for lv in c.levels)]
    counts: dict[str, Counter[str]] = {f: Counter() for f in fields}
    total = 0
    for record in records:
        total += 1
        for name in fields:
            if value := record.get(name):
                counts[name][" ".join(value.casefold().split())] += 1
    return {name: {v: n / total for v, n in c.items()} for name, c in counts.items()} if total \
        else {}


def fit(records: Mapping[RecordId, Record], model: MatchModel, *, seed: int = 0,
        random_pairs: int = 50_000, max_block: int = 500) -> MatchModel:
    """u from pairs drawn at random, then m by EM on the blocked pairs (u held fixed)."""
    return fit_on(records, model, candidate_pairs(records, model, max_block).pairs, seed=seed,
                  random_pairs=random_pairs)[0]


def fit_on(records: Mapping[RecordId, Record], model: MatchModel,
           blocked: Sequence[tuple[RecordId, RecordId]], *, seed: int = 0,
           random_pairs: int = 50_000) -> tuple[MatchModel, list[tuple[int, ...]]]:
    """Also returns the blocked pairs' vectors, so scoring them needs no second comparison."""
    ids = sorted(records)
    rng = random.Random(seed)
    sample = [(rng.choice(ids), rng.choice(ids)) for _ in range(random_pairs)] if ids else []
    sample = [(a, b) for a, b in sample if a != b]
    with_u = estimate_u(model, _vectors(records, model, sample))
    blocked_vectors = _vectors(records, with_u, blocked)
    return estimate_m(with_u, blocked_vectors), blocked_vectors


def _vectors(records: Mapping[RecordId, Record], model: MatchModel,
             pairs: Sequence[tuple[RecordId, RecordId]]) -> list[tuple[int, ...]]:
    return vectors(model, [records[a] for a, _ in pairs], [records[b] for _, b in pairs])


@dataclass(frozen=True, slots=True)
class ScoredPair:
    left: RecordId
    right: RecordId
    score: PairScore


def score_pairs(records: Mapping[RecordId, Record], model: MatchModel,
                pairs: Sequence[tuple[RecordId, RecordId]],
                tf: TermFrequencies | None = None) -> list[ScoredPair]:
    """Full scores with explanations; `probabilities` is the fast path for decisions."""
    return [ScoredPair(a, b, score(model, records[a], records[b], tf)) for a, b in pairs]


def decisions(records: Mapping[RecordId, Record], model: MatchModel,
              pairs: Sequence[tuple[RecordId, RecordId]],
              pair_vectors: Sequence[tuple[int, ...]],
              tf: TermFrequencies | None = None) -> list[Decision]:
    """What `score` decides for each pair, without building explanations: what deciding
    hundreds of thousands of pairs needs."""
    tables = [[level_weight(level, None, c.field, None) for level in c.levels]
              for c in model.comparisons]
    adjusted = [[level.tf_adjusted and tf is not None for level in c.levels]
                for c in model.comparisons]
    found: list[Decision] = []
    for (left, _), vector in zip(pairs, pair_vectors, strict=True):
        total = model.prior_weight
        for k, index in enumerate(vector):
            if adjusted[k][index]:
                comparison = model.comparisons[k]
                total += level_weight(comparison.levels[index],
                                      records[left].get(comparison.field), comparison.field, tf)
            else:
                total += tables[k][index]
        found.append(decide(model, probability(total), vector))
    return found


def clusters(record_ids: Iterable[RecordId], scored: Iterable[ScoredPair]) -> dict[RecordId, str]:
    """Connected components of the linked pairs; each record maps to its cluster's first id."""
    linked = [(p.left, p.right) for p in scored if p.score.decision is Decision.LINK]
    return {member: part[0] for part in components(record_ids, linked) for member in part}
