"""The batch pipeline: blocking, fitting, scoring and clustering in one call."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.engine import (
    MIN_RECORDS_TO_FIT,
    STAGES,
    candidate_pairs,
    resolve_records,
    term_frequencies,
)
from identity.domain.matching.fitting import sample_pairs
from identity.domain.matching.model import FieldValues
from identity.domain.matching.scoring import Decision, score
from tests.unit.test_matching_engine import population

ANN = {"first_name": "Ann", "last_name": "Okafor", "date_of_birth": "1985-04-12",
       "address_line1": "12 Main Street", "city": "Leeds", "postcode": "LS1 4AP"}
ANN_AGAIN = {**ANN, "last_name": "Okafur", "address_line1": "12 Main St"}
BOB = {"first_name": "Bob", "last_name": "Jones", "date_of_birth": "1971-01-30",
       "address_line1": "3 High Road", "city": "York", "postcode": "YO1 7HH"}
NAMESAKE = {"first_name": "Ann", "last_name": "Okafor", "date_of_birth": "1962-11-02",
            "address_line1": "40 Quay Street", "city": "Hull", "postcode": "HU1 2BB"}


def test_a_duplicate_links_and_strangers_stay_apart() -> None:
    records: dict[str, FieldValues] = {"a1": ANN, "a2": ANN_AGAIN, "b": BOB, "n": NAMESAKE}
    result = resolve_records(records, DEFAULT_MODEL)
    assert [(p.left, p.right) for p in result.links] == [("a1", "a2")]
    assert result.links[0].probability >= DEFAULT_MODEL.link_threshold
    assert result.clusters == {"a1": "a1", "a2": "a1", "b": "b", "n": "n"}
    assert result.cluster_count == 3
    # blocking on first and last name pairs Ann with her namesake, who is scored and left out
    assert result.candidate_pairs == 2 and result.oversized_blocks == []


def test_linking_two_sources_ignores_pairs_within_one() -> None:
    records: dict[str, FieldValues] = {"x1": ANN, "x2": ANN_AGAIN, "y1": ANN_AGAIN, "y2": BOB}
    sources = {"x1": "crm", "x2": "crm", "y1": "shop", "y2": "shop"}
    result = resolve_records(records, DEFAULT_MODEL, sources=sources)
    assert [(p.left, p.right) for p in result.links] == [("x1", "y1"), ("x2", "y1")]
    assert result.candidate_pairs == 2  # x1-x2 share every key, but live in one source
    dedupe = resolve_records(records, DEFAULT_MODEL)
    assert ("x1", "x2") in {(p.left, p.right) for p in dedupe.links}


TWINS = {"first_name": "Ada", "last_name": "Okafor", "date_of_birth": "1990-06-01",
         "postcode": "LS1 4AP", "city": "Leeds"}


@pytest.mark.parametrize(("seed", "train", "twins"), [
    pytest.param(2, True, False, id="fitted"),
    pytest.param(9, False, True, id="as-given-with-twins"),
])
def test_links_are_exactly_what_full_scoring_decides_vetoes_included(
    seed: int, train: bool, twins: bool,
) -> None:
    records, _ = population(60, seed=seed)
    if twins:
        records = {**records, "t1": TWINS, "t2": {**TWINS, "first_name": "Chidi"}}
    result = resolve_records(records, DEFAULT_MODEL, train=train)
    pairs = candidate_pairs(records, DEFAULT_MODEL).pairs
    full = {(a, b): score(result.model, records[a], records[b]) for a, b in pairs}
    expected = [(a, b) for (a, b), s in full.items() if s.decision is Decision.LINK]
    assert [(p.left, p.right) for p in result.links] == expected
    assert len(expected) > 5
    assert len({scored.decision for scored in full.values()}) > 1
    for pair in result.links:
        assert pair.probability == full[(pair.left, pair.right)].probability
    if twins:
        # The twins score far above the link threshold; only the never-link rule keeps them
        # apart.
        assert full[("t1", "t2")].probability >= DEFAULT_MODEL.link_threshold
        assert full[("t1", "t2")].non_match is not None


def test_fitting_replaces_m_and_u_and_carries_the_term_frequencies() -> None:
    records, truth = population(200, seed=4)
    assert len(records) >= MIN_RECORDS_TO_FIT
    result = resolve_records(records, DEFAULT_MODEL, seed=1, random_pairs=20_000)
    assert result.fitted
    fitted_exact = result.model.comparisons[1].levels[1]
    default_exact = DEFAULT_MODEL.comparisons[1].levels[1]
    assert (fitted_exact.m, fitted_exact.u) != (default_exact.m, default_exact.u)
    assert result.model.term_frequencies == term_frequencies(records.values(), DEFAULT_MODEL)
    together = sum(result.clusters[f"{p}a"] == result.clusters[f"{p}b"] for p in range(0, 200, 3))
    assert together >= 0.9 * len(range(0, 200, 3))
    wrongly = sum(truth[a] != truth[b] for a, b in ((p.left, p.right) for p in result.links))
    assert wrongly <= 2


def test_without_training_the_model_scores_as_given() -> None:
    records, _ = population(200, seed=4)
    trained_tf = {"last_name": {"okafor": 0.5}}
    model = replace(DEFAULT_MODEL, term_frequencies=trained_tf)
    result = resolve_records(records, model, train=False)
    assert not result.fitted
    assert result.model == model  # m, u and the model's own term frequencies, untouched
    untrained = resolve_records(records, DEFAULT_MODEL, train=False)
    assert untrained.model.comparisons == DEFAULT_MODEL.comparisons
    assert untrained.model.term_frequencies == term_frequencies(records.values(), DEFAULT_MODEL)


def test_too_few_records_are_not_fitted_on() -> None:
    result = resolve_records({"a1": ANN, "a2": ANN_AGAIN}, DEFAULT_MODEL)
    assert not result.fitted and result.model.comparisons == DEFAULT_MODEL.comparisons


def test_oversized_blocks_are_skipped_and_reported_and_stages_announced() -> None:
    records: dict[str, FieldValues] = {str(i): {"first_name": "Ann", "last_name": "Smith"}
                                  for i in range(6)}
    seen: list[str] = []
    result = resolve_records(records, DEFAULT_MODEL, max_block=5, progress=seen.append)
    assert result.oversized_blocks == [("0:ann\x1fsmith", 6)]
    assert result.candidate_pairs == 0 and result.cluster_count == 6
    assert tuple(seen) == STAGES


def test_random_pairs_are_distinct_and_across_sources_when_linking() -> None:
    origin = np.array([0] * 30 + [1] * 600 + [2] * 5, dtype=np.int64)
    left, right = sample_pairs(len(origin), 5_000, seed=3, origin=origin)
    assert len(left) == 5_000 and (origin[left] != origin[right]).all()
    # uniform over the pairs across sources: 30 * 605 of the 30*600 + 30*5 + 600*5 hold
    # a record of source 0
    with_zero = np.mean((origin[left] == 0) | (origin[right] == 0))
    assert with_zero == pytest.approx(30 * 605 / (30 * 600 + 30 * 5 + 600 * 5), abs=0.03)
    few_left, few_right = sample_pairs(4, 100, seed=0, origin=None)
    assert sorted(zip(few_left.tolist(), few_right.tolist(), strict=True)) == [
        (0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    both = np.array([0, 0, 1], dtype=np.int64)
    every_left, every_right = sample_pairs(3, 100, seed=0, origin=both)
    assert sorted(zip(every_left.tolist(), every_right.tolist(), strict=True)) == [
        (0, 2), (1, 2)]
