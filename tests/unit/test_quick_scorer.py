"""The real-time first look agrees with full scoring: same levels, same probability."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.model import FieldValues, MatchModel, fold_record
from identity.domain.matching.scoring import QuickScorer, score

NAMES = [
    "Ann",
    "ann ",
    "Anne",
    "Anna",
    "Kathy",
    "Katherine",
    "Bob",
    "Robert",
    "Okafor",
    "Okafur",
    "Smith",
    "Smyth",
    None,
]
DATES = ["1990-03-04", "1990-04-03", "1990-03-05", "1991-01-01", None]
PLACES = ["12 High Street", "12 High St", "4 Rue de la Paix", "SW1A 1AA", "SW1A 2AA", None]

records = st.fixed_dictionaries(
    {
        "first_name": st.sampled_from(NAMES),
        "last_name": st.sampled_from(NAMES),
        "date_of_birth": st.sampled_from(DATES),
        "address_line1": st.sampled_from(PLACES),
        "postcode": st.sampled_from(PLACES),
        "city": st.sampled_from(NAMES),
    }
)
TF_MODEL = replace(
    DEFAULT_MODEL,
    term_frequencies={"first_name": {"ann": 0.2, "bob": 0.001}, "last_name": {"smith": 0.05}},
)


@pytest.mark.parametrize("model", [DEFAULT_MODEL, TF_MODEL], ids=["plain", "term-frequencies"])
@settings(max_examples=300, deadline=None)
@given(pairs=st.lists(st.tuples(records, records), min_size=1, max_size=20))
def test_quick_look_equals_full_scoring(
    model: MatchModel, pairs: list[tuple[FieldValues, FieldValues]]
) -> None:
    quick = QuickScorer(model)  # one scorer for every pair: its memo must tell them apart
    for _ in ("first look", "remembered"):
        for a, b in pairs:
            folded_a, folded_b = fold_record(a), fold_record(b)
            assert quick.vector(folded_a, folded_b) == model.vector(a, b)
            assert quick.probability(folded_a, folded_b) == pytest.approx(
                score(model, a, b).probability
            )


def test_a_compacted_model_scores_as_the_full_one() -> None:
    full = replace(
        DEFAULT_MODEL,
        term_frequencies={"first_name": {"ann": 0.5, "bob": 0.3, "zed": 0.1, "kim": 0.1}},
    )
    compact = full.compacted(keep=1)
    assert compact.term_frequencies == {"first_name": {"ann": 0.5, "": 0.1}}
    for name in ("Ann", "Zed", "Kim"):  # kept, and rarest: the same weight either way
        a = {"first_name": name, "last_name": "Okafor"}
        assert score(compact, a, a).weight == pytest.approx(score(full, a, a).weight)
    bob = {"first_name": "Bob"}  # dropped by the cap: now weighs as the rarest, more
    assert score(compact, bob, bob).weight > score(full, bob, bob).weight


ANN = {
    "first_name": "Ann",
    "last_name": "Okafor",
    "date_of_birth": "1990-03-04",
    "address_line1": "12 High Street",
    "city": "Leeds",
    "postcode": "SW1A 1AA",
}


@pytest.mark.parametrize("model", [DEFAULT_MODEL, TF_MODEL], ids=["plain", "term-frequencies"])
@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param(ANN, {**ANN, "first_name": "ANN "}, id="same-person"),
        pytest.param({**ANN, "first_name": None}, ANN, id="first-field-missing-on-the-left"),
        pytest.param(ANN, {**ANN, "first_name": ""}, id="first-field-blank-on-the-right"),
        pytest.param(
            {**ANN, "city": None, "postcode": None},
            {**ANN, "last_name": "Okafur"},
            id="fields-missing-then-present",
        ),
        pytest.param(
            {**ANN, "first_name": "Smith", "last_name": "Smith"},
            {**ANN, "first_name": "Smith", "last_name": "Smith"},
            id="one-value-pair-in-two-fields",
        ),
        pytest.param({**ANN, "first_name": "Bob"}, {**ANN, "first_name": "Robert"}, id="nickname"),
        pytest.param({"first_name": "Ann"}, {"last_name": "Ann"}, id="nothing-in-common"),
        # Names alone: probabilities well short of 1, where a wrong weight shows.
        pytest.param(
            {"first_name": "Smith", "last_name": "Smith"},
            {"first_name": "smith", "last_name": "Smith"},
            id="one-value-pair-one-level-in-two-fields",
        ),
        pytest.param(
            {"first_name": "Bob", "last_name": "Bob"},
            {"first_name": "Robert", "last_name": "Robert"},
            id="one-value-pair-two-levels-in-two-fields",
        ),
    ],
)
def test_the_quick_look_at_chosen_pairs_equals_full_scoring(
    model: MatchModel, a: FieldValues, b: FieldValues
) -> None:
    """Missing values weigh nothing and stop nothing; each comparison remembers its own
    levels, even for a value pair another comparison has seen."""
    quick = QuickScorer(model)
    folded_a, folded_b = fold_record(a), fold_record(b)
    for _ in ("first look", "remembered"):
        assert quick.vector(folded_a, folded_b) == model.vector(a, b)
        assert quick.probability(folded_a, folded_b) == pytest.approx(
            score(model, a, b).probability, rel=1e-12
        )
        assert quick.vector(folded_b, folded_a) == model.vector(b, a)
        assert quick.probability(folded_b, folded_a) == pytest.approx(
            score(model, b, a).probability, rel=1e-12
        )


def test_the_memo_holds_at_most_max_size_value_pairs() -> None:
    """It is emptied when full, and what it answers next is still right."""
    quick = QuickScorer(TF_MODEL, max_size=3)
    for name in ("Ann", "Bob", "Zed", "Kim", "Ann", "Smith"):
        a, b = (
            {"first_name": name, "last_name": "Okafor"},
            {"first_name": "ann", "last_name": "okafor"},
        )
        assert quick.probability(fold_record(a), fold_record(b)) == pytest.approx(
            score(TF_MODEL, a, b).probability, rel=1e-12
        )
        assert len(quick._seen) <= 3
