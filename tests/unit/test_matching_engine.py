"""Batch matching: candidates by blocking, fitting, clustering on a small known population."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.engine import (
    candidate_pairs,
    clusters,
    fit,
    score_pairs,
    term_frequencies,
)
from identity.domain.matching.model import Record

FIRST = ["Ann", "Bob", "Carla", "Dev", "Ema", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kofi", "Lea"]
LAST = ["Okafor", "Smith", "Nguyen", "Muller", "Rossi", "Haddad", "Kowalski", "Silva", "Tanaka"]


def population(people: int, seed: int) -> tuple[dict[str, Record], dict[str, str]]:
    """Each person once, and a third of them again with a typo, a nickname-free variant."""
    rng = random.Random(seed)
    records: dict[str, Record] = {}
    truth: dict[str, str] = {}
    for p in range(people):
        person = {"first_name": rng.choice(FIRST), "last_name": rng.choice(LAST),
                  "date_of_birth": f"19{rng.randint(50, 99)}-{rng.randint(1, 12):02d}-"
                                   f"{rng.randint(1, 28):02d}",
                  "postcode": f"LS{rng.randint(1, 30)} {rng.randint(1, 9)}AB",
                  "city": rng.choice(["Leeds", "York", "Hull"])}
        records[f"{p}a"], truth[f"{p}a"] = person, str(p)
        if p % 3 == 0:
            twin = dict(person)
            twin["last_name"] = str(person["last_name"])[:-1] + "x"
            records[f"{p}b"], truth[f"{p}b"] = twin, str(p)
    return records, truth


def test_candidates_come_from_blocks_and_oversized_blocks_are_reported() -> None:
    records: dict[str, Record] = {str(i): {"first_name": "Ann", "last_name": "Smith"}
                                  for i in range(6)}
    found = candidate_pairs(records, DEFAULT_MODEL, max_block=10)
    assert len(found.pairs) == 15 and found.oversized_blocks == []
    capped = candidate_pairs(records, DEFAULT_MODEL, max_block=5)
    assert capped.pairs == [] and capped.oversized_blocks == [("0:ann\x1fsmith", 6)]


def test_term_frequencies_count_shares_of_records() -> None:
    tf = term_frequencies([{"last_name": "Smith"}, {"last_name": " smith"},
                           {"last_name": "Okafor"}, {"last_name": None}], DEFAULT_MODEL)
    assert tf["last_name"] == {"smith": 0.5, "okafor": 0.25}


def test_fitted_model_clusters_duplicates_and_keeps_people_apart() -> None:
    records, truth = population(300, seed=4)
    model = fit(records, DEFAULT_MODEL, seed=1, random_pairs=20_000)
    pairs = candidate_pairs(records, model).pairs
    scored = score_pairs(records, model, pairs, term_frequencies(records.values(), model))
    found = clusters(records, scored)
    duplicates = [(f"{p}a", f"{p}b") for p in range(0, 300, 3)]
    together = sum(found[a] == found[b] for a, b in duplicates)
    assert together >= 0.9 * len(duplicates)
    wrongly_joined = sum(1 for a in records for b in records
                         if a < b and found[a] == found[b] and truth[a] != truth[b])
    assert wrongly_joined <= 2


FIELDS = [c.field for c in DEFAULT_MODEL.comparisons]
NAMES = ["Ann", "Anne", "Anna", "Bob", "Robert", "Smith", "Smyth", "Okafor", "", " ", None,
         "1980-03-07", "1980-07-03", "1981-03-07", "12 Main St", "12 Main Street", "LS1 4AP",
         "LS1 9ZZ", "+44 7400 123456", "07400 123456", "ann@shop.com", "ann@mail.com"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.fixed_dictionaries({f: st.sampled_from(NAMES) for f in FIELDS}),
                          st.fixed_dictionaries({f: st.sampled_from(NAMES) for f in FIELDS})),
                min_size=1, max_size=30))
def test_vectorized_comparison_equals_the_pair_by_pair_path(
    pairs: list[tuple[dict[str, str | None], dict[str, str | None]]],
) -> None:
    from identity.domain.matching.vectorized import vectors

    lefts, rights = [a for a, _ in pairs], [b for _, b in pairs]
    assert vectors(DEFAULT_MODEL, lefts, rights) == [DEFAULT_MODEL.vector(a, b)
                                                     for a, b in pairs]


def test_fast_decisions_agree_with_full_scoring_vetoes_included() -> None:
    from identity.domain.matching.engine import decisions
    from identity.domain.matching.vectorized import vectors

    records, _ = population(60, seed=9)
    pairs = candidate_pairs(records, DEFAULT_MODEL).pairs
    tf = term_frequencies(records.values(), DEFAULT_MODEL)
    pair_vectors = vectors(DEFAULT_MODEL, [records[a] for a, _ in pairs],
                           [records[b] for _, b in pairs])
    twins = {"first_name": "Ada", "last_name": "Okafor", "date_of_birth": "1990-06-01",
             "postcode": "LS1 4AP", "city": "Leeds"}
    records = {**records, "t1": twins, "t2": {**twins, "first_name": "Chidi"}}
    pairs = [*pairs, ("t1", "t2")]
    pair_vectors = [*pair_vectors, DEFAULT_MODEL.vector(twins, records["t2"])]
    fast = decisions(records, DEFAULT_MODEL, pairs, pair_vectors, tf)
    full = [s.score.decision for s in score_pairs(records, DEFAULT_MODEL, pairs, tf)]
    assert fast == full
    assert fast[-1].value == "none" and len(set(fast)) > 1
