"""The real-time first look agrees with full scoring: same levels, same probability."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.model import FieldValues, MatchModel, fold_record
from identity.domain.matching.scoring import QuickScorer, score

NAMES = ["Ann", "ann ", "Anne", "Anna", "Kathy", "Katherine", "Bob", "Robert", "Okafor",
         "Okafur", "Smith", "Smyth", None]
DATES = ["1990-03-04", "1990-04-03", "1990-03-05", "1991-01-01", None]
PLACES = ["12 High Street", "12 High St", "4 Rue de la Paix", "SW1A 1AA", "SW1A 2AA", None]

records = st.fixed_dictionaries({
    "first_name": st.sampled_from(NAMES), "last_name": st.sampled_from(NAMES),
    "date_of_birth": st.sampled_from(DATES), "address_line1": st.sampled_from(PLACES),
    "postcode": st.sampled_from(PLACES), "city": st.sampled_from(NAMES),
})
TF_MODEL = replace(DEFAULT_MODEL, term_frequencies={
    "first_name": {"ann": 0.2, "bob": 0.001}, "last_name": {"smith": 0.05}})


@pytest.mark.parametrize("model", [DEFAULT_MODEL, TF_MODEL], ids=["plain", "term-frequencies"])
@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(records, records), min_size=1, max_size=20))
def test_quick_look_equals_full_scoring(
        model: MatchModel, pairs: list[tuple[FieldValues, FieldValues]]) -> None:
    quick = QuickScorer(model)  # one scorer for every pair: its memo must tell them apart
    for _ in ("first look", "remembered"):
        for a, b in pairs:
            folded_a, folded_b = fold_record(a), fold_record(b)
            assert quick.vector(folded_a, folded_b) == model.vector(a, b)
            assert quick.probability(folded_a, folded_b) == pytest.approx(
                score(model, a, b).probability)


def test_a_compacted_model_scores_as_the_full_one() -> None:
    full = replace(DEFAULT_MODEL, term_frequencies={
        "first_name": {"ann": 0.5, "bob": 0.3, "zed": 0.1, "kim": 0.1}})
    compact = full.compacted(keep=1)
    assert compact.term_frequencies == {"first_name": {"ann": 0.5, "": 0.1}}
    for name in ("Ann", "Zed", "Kim"):  # kept, and rarest: the same weight either way
        a = {"first_name": name, "last_name": "Okafor"}
        assert score(compact, a, a).weight == pytest.approx(score(full, a, a).weight)
    bob = {"first_name": "Bob"}  # dropped by the cap: now weighs as the rarest, more
    assert score(compact, bob, bob).weight > score(full, bob, bob).weight
