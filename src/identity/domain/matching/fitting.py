"""Estimating u from random pairs and m by expectation-maximisation on blocked pairs.

u is what agreement looks like between strangers, so it is counted on pairs drawn at random;
m is what it looks like within one person, which no label tells us, so EM infers it from the
blocked pairs, holding u fixed (as Splink does).

Vectors come as one row per pair and one column per comparison (a numpy array, or a list of
tuples as `MatchModel.vector` gives them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from identity.domain.matching.model import MatchModel
from identity.domain.matching.vectorized import IntArray

SMOOTHING = 1.0  # add-one counts: a level never seen keeps a small, finite weight

LevelVectors = Sequence[tuple[int, ...]] | IntArray


def _rows(model: MatchModel, vectors: LevelVectors) -> IntArray:
    return np.asarray(vectors, dtype=np.int64).reshape(-1, len(model.comparisons))


def sample_pairs(count: int, wanted: int, seed: int, origin: IntArray | None
                 ) -> tuple[IntArray, IntArray]:
    """Positions of distinct records (of different origins, with `origin`) drawn uniformly
    at random for u; every such pair once when there are no more than `wanted` of them."""
    rng = np.random.default_rng(seed)
    if origin is None:
        if count * (count - 1) // 2 <= wanted:
            left, right = np.triu_indices(count, 1)
            return left.astype(np.int64), right.astype(np.int64)
        left, right = rng.integers(0, count, wanted), rng.integers(0, count, wanted)
        distinct = left != right
        return left[distinct], right[distinct]
    order = np.argsort(origin, kind="stable")  # each origin's records side by side
    sizes = np.bincount(origin)
    starts = np.cumsum(sizes) - sizes
    if (count * count - int((sizes * sizes).sum())) // 2 <= wanted:
        groups = [order[start:start + size] for start, size in zip(starts, sizes, strict=True)]
        pairs = [(np.repeat(mine, len(theirs)), np.tile(theirs, len(mine)))
                 for g, mine in enumerate(groups) for theirs in groups[g + 1:]]
        empty = np.empty(0, dtype=np.int64)
        return (np.concatenate([empty, *(p[0] for p in pairs)]),
                np.concatenate([empty, *(p[1] for p in pairs)]))
    # uniform over pairs across origins: the first record weighted by how many partners it
    # has, the second uniform among the records of the other origins
    partners = (count - sizes[origin]).astype(np.float64)
    left = rng.choice(count, size=wanted, p=partners / partners.sum()).astype(np.int64)
    group = origin[left]
    slot = rng.integers(0, count - sizes[group])
    slot = np.where(slot >= starts[group], slot + sizes[group], slot)  # skip its own origin
    return left, order[slot]


def estimate_u(model: MatchModel, random_vectors: LevelVectors) -> MatchModel:
    rows = _rows(model, random_vectors)
    updated = {}
    for k, comparison in enumerate(model.comparisons):
        counts = SMOOTHING + np.bincount(rows[:, k], minlength=len(comparison.levels))
        total = float(counts[1:].sum())  # the null level carries no evidence either way
        updated[comparison.field] = tuple(
            level if i == 0 else replace(level, u=float(counts[i]) / total)
            for i, level in enumerate(comparison.levels))
    return model.with_levels(updated)


def distinct_rows(rows: IntArray, sizes: Sequence[int]
                  ) -> tuple[IntArray, IntArray]:
    """The distinct rows and how often each occurs. Rows are read as numbers in a mixed radix
    (one digit per comparison), since sorting integers beats sorting rows."""
    if len(rows) == 0 or float(np.prod(np.asarray(sizes, dtype=np.float64))) >= 2.0**62:
        found, counts = np.unique(rows, axis=0, return_counts=True)
        return found.reshape(-1, len(sizes)), counts
    strides = np.cumprod([1, *sizes[:0:-1]])[::-1].astype(np.int64)
    numbers, counts = np.unique(rows @ strides, return_counts=True)
    return (numbers[:, None] // strides) % np.asarray(sizes, dtype=np.int64), counts


def estimate_m(model: MatchModel, blocked_vectors: LevelVectors,
               iterations: int = 25, start_share: float = 0.1) -> MatchModel:
    """EM over the blocked pairs: each pair's probability of being a match weighs its levels
    into new m values. `start_share` is the first guess of how many blocked pairs match.
    Pairs with the same vector weigh the same, so EM runs over distinct vectors and counts."""
    current = _starting_m(model)
    sizes = [len(c.levels) for c in current.comparisons]
    distinct, counts = distinct_rows(_rows(current, blocked_vectors), sizes)
    pairs = max(int(counts.sum()), 1)
    # a level without m or u (the null level) says nothing: a factor of 1 on both sides
    m_tables = [np.array([lv.m if lv.m is not None and lv.u is not None else 1.0
                          for lv in c.levels]) for c in current.comparisons]
    u_product = np.ones(len(distinct))
    for k, comparison in enumerate(current.comparisons):
        u_table = np.array([lv.u if lv.m is not None and lv.u is not None else 1.0
                            for lv in comparison.levels])
        u_product *= u_table[distinct[:, k]]
    informative = [np.array([lv.m is not None and lv.u is not None for lv in c.levels])
                   for c in current.comparisons]
    fitted = [np.array([lv.m or 0.0 for lv in c.levels]) for c in current.comparisons]
    share = start_share
    for _ in range(iterations):
        m_product = np.ones(len(distinct))
        for k, table in enumerate(m_tables):
            m_product *= table[distinct[:, k]]
        match = share * m_product
        with np.errstate(invalid="ignore", divide="ignore"):
            weights = np.where(match > 0, counts * match / (match + (1 - share) * u_product),
                               0.0)
        total = float(weights.sum()) or 1.0
        share = min(max(total / pairs, 1e-6), 1 - 1e-6)
        for k, size in enumerate(sizes):
            level_counts = SMOOTHING * 1e-3 + np.bincount(distinct[:, k], weights,
                                                          minlength=size)
            fitted[k] = level_counts / level_counts[1:].sum()
            m_tables[k] = np.where(informative[k], fitted[k], 1.0)
    return current.with_levels({
        c.field: tuple(level if i == 0 else replace(level, m=float(fitted[k][i]))
                       for i, level in enumerate(c.levels))
        for k, c in enumerate(current.comparisons)})


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
