"""The match model as a document: what it accepts, what it refuses (and says so), how it is
written and read back, and what compacting its term frequencies keeps."""

from __future__ import annotations

import json

import pytest

from identity.domain.matching.levels import Level
from identity.domain.matching.model import Comparison, MatchModel, NonMatchRule

NULL, ELSE = Level("null", "null"), Level("else", "else", m=0.1, u=0.9)


def ladder(field: str = "last_name", m: float | None = 0.9, u: float | None = 0.1) -> Comparison:
    return Comparison(field, (NULL, Level("exact", "exact", m=m, u=u), ELSE))


# --- a comparison's ladder ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "levels",
    [
        pytest.param((NULL, ELSE), id="null-else-only"),
        pytest.param((NULL, Level("e", "exact"), Level("f", "exact")), id="no-else-last"),
        pytest.param((Level("e", "exact"), Level("f", "exact"), ELSE), id="no-null-first"),
        pytest.param((ELSE, Level("e", "exact"), NULL), id="reversed"),
        # Neither end has a predicate of its own: in the middle, pair-by-pair scoring had no
        # way to read it (a KeyError at the first pair) while batch scoring stopped there.
        pytest.param((NULL, ELSE, Level("e", "exact"), ELSE), id="else-in-the-middle"),
        pytest.param((NULL, Level("e", "exact"), NULL, ELSE), id="null-in-the-middle"),
        pytest.param((NULL, NULL, Level("e", "exact"), ELSE), id="null-twice-first"),
        pytest.param((NULL, Level("e", "exact"), ELSE, ELSE), id="else-twice-last"),
    ],
)
def test_a_ladder_needs_a_null_a_rung_and_an_else_in_that_order(levels: tuple[Level, ...]) -> None:
    with pytest.raises(ValueError, match=r"^comparison 'x': levels go null, \.\.\., else$"):
        Comparison("x", levels)


@pytest.mark.parametrize("p", [0.0, 1.0, 0.5])
def test_m_and_u_may_be_any_probability_zero_and_one_included(p: float) -> None:
    comparison = Comparison("x", (NULL, Level("e", "exact", m=p, u=p), ELSE))
    assert comparison.levels[1].m == comparison.levels[1].u == p


