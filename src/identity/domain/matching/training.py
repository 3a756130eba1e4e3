"""Estimating u from random pairs and m by expectation-maximisation on blocked pairs.

u is what agreement looks like between strangers, so it is counted on pairs drawn at random;
m is what it looks like within one person, which no label tells us, so EM infers it from the
blocked pairs, holding u fixed (as Splink does).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

from identity.domain.matching.model import MatchModel

SMOOTHING = 1.0  # add-one counts: a level never seen keeps a small, finite weight


def estimate_u(model: MatchModel, random_vectors: Sequence[tuple[int, ...]]) -> MatchModel:
    updated = {}
    for k, comparison in enumerate(model.comparisons):
        counts = [SMOOTHING] * len(comparison.levels)
        for vector in random_vectors:
            counts[vector[k]] += 1
        total = sum(counts[1:])  # the null level carries no evidence either way
        updated[comparison.field] = tuple(
            level if i == 0 else replace(level, u=counts[i] / total)
            for i, level in enumerate(comparison.levels))
    return model.with_levels(updated)


def _likelihoods(model: MatchModel, vector: tuple[int, ...]) -> tuple[float, float]:
    m_product = u_product = 1.0
    for comparison, index in zip(model.comparisons, vector, strict=True):
        level = comparison.levels[index]
        if level.m is not None and level.u is not None:
            m_product *= level.m
            u_product *= level.u
    return m_product, u_product


def estimate_m(model: MatchModel, blocked_vectors: Sequence[tuple[int, ...]],
               iterations: int = 25, start_share: float = 0.1) -> MatchModel:
    """EM over the blocked pairs: each pair's probability of being a match weighs its levels
    into new m values. `start_share` is the first guess of how many blocked pairs match.
    Pairs with the same vector weigh the same, so EM runs over distinct vectors and counts."""
    current = _starting_m(model)
    share = start_share
    distinct = Counter(blocked_vectors)
    pairs = sum(distinct.values())
    for _ in range(iterations):
        weights: dict[tuple[int, ...], float] = {}
        for vector, count in distinct.items():
            m_p, u_p = _likelihoods(current, vector)
            match = share * m_p
            weights[vector] = count * (match / (match + (1 - share) * u_p) if match > 0 else 0.0)
        total = sum(weights.values()) or 1.0
        share = min(max(total / max(pairs, 1), 1e-6), 1 - 1e-6)
        updated = {}
        for k, comparison in enumerate(current.comparisons):
            counts = [SMOOTHING * 1e-3] * len(comparison.levels)
            for vector, w in weights.items():
                counts[vector[k]] += w
            informative = sum(counts[1:])
            updated[comparison.field] = tuple(
                level if i == 0 else replace(level, m=counts[i] / informative)
                for i, level in enumerate(comparison.levels))
        current = current.with_levels(updated)
    return current


def _starting_m(model: MatchModel) -> MatchModel:
    """Unset m values start high on the first rungs and low on else: EM needs a side to climb."""
    updated = {}
    for comparison in model.comparisons:
        rungs = len(comparison.levels) - 1
        updated[comparison.field] = tuple(
            level if i == 0 or level.m is not None
            else replace(level, m=(0.9 / i) / sum(0.9 / j for j in range(1, rungs + 1)))
            for i, level in enumerate(comparison.levels))
    return model.with_levels(updated)
