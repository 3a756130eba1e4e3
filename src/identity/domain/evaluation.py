"""Pairwise precision, recall and F1 of a clustering against the truth. Pure: no I/O.

Record-linkage results are compared pair by pair (are these two records the same person?), as
Splink and recordlinkage report them. Pairs are counted from cluster sizes, n*(n-1)/2 per
cluster and per (predicted, true) cell of the contingency table, so a million keys cost O(n),
never the O(n^2) of listing pairs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


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
    return _scores(predicted_pairs, true_pairs, correct)


def pair_set_scores(predicted: Iterable[tuple[K, K]], truth: Iterable[tuple[K, K]]
                    ) -> PairwiseScores:
    """The same measures for pairs asserted one by one, as peers that do not cluster report
    them: a-b and b-c linked without a-c count two pairs, not three. Both sides must order
    each pair the same way."""
    predicted_set, truth_set = set(predicted), set(truth)
    return _scores(len(predicted_set), len(truth_set), len(predicted_set & truth_set))


def _scores(predicted_pairs: int, true_pairs: int, correct: int) -> PairwiseScores:
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


@dataclass
class ScenarioCounts:
    """Pair counts for one scenario: pairs with at least one identifier of a person living it
    (or, for pair relations such as namesakes, pairs between two such people)."""

    true_pairs: int = 0
    predicted_pairs: int = 0
    correct_pairs: int = 0
    reachable_pairs: int = 0  # true pairs a perfect resolver could link from the events
    reachable_found: int = 0

    @property
    def false_pairs(self) -> int:
        return self.predicted_pairs - self.correct_pairs

    @property
    def missed_pairs(self) -> int:
        return self.true_pairs - self.correct_pairs

    @property
    def missed_reachable(self) -> int:
        return self.reachable_pairs - self.reachable_found

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def reachable_recall(self) -> float:
        return self.reachable_found / self.reachable_pairs if self.reachable_pairs else 1.0


@dataclass(frozen=True, slots=True)
class Labelled:
    """What the truth says of one key: its person, the part of that person's identifiers a
    perfect resolver could reach it in (None: unreachable), and the scenarios it lives."""

    person: str
    reachable: str | None
    scenarios: frozenset[str]


ALL = "all"


def scenario_scores(predicted: Mapping[K, str], truth: Mapping[K, Labelled],
                    relation: Callable[[str, str], frozenset[str]]
                    ) -> dict[str, ScenarioCounts]:
    """Pair counts per scenario, and for every pair (scenario `all`). A key of the truth that
    `predicted` does not place counts as a profile of its own, so an identifier the resolver
    lost is missed, not forgotten. A false pair also counts under `relation(a, b)` of its
    two people (same household, namesakes...). Keys are grouped into cells of one profile,
    one person, one reachable part and one set of scenarios, and pairs counted cell by cell:
    O(cells²) per profile rather than O(keys²)."""
    found: dict[str, ScenarioCounts] = defaultdict(ScenarioCounts)
    cells: dict[tuple[str, str, str | None, frozenset[str]], int] = Counter(
        (predicted.get(key, f"unplaced:{key!r}"), label.person, label.reachable, label.scenarios)
        for key, label in truth.items())
    by_profile: dict[str, list[tuple[tuple[str, str | None, frozenset[str]], int]]] = \
        defaultdict(list)
    by_person: dict[str, list[tuple[tuple[str, str | None, frozenset[str]], int]]] = \
        defaultdict(list)
    for (profile, person, reach, tags), n in cells.items():
        by_profile[profile].append(((person, reach, tags), n))
        by_person[person].append(((profile, reach, tags), n))

    def pairs(members: list[tuple[T, int]]) -> Iterator[tuple[T, T, int]]:
        for i, (first, n) in enumerate(members):
            if n > 1:
                yield first, first, n * (n - 1) // 2
            for second, m in members[i + 1:]:
                yield first, second, n * m

    for members in by_profile.values():
        for (p, _, tags_p), (q, _, tags_q), n in pairs(members):
            extra = frozenset() if p == q else relation(p, q)
            for tag in {ALL, *tags_p, *tags_q, *extra}:
                found[tag].predicted_pairs += n
                if p == q:
                    found[tag].correct_pairs += n
    for members in by_person.values():
        for (pa, ra, tags_a), (pb, rb, tags_b), n in pairs(members):
            reachable = ra is not None and ra == rb
            for tag in {ALL, *tags_a, *tags_b}:
                found[tag].true_pairs += n
                if reachable:
                    found[tag].reachable_pairs += n
                    found[tag].reachable_found += n if pa == pb else 0
    return dict(found)
