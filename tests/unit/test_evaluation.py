"""Pairwise precision, recall and F1 on cases small enough to count by hand."""

from __future__ import annotations

from dataclasses import astuple
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.domain.evaluation import (
    ALL,
    Labelled,
    PairwiseScores,
    ScenarioCounts,
    pairwise_scores,
    scenario_scores,
)


def test_perfect_clustering_scores_one() -> None:
    scores = pairwise_scores({"a": "X", "b": "X", "c": "Y"}, {"a": "1", "b": "1", "c": "2"})
    assert scores == PairwiseScores(
        precision=1.0,
        recall=1.0,
        f1=1.0,
        true_pairs=1,
        predicted_pairs=1,
        correct_pairs=1,
        false_pairs=0,
        missed_pairs=0,
    )


def test_over_merge_costs_precision_not_recall() -> None:
    # one predicted cluster of 4 (6 pairs) over two true pairs {a,b} and {c,d}
    scores = pairwise_scores(dict.fromkeys("abcd", "X"), {"a": "1", "b": "1", "c": "2", "d": "2"})
    assert (scores.predicted_pairs, scores.true_pairs, scores.correct_pairs) == (6, 2, 2)
    assert (scores.false_pairs, scores.missed_pairs) == (4, 0)
    assert scores.precision == pytest.approx(1 / 3)
    assert scores.recall == 1.0
    assert scores.f1 == pytest.approx(0.5)


def test_under_merge_costs_recall_not_precision() -> None:
    # {a,b} and {c} predicted for one true cluster {a,b,c}: 1 of 3 true pairs found
    scores = pairwise_scores({"a": "X", "b": "X", "c": "Y"}, dict.fromkeys("abc", "1"))
    assert (scores.predicted_pairs, scores.true_pairs, scores.correct_pairs) == (1, 3, 1)
    assert (scores.false_pairs, scores.missed_pairs) == (0, 2)
    assert scores.precision == 1.0
    assert scores.recall == pytest.approx(1 / 3)
    assert scores.f1 == pytest.approx(0.5)


def test_all_singletons_find_nothing() -> None:
    scores = pairwise_scores({"a": "X", "b": "Y", "c": "Z"}, dict.fromkeys("abc", "1"))
    assert scores.precision == 1.0  # no predicted pairs: nothing claimed, nothing wrong
    assert scores.recall == 0.0
    assert scores.f1 == 0.0
    assert scores.missed_pairs == 3


def test_mixed_errors_count_each_contingency_cell() -> None:
    # predicted {a,b,c} {d,e}; true {a,b} {c,d,e}: correct pairs are a-b and d-e
    predicted = {"a": "P1", "b": "P1", "c": "P1", "d": "P2", "e": "P2"}
    truth = {"a": "T1", "b": "T1", "c": "T2", "d": "T2", "e": "T2"}
    scores = pairwise_scores(predicted, truth)
    assert (scores.predicted_pairs, scores.true_pairs, scores.correct_pairs) == (4, 4, 2)
    assert (scores.precision, scores.recall, scores.f1) == (0.5, 0.5, 0.5)


def test_keys_missing_from_either_side_are_ignored() -> None:
    predicted = {"a": "X", "b": "X", "only-predicted": "X"}
    truth = {"a": "1", "b": "1", "only-true": "1"}
    scores = pairwise_scores(predicted, truth)
    assert (scores.predicted_pairs, scores.true_pairs, scores.correct_pairs) == (1, 1, 1)


def test_disjoint_keys_have_no_pairs_and_score_one() -> None:
    scores = pairwise_scores({"a": "X", "b": "X"}, {"c": "1", "d": "1"})
    assert (scores.precision, scores.recall, scores.f1) == (1.0, 1.0, 1.0)
    assert scores.true_pairs == scores.predicted_pairs == scores.correct_pairs == 0


def test_cluster_labels_only_group_keys() -> None:
    """The same label on both sides means nothing: only who is grouped with whom counts."""
    keys = [("email", "a@x.io"), ("phone", "+14155550100"), ("session_id", "s1")]
    truth = {keys[0]: "A", keys[1]: "A", keys[2]: "B"}
    relabelled = {keys[0]: "B", keys[1]: "B", keys[2]: "A"}
    assert pairwise_scores(relabelled, truth).f1 == 1.0


def _brute_force(predicted: dict[int, str], truth: dict[int, str]) -> tuple[int, int, int]:
    keys = sorted(set(predicted) & set(truth))
    pairs = list(combinations(keys, 2))
    linked = {(a, b) for a, b in pairs if predicted[a] == predicted[b]}
    same = {(a, b) for a, b in pairs if truth[a] == truth[b]}
    return len(linked), len(same), len(linked & same)


@given(
    st.dictionaries(st.integers(0, 30), st.sampled_from("ABCDE"), max_size=25),
    st.dictionaries(st.integers(0, 30), st.sampled_from("vwxyz"), max_size=25),
)
def test_counts_match_listing_every_pair(predicted: dict[int, str], truth: dict[int, str]) -> None:
    scores = pairwise_scores(predicted, truth)
    expected = _brute_force(predicted, truth)
    assert (scores.predicted_pairs, scores.true_pairs, scores.correct_pairs) == expected
    assert scores.false_pairs == expected[0] - expected[2]
    assert scores.missed_pairs == expected[1] - expected[2]
    assert 0.0 <= scores.f1 <= 1.0


# --- by scenario -------------------------------------------------------------------------------


