"""Batch matching: candidates by blocking, fitting, clustering on a small known population."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.domain.matching.blocking import blocking_keys
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.engine import (
    Candidates,
    candidate_pairs,
    resolve_records,
    term_frequencies,
)
from identity.domain.matching.levels import KEYED, SCORED, Level
from identity.domain.matching.model import Comparison, FieldValues, MatchModel
from identity.domain.matching.vectorized import vectors

FIRST = ["Ann", "Bob", "Carla", "Dev", "Ema", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kofi", "Lea"]
LAST = ["Okafor", "Smith", "Nguyen", "Muller", "Rossi", "Haddad", "Kowalski", "Silva", "Tanaka"]


def population(people: int, seed: int) -> tuple[dict[str, FieldValues], dict[str, str]]:
    """Each person once, and a third of them again with a typo, a nickname-free variant."""
    rng = random.Random(seed)
    records: dict[str, FieldValues] = {}
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
    records: dict[str, FieldValues] = {str(i): {"first_name": "Ann", "last_name": "Smith"}
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
    found = resolve_records(records, DEFAULT_MODEL, seed=1, random_pairs=20_000).clusters
    duplicates = [(f"{p}a", f"{p}b") for p in range(0, 300, 3)]
    together = sum(found[a] == found[b] for a, b in duplicates)
    assert together >= 0.9 * len(duplicates)
    wrongly_joined = sum(1 for a in records for b in records
                         if a < b and found[a] == found[b] and truth[a] != truth[b])
    assert wrongly_joined <= 2


FIELDS = [c.field for c in DEFAULT_MODEL.comparisons]
NAMES = ["Ann", "Anne", "Anna", "Bob", "Robert", " bob ", "Mary  Ann", "mary ann", "Smith",
         "Smyth", "Okafor", "Knight", "Night", "", " ", None, "1980-03-07", "1980-07-03",
         " 1980-07-03", "1981-03-07", "1980", "19", "12 Main St", "12 Main Street",
         "12 main st apt 4", "LS1 4AP", "LS1 9ZZ", "+44 7400 123456", "07400 123456",
         "(415) 555-2671", "ann@shop.com", "ann@mail.com", "ann@", "@shop.com"]


def every_kind_model() -> MatchModel:
    """One comparison per level kind, each on its own field: what the default model lacks."""
    def ladder(field: str, level: Level) -> Comparison:
        return Comparison(field, (Level("null", "null"), level, Level("else", "else")))

    levels = [Level("x", kind, threshold=0.85 if kind in ("jaro_winkler", "token_set") else 1,
                    length=3) for kind in sorted(KEYED | SCORED)]
    return MatchModel(tuple(ladder(f"f{i}", level) for i, level in enumerate(levels)),
                      prior=0.01)


def pairs_of(fields: list[str]) -> st.SearchStrategy[list[tuple[FieldValues, FieldValues]]]:
    record = st.fixed_dictionaries({f: st.sampled_from(NAMES) for f in fields})
    return st.lists(st.tuples(record, record), min_size=1, max_size=30)


@pytest.mark.parametrize("model", [DEFAULT_MODEL, every_kind_model()],
                         ids=["default-model", "every-level-kind"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_vectorized_comparison_equals_the_pair_by_pair_path(
    model: MatchModel, data: st.DataObject,
) -> None:
    pairs = data.draw(pairs_of([c.field for c in model.comparisons]), label="pairs")
    lefts, rights = [a for a, _ in pairs], [b for _, b in pairs]
    assert vectors(model, lefts, rights) == [model.vector(a, b) for a, b in pairs]


def naive_candidates(records: dict[str, FieldValues], max_block: int) -> Candidates:
    blocks: dict[str, list[str]] = {}
    for record_id, record in records.items():
        for key in blocking_keys(DEFAULT_MODEL.blocking, record):
            blocks.setdefault(key, []).append(record_id)
    pairs = {tuple(sorted((a, b))) for members in blocks.values() if len(members) <= max_block
             for a, b in itertools.combinations(members, 2)}
    return Candidates(sorted((a, b) for a, b in pairs),
                      sorted((key, len(m)) for key, m in blocks.items() if len(m) > max_block))


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.text("abcdef", min_size=1, max_size=3),
                       st.fixed_dictionaries({f: st.sampled_from(NAMES[:12]) for f in FIELDS}),
                       max_size=25),
       st.integers(1, 6))
def test_batch_blocking_finds_what_key_by_key_blocking_finds(
    records: dict[str, FieldValues], max_block: int,
) -> None:
    assert candidate_pairs(records, DEFAULT_MODEL, max_block) == naive_candidates(records,
                                                                                  max_block)
