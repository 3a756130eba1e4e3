"""Pairwise precision, recall and F1 of a clustering against the truth. Pure: no I/O.

Record-linkage results are compared pair by pair (are these two records the same person?), as
Splink and recordlinkage report them. Pairs are counted from cluster sizes, n*(n-1)/2 per
cluster and per (predicted, true) cell of the contingency table, so a million keys cost O(n),
never the O(n^2) of listing pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class PairwiseScores:
    """`false_pairs` were linked but are different people; `missed_pairs` the reverse."""

    precision: float
    recall: float
    f1: float
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    false_pairs: int
    missed_pairs: int


def _pairs(cluster_sizes: Iterable[int]) -> int:
    return sum(n * (n - 1) // 2 for n in cluster_sizes)


def pairwise_scores(predicted: Mapping[K, str], truth: Mapping[K, str]) -> PairwiseScores:
    """Over the keys both sides know; no pairs on a side scores that side's measure as 1.0."""
    shared = [key for key in predicted if key in truth]
    predicted_pairs = _pairs(Counter(predicted[key] for key in shared).values())
    true_pairs = _pairs(Counter(truth[key] for key in shared).values())
    correct = _pairs(Counter((predicted[key], truth[key]) for key in shared).values())
    precision = correct / predicted_pairs if predicted_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairwiseScores(
        precision=precision,
        recall=recall,
        f1=f1,
        true_pairs=true_pairs,
        predicted_pairs=predicted_pairs,
        correct_pairs=correct,
        false_pairs=predicted_pairs - correct,
        missed_pairs=true_pairs - correct,
    )