def test_pairs_count_by_scenario_against_the_truth_and_what_events_let_anyone_link() -> None:
    """Ann's three identifiers (one reachable only through a shared tablet: apart from the
    other two in the reachable partition), Bob's two; the resolver put Ann's cookie with Bob
    (a false pair with each of Bob's, which are household mates of Ann's) and lost Bob's
    email altogether."""
    truth = {
        "ann-email": Labelled("ann", "A", frozenset({"household"})),
        "ann-phone": Labelled("ann", "A", frozenset({"household", "national_phone"})),
        "ann-cookie": Labelled("ann", None, frozenset({"household"})),
        "bob-account": Labelled("bob", "B", frozenset({"household"})),
        "bob-email": Labelled("bob", "B", frozenset({"household", "typo"})),
    }
    predicted = {"ann-email": "p1", "ann-phone": "p1", "ann-cookie": "p2", "bob-account": "p2"}

    def relation(a: str, b: str) -> frozenset[str]:
        return frozenset({"pair: same household"})

    found = scenario_scores(predicted, truth, relation)

    every = found[ALL]
    assert (every.true_pairs, every.predicted_pairs, every.correct_pairs) == (4, 2, 1)
    assert (every.false_pairs, every.missed_pairs) == (1, 3)
    assert (every.reachable_pairs, every.reachable_found) == (2, 1)  # bob's pair is missed
    assert found["typo"].true_pairs == 1 and found["typo"].missed_reachable == 1
    assert found["national_phone"].correct_pairs == 1 and found["national_phone"].precision == 1
    assert found["pair: same household"].false_pairs == 1
    assert "pair: same household" not in {t for t, c in found.items() if c.true_pairs}


def test_pair_counts_are_whole_numbers() -> None:
    scores = pairwise_scores(dict.fromkeys("abcd", "X"), {"a": "1", "b": "1", "c": "2", "d": "2"})
    counts = (
        scores.true_pairs,
        scores.predicted_pairs,
        scores.correct_pairs,
        scores.false_pairs,
        scores.missed_pairs,
    )
    assert counts == (2, 6, 2, 4, 0) and all(type(n) is int for n in counts)


def test_linking_only_wrong_pairs_scores_zero_f1() -> None:
    """No precision and no recall: nothing right, which is not perfect."""
    scores = pairwise_scores(
        {"a": "X", "b": "X", "c": "Y", "d": "Z"}, {"a": "1", "b": "2", "c": "3", "d": "3"}
    )
    assert (scores.precision, scores.recall, scores.f1) == (0.0, 0.0, 0.0)


def household(a: str, b: str) -> frozenset[str]:
    """A relation that names both people, in either order."""
    return frozenset({f"related {min(a, b)}+{max(a, b)}"})


def _listed(predicted: dict[int, str], truth: dict[int, Labelled]) -> dict[str, ScenarioCounts]:
    """scenario_scores by listing every pair of keys."""
    found: dict[str, ScenarioCounts] = {}
    for a, b in combinations(sorted(truth), 2):
        la, lb = truth[a], truth[b]
        tags = {ALL, *la.scenarios, *lb.scenarios}
        together = a in predicted and b in predicted and predicted[a] == predicted[b]
        same = la.person == lb.person
        if together:
            for tag in tags | (set() if same else household(la.person, lb.person)):
                counts = found.setdefault(tag, ScenarioCounts())
                counts.predicted_pairs += 1
                counts.correct_pairs += same
        if same:
            reachable = la.reachable is not None and la.reachable == lb.reachable
            for tag in tags:
                counts = found.setdefault(tag, ScenarioCounts())
                counts.true_pairs += 1
                counts.reachable_pairs += reachable
                counts.reachable_found += reachable and together
    return found


labels = st.builds(
    Labelled,
    st.sampled_from("pqr"),
    st.sampled_from(["A", "B", None]),
    st.frozensets(st.sampled_from(["typo", "household", "moved"]), max_size=2),
)


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(st.integers(0, 12), labels, max_size=12),
    st.dictionaries(st.integers(0, 14), st.sampled_from("XYZ"), max_size=12),
)
def test_scenario_counts_match_listing_every_pair(
    truth: dict[int, Labelled], predicted: dict[int, str]
) -> None:
    found = scenario_scores(predicted, truth, household)
    assert found == _listed(predicted, truth)
    assert all(type(n) is int for counts in found.values() for n in astuple(counts))


@pytest.mark.parametrize(
    ("predicted", "truth", "expected"),
    [
        pytest.param(
            {},
            {1: Labelled("ann", "A", frozenset()), 2: Labelled("ann", "A", frozenset())},
            {ALL: ScenarioCounts(true_pairs=1, reachable_pairs=1)},
            id="two-lost-keys-are-two-profiles-not-one",
        ),
        pytest.param(
            {1: "p"},
            {1: Labelled("ann", "A", frozenset({"typo"}))},
            {},
            id="a-lone-key-has-no-pairs-to-count",
        ),
        pytest.param(
            dict.fromkeys(range(5), "p"),
            {k: Labelled("ann", "A", frozenset()) for k in range(3)}
            | {k: Labelled("bob", "B", frozenset()) for k in (3, 4)},
            {ALL: ScenarioCounts(4, 10, 4, 4, 4), "related ann+bob": ScenarioCounts(0, 6, 0, 0, 0)},
            id="three-and-two-of-two-people-in-one-profile",
        ),
        pytest.param(
            {1: "p", 2: "p", 3: "q", 4: "q"},
            {k: Labelled("ann", None, frozenset({"moved"})) for k in range(1, 5)},
            {k: ScenarioCounts(6, 2, 2, 0, 0) for k in (ALL, "moved")},
            id="correct-pairs-add-up-over-profiles",
        ),
    ],
)
def test_scenario_counts_by_hand(
    predicted: dict[int, str], truth: dict[int, Labelled], expected: dict[str, ScenarioCounts]
) -> None:
    found = scenario_scores(predicted, truth, household)
    assert found == expected
    assert all(type(n) is int for counts in found.values() for n in astuple(counts))
