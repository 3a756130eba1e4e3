"""Fellegi-Sunter scoring: buckets at their bounds, a level's weight with and without term
frequencies, probability, the decision at its thresholds, the scored pair and its JSON."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from identity.domain.matching.levels import Level
from identity.domain.matching.model import Comparison, MatchModel, NonMatchRule
from identity.domain.matching.scoring import (
    Bucket,
    Decision,
    FieldScore,
    PairScore,
    bucket_of,
    decide,
    decode_score,
    encode_score,
    level_weight,
    probability,
    score,
)

EXACT = Level("exact", "exact", m=0.9, u=0.01)
COMMON_EXACT = Level("exact", "exact", tf_adjusted=True, m=0.8, u=0.004)


def names_model(**changes: object) -> MatchModel:
    """First names weighed by how common they are, surnames plainly; twins never link."""
    model = MatchModel(
        (
            Comparison(
                "first_name",
                (Level("null", "null"), COMMON_EXACT, Level("else", "else", m=0.2, u=0.996)),
            ),
            Comparison(
                "last_name",
                (
                    Level("null", "null"),
                    EXACT,
                    Level("close", "jaro_winkler", threshold=0.88, m=0.07, u=0.04),
                    Level("else", "else", m=0.03, u=0.95),
                ),
            ),
        ),
        prior=0.01,
        never_link=(NonMatchRule("twins", (("first_name", ("else",)), ("last_name", ("exact",)))),),
    )
    return replace(model, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("weight", "bucket"),
    [
        (40.0, Bucket.SAME),
        (6.0, Bucket.SAME),
        (6.5, Bucket.SAME),
        (5.99, Bucket.CLOSE),
        (3.0, Bucket.CLOSE),
        (3.5, Bucket.CLOSE),
        (2.99, Bucket.LIKELY),
        (0.0, Bucket.LIKELY),
        (0.5, Bucket.LIKELY),
        (-0.01, Bucket.UNLIKELY),
        (-3.0, Bucket.UNLIKELY),
        (-2.5, Bucket.UNLIKELY),
        (-3.01, Bucket.NO_CHANCE),
        (-3.5, Bucket.NO_CHANCE),
        (-40.0, Bucket.NO_CHANCE),
    ],
)
def test_a_weight_reads_as_its_bucket_each_lower_bound_included(
    weight: float, bucket: Bucket
) -> None:
    assert bucket_of(EXACT, weight) is bucket


@pytest.mark.parametrize("weight", [-10.0, 0.0, 10.0])
def test_a_missing_value_reads_as_missing_whatever_its_weight(weight: float) -> None:
    assert bucket_of(Level("null", "null"), weight) is Bucket.MISSING


@pytest.mark.parametrize(
    "level",
    [
        pytest.param(Level("null", "null", m=0.5, u=0.1), id="null-level-even-with-m-u"),
        pytest.param(Level("exact", "exact", u=0.1), id="no-m-yet"),
        pytest.param(Level("exact", "exact", m=0.5), id="no-u-yet"),
    ],
)
def test_a_level_without_evidence_weighs_nothing(level: Level) -> None:
    assert level_weight(level, "Smith", "last_name", {"last_name": {"smith": 0.2}}) == 0.0


TF = {"first_name": {"ann": 0.2, "zed": 0.001, "": 0.0005}, "last_name": {"smith": 0.05}}
NO_OTHERS = {"first_name": {"ann": 0.2}}


@pytest.mark.parametrize(
    ("level", "value", "field", "tf", "u"),
    [
        pytest.param(EXACT, "Smith", "last_name", None, 0.01, id="plain"),
        pytest.param(EXACT, "Smith", "last_name", TF, 0.01, id="plain-level-ignores-tf"),
        pytest.param(COMMON_EXACT, "Ann", "first_name", None, 0.004, id="tf-level-without-tf"),
        pytest.param(COMMON_EXACT, " ANN ", "first_name", TF, 0.2, id="folded-value-looked-up"),
        pytest.param(COMMON_EXACT, "Zed", "first_name", TF, 0.001, id="rare-value"),
        pytest.param(COMMON_EXACT, "Kim", "first_name", TF, 0.0005, id="unlisted-as-the-rest"),
        pytest.param(
            COMMON_EXACT,
            "Kim",
            "first_name",
            NO_OTHERS,
            0.004,
            id="unlisted-without-rest-entry-uses-level-u",
        ),
        pytest.param(COMMON_EXACT, "Ann", "city", TF, 0.004, id="field-without-table"),
        pytest.param(COMMON_EXACT, None, "first_name", TF, 0.004, id="no-value"),
        pytest.param(COMMON_EXACT, "", "first_name", TF, 0.004, id="blank-value"),
    ],
)
def test_a_level_weighs_log2_m_over_u_with_u_from_the_term_frequencies(
    level: Level, value: str | None, field: str, tf: dict[str, dict[str, float]] | None, u: float
) -> None:
    assert level.m is not None
    assert level_weight(level, value, field, tf) == pytest.approx(math.log2(level.m / u))


def test_a_u_of_zero_weighs_as_one_in_a_trillion() -> None:
    assert level_weight(Level("exact", "exact", m=0.5, u=0.0), "x", "f", None) == pytest.approx(
        math.log2(0.5 / 1e-12)
    )
    assert level_weight(
        COMMON_EXACT, "Ann", "first_name", {"first_name": {"ann": 0.0}}
    ) == pytest.approx(math.log2(0.8 / 1e-12))


@pytest.mark.parametrize(
    ("weight", "chance"),
    [
        (0.0, 0.5),
        (1.0, 2 / 3),
        (-1.0, 1 / 3),
        (3.0, 8 / 9),
        (-3.0, 1 / 9),
        (999.0, 1.0),
        (1000.0, 1.0),
        (5000.0, 1.0),
        (math.inf, 1.0),
    ],
)
def test_probability_is_the_weight_as_log2_odds_saturating_at_one(
    weight: float, chance: float
) -> None:
    assert probability(weight) == pytest.approx(chance, rel=1e-12)
    assert probability(weight) <= 1.0


@pytest.mark.parametrize(
    ("chance", "vetoed", "decision"),
    [
        (0.95, False, Decision.LINK),
        (0.99, False, Decision.LINK),
        (0.9499, False, Decision.REVIEW),
        (0.6, False, Decision.REVIEW),
        (0.5999, False, Decision.NONE),
        (0.0, False, Decision.NONE),
        (1.0, True, Decision.NONE),
        (0.7, True, Decision.NONE),
    ],
)
def test_decision_thresholds_are_reached_when_met_and_a_veto_overrides(
    chance: float, vetoed: bool, decision: Decision
) -> None:
    model = names_model(link_threshold=0.95, review_threshold=0.6)
    assert decide(model, chance, vetoed) is decision


def test_a_scored_pair_lists_each_field_as_compared() -> None:
    model = names_model()
    pair = score(
        model,
        {"first_name": "Ann", "last_name": "Okafor"},
        {"first_name": "ANN", "last_name": "Okafur"},
    )
    first = math.log2(0.8 / 0.004)
    last = math.log2(0.07 / 0.04)
    assert pair.fields == (
        FieldScore("first_name", "Ann", "ANN", "exact", first, Bucket.SAME),
        FieldScore("last_name", "Okafor", "Okafur", "close", last, Bucket.LIKELY),
    )
    assert pair.weight == pytest.approx(model.prior_weight + first + last)
    assert pair.probability == pytest.approx(probability(model.prior_weight + first + last))
    assert (pair.decision, pair.non_match) == (Decision.REVIEW, None)


def test_a_missing_value_is_listed_and_weighs_nothing() -> None:
    model = names_model()
    pair = score(model, {"last_name": "Okafor"}, {"first_name": "Ann", "last_name": "Okafor"})
    assert pair.fields[0] == FieldScore("first_name", None, "Ann", "null", 0.0, Bucket.MISSING)
    assert pair.weight == pytest.approx(model.prior_weight + math.log2(0.9 / 0.01))


def test_a_vetoed_pair_is_never_linked_and_names_its_rule() -> None:
    model = names_model(prior=0.9)
    twins = score(
        model,
        {"first_name": "Chidi", "last_name": "Okafor"},
        {"first_name": "Ada", "last_name": "Okafor"},
    )
    assert twins.probability > model.link_threshold  # the weights alone would link them
    assert (twins.decision, twins.non_match) == (Decision.NONE, "twins")
    strangers = score(
        model,
        {"first_name": "Chidi", "last_name": "Okafor"},
        {"first_name": "Ada", "last_name": "Jones"},
    )
    assert strangers.non_match is None


def test_term_frequencies_weigh_the_left_value_and_default_to_the_models() -> None:
    ann = {"first_name": "Ann"}
    trained = names_model(term_frequencies={"first_name": {"ann": 0.2}})
    given = {"first_name": {"ann": 0.05}}
    ann_weight = score(trained, ann, ann).fields[0].weight
    assert ann_weight == pytest.approx(math.log2(0.8 / 0.2))  # the model's own
    assert score(trained, ann, ann, given).fields[0].weight == pytest.approx(
        math.log2(0.8 / 0.05)
    )  # given ones win
    assert score(trained, ann, ann, {}).fields[0].weight == pytest.approx(
        math.log2(0.8 / 0.004)
    )  # given as none: none
    assert score(names_model(), ann, ann).fields[0].weight == pytest.approx(
        math.log2(0.8 / 0.004)
    )  # a model trained without any
    assert score(names_model(), ann, ann, given).fields[0].weight == pytest.approx(
        math.log2(0.8 / 0.05)
    )


def test_the_weight_adds_the_prior_and_every_field() -> None:
    model = names_model()
    pair = score(
        model,
        {"first_name": "Zed", "last_name": "Okafor"},
        {"first_name": "Kim", "last_name": "Jones"},
    )
    assert pair.weight == pytest.approx(
        model.prior_weight + math.log2(0.2 / 0.996) + math.log2(0.03 / 0.95)
    )
    assert pair.weight == pytest.approx(model.prior_weight + sum(f.weight for f in pair.fields))


SCORED = PairScore(
    (
        FieldScore("first_name", "Ann", None, "null", 0.0, Bucket.MISSING),
        FieldScore("last_name", "Okafor", "Okafur", "close", 0.8073549220576041, Bucket.LIKELY),
    ),
    -5.5,
    0.021611482313284,
    Decision.NONE,
    "twins",
)


def test_a_scored_pair_is_kept_as_compact_json() -> None:
    """The evidence every probabilistic link stores: one fixed, space-free form."""
    assert encode_score(SCORED) == (
        '{"fields":[{"field":"first_name","left":"Ann","right":null,"level":"null",'
        '"weight":0.0,"bucket":"missing"},{"field":"last_name","left":"Okafor",'
        '"right":"Okafur","level":"close","weight":0.8073549220576041,"bucket":"likely"}],'
        '"weight":-5.5,"probability":0.021611482313284,"decision":"none","non_match":"twins"}'
    )


def test_a_kept_score_reads_back_as_it_was() -> None:
    assert decode_score(encode_score(SCORED)) == SCORED
    unvetoed = replace(SCORED, non_match=None, decision=Decision.REVIEW)
    assert decode_score(encode_score(unvetoed)) == unvetoed


def test_a_score_kept_before_vetoes_were_recorded_reads_as_unvetoed() -> None:
    raw = json.loads(encode_score(SCORED))
    del raw["non_match"]
    assert decode_score(json.dumps(raw)) == replace(SCORED, non_match=None)