@pytest.mark.parametrize(
    ("m", "u", "message"),
    [
        (1.5, 0.1, "m is a probability, got 1.5"),
        (-0.1, 0.1, "m is a probability, got -0.1"),
        (0.9, 1.5, "u is a probability, got 1.5"),
        (0.9, 2.5, "u is a probability, got 2.5"),
        (0.9, -1e-9, "u is a probability, got -1e-09"),
    ],
)
def test_an_m_or_u_outside_zero_to_one_is_refused_naming_which(
    m: float, u: float, message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        Comparison("x", (NULL, Level("agree", "exact", m=m, u=u), ELSE))
    assert str(refused.value) == f"comparison 'x', level 'agree': {message}"


# --- the model's own numbers -------------------------------------------------------------------


@pytest.mark.parametrize("prior", [0.0, 1.0, 1.5, -0.5])
def test_a_prior_that_is_not_strictly_a_probability_is_refused(prior: float) -> None:
    with pytest.raises(ValueError) as refused:
        MatchModel((ladder(),), prior=prior)
    assert str(refused.value) == f"prior must be strictly between 0 and 1, got {prior}"


@pytest.mark.parametrize(
    ("review", "link"),
    [
        (0.0, 0.9),  # a review threshold of 0 would review every pair
        (0.6, 1.0),  # a link threshold of 1 links nothing a probability can reach
        (0.6, 1.5),
        (0.9, 0.8),  # review above link
    ],
)
def test_thresholds_out_of_order_or_range_are_refused(review: float, link: float) -> None:
    with pytest.raises(ValueError) as refused:
        MatchModel((ladder(),), prior=0.1, link_threshold=link, review_threshold=review)
    assert str(refused.value) == "thresholds: 0 < review_threshold <= link_threshold < 1"


def test_edge_values_that_are_in_range_are_accepted() -> None:
    """One threshold for both (no review band) and a prior held for a single record."""
    model = MatchModel(
        (ladder(),), prior=0.1, link_threshold=0.9, review_threshold=0.9, prior_records=1
    )
    assert (model.review_threshold, model.link_threshold, model.prior_records) == (0.9, 0.9, 1)


def test_the_records_a_prior_holds_for_double_with_each_halving_of_the_prior() -> None:
    model = MatchModel((ladder(),), prior=1e-4, prior_records=10_000)
    sized = model.at_size(100_000)  # 10x: four doublings
    assert sized.prior == pytest.approx(1e-4 / 16) and sized.prior_records == 160_000
    assert sized.at_size(100_000) is sized  # held for 160,000 now: no further step


def test_new_levels_replace_only_the_comparisons_named() -> None:
    model = MatchModel((ladder("first_name"), ladder("last_name")), prior=0.1)
    fitted = (NULL, Level("exact", "exact", m=0.7, u=0.01), ELSE)
    updated = model.with_levels({"last_name": fitted})
    assert updated.comparisons == (ladder("first_name"), Comparison("last_name", fitted))


# --- compacting term frequencies ---------------------------------------------------------------


def tf_model(tables: dict[str, dict[str, float]]) -> MatchModel:
    return MatchModel((ladder(),), prior=0.1, term_frequencies=tables)


def test_compacting_keeps_values_more_common_than_the_rarest_and_folds_the_rest_into_it() -> None:
    model = tf_model({"last_name": {"smith": 0.5, "jones": 0.2, "okafor": 0.1, "zed": 0.1}})
    assert model.compacted().term_frequencies == {
        "last_name": {"": 0.1, "smith": 0.5, "jones": 0.2}
    }


def test_a_table_with_no_values_compacts_to_a_rarest_share_of_zero() -> None:
    assert tf_model({"last_name": {}}).compacted().term_frequencies == {"last_name": {"": 0.0}}


def test_compacting_keeps_five_thousand_common_values_unless_told() -> None:
    table = {f"v{i}": 0.5 - i * 1e-6 for i in range(5_002)} | {"rare": 1e-9}
    compact = tf_model({"last_name": table}).compacted().term_frequencies["last_name"]
    assert len(compact) == 5_001 and compact[""] == 1e-9
    assert "v4999" in compact and "v5000" not in compact


# --- the document ------------------------------------------------------------------------------


def test_the_document_is_written_for_a_reviewer_one_key_a_line_indented_by_two() -> None:
    text = MatchModel((ladder(),), prior=0.1).to_json()
    assert text.splitlines()[:3] == ["{", '  "comparisons": [', "    {"]


def test_a_document_that_is_not_an_object_is_refused_saying_so() -> None:
    for text in ("[1, 2]", '"model"', "3"):
        with pytest.raises(ValueError) as refused:
            MatchModel.from_json(text)
        assert str(refused.value) == "not a match model: not a JSON object"


def test_a_document_may_leave_out_everything_but_comparisons_and_prior() -> None:
    full = json.loads(MatchModel((ladder(),), prior=0.1).to_json())
    model = MatchModel.from_dict({"comparisons": full["comparisons"], "prior": 0.1})
    assert model == MatchModel((ladder(),), prior=0.1)
    assert (model.link_threshold, model.review_threshold) == (0.95, 0.6)
    assert (model.blocking, model.never_link, model.prior_rules) == ((), (), ())
    assert (model.term_frequencies, model.prior_records) == ({}, None)


def test_everything_a_model_holds_survives_the_round_trip() -> None:
    model = MatchModel(
        (ladder(), ladder("first_name", m=0.8, u=0.02)),
        prior=0.002,
        link_threshold=0.9,
        review_threshold=0.5,
        blocking=(("last_name",), ("metaphone:first_name", "postcode")),
        never_link=(
            NonMatchRule("twins", (("first_name", ("else",)), ("last_name", ("exact", "close")))),
        ),
        prior_rules=(("email",), ("first_name", "last_name")),
        term_frequencies={"last_name": {"smith": 0.25, "": 0.001}, "first_name": {"ann": 0.5}},
        prior_records=1_234,
    )
    assert MatchModel.from_json(model.to_json()) == model


def test_a_level_vector_that_does_not_fit_the_comparisons_is_refused_not_read_in_part() -> None:
    twins = NonMatchRule("twins", (("first_name", ("else",)), ("last_name", ("exact",))))
    model = MatchModel((ladder("first_name"), ladder("last_name")), prior=0.1, never_link=(twins,))
    assert (model.non_match((2, 1)), model.non_match((1, 1))) == (twins, None)
    for vector in ((2,), (2, 1, 1)):
        with pytest.raises(ValueError, match=r"^zip\(\) argument 2 is (shorter|longer) than"):
            model.non_match(vector)
