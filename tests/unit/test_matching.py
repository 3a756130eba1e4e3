"""Matching domain: each comparator's levels, tf adjustment, EM, the model as a document."""

from __future__ import annotations

import itertools
import json
import math

import pytest

from identity.domain.matching.blocking import blocking_keys
from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.fitting import estimate_m, estimate_u
from identity.domain.matching.levels import Level
from identity.domain.matching.model import Comparison, MatchModel
from identity.domain.matching.scoring import Bucket, Decision, score


@pytest.mark.parametrize(
    ("level", "a", "b", "expected"),
    [
        pytest.param(Level("n", "null"), None, "x", True, id="null-when-one-side-missing"),
        pytest.param(Level("n", "null"), "", "x", True, id="null-when-empty"),
        pytest.param(Level("n", "null"), "x", "x", False, id="null-not-when-both-present"),
        pytest.param(Level("e", "exact"), "Smith ", "smith", True, id="exact-folds-case-space"),
        pytest.param(Level("e", "exact"), "Smith", "Smyth", False, id="exact-differs"),
        pytest.param(Level("j", "jaro_winkler", threshold=0.9), "Martha", "Marhta", True,
                     id="jaro-winkler-transposition"),
        pytest.param(Level("j", "jaro_winkler", threshold=0.9), "Martha", "Mary", False,
                     id="jaro-winkler-below"),
        pytest.param(Level("l", "levenshtein", threshold=1), "Okafor", "Okafur", True,
                     id="levenshtein-one-edit"),
        pytest.param(Level("l", "levenshtein", threshold=1), "Okafor", "Okonkwo", False,
                     id="levenshtein-far"),
        pytest.param(Level("d", "damerau_levenshtein", threshold=1), "Jhon", "John", True,
                     id="damerau-swap-is-one-edit"),
        pytest.param(Level("m", "metaphone"), "Catherine", "Kathryn", True, id="metaphone"),
        pytest.param(Level("m", "nysiis"), "Knight", "Night", True, id="nysiis"),
        pytest.param(Level("k", "nickname"), "Bob", "Robert", True, id="nickname"),
        pytest.param(Level("k", "nickname"), "Bob", "William", False, id="nickname-other"),
        pytest.param(Level("t", "date_transposed"), "1980-03-07", "1980-07-03", True,
                     id="day-month-transposed"),
        pytest.param(Level("t", "date_transposed"), "1980-03-07", "1981-07-03", False,
                     id="transposed-needs-same-year"),
        pytest.param(Level("y", "same_year"), "1980-03-07", "1980-11-30", True, id="same-year"),
        pytest.param(Level("a", "token_set", threshold=0.8), "12 Main St", "12 main st apt 4",
                     True, id="address-tokens"),
        pytest.param(Level("p", "prefix", length=3), "SW1A 1AA", "SW1 2BB", True,
                     id="postcode-area"),
        pytest.param(Level("s", "digits_suffix", length=7), "+1 415 555 2671", "4155552671",
                     True, id="phone-suffix"),
        pytest.param(Level("s", "digits_suffix", length=7), "12", "12", False,
                     id="phone-suffix-too-short"),
        pytest.param(Level("e", "email_local"), "ann.lee@gmail.com", "ann.lee@yahoo.com", True,
                     id="email-local-part"),
        pytest.param(Level("x", "else"), "a", "b", True, id="else-always"),
    ],
)
def test_each_level_kind(level: Level, a: str | None, b: str | None, expected: bool) -> None:
    assert level.matches(a, b) is expected


def test_a_level_missing_its_parameter_says_which() -> None:
    with pytest.raises(ValueError, match="'close' \\(jaro_winkler\\) needs a threshold"):
        Level("close", "jaro_winkler").matches("a", "b")


def surname(m_exact: float = 0.9, u_exact: float = 0.01) -> Comparison:
    return Comparison("last_name", (
        Level("null", "null"),
        Level("exact", "exact", tf_adjusted=True, m=m_exact, u=u_exact),
        Level("close", "jaro_winkler", threshold=0.88, m=0.07, u=0.04),
        Level("else", "else", m=0.03, u=0.95),
    ))


def test_a_comparison_takes_the_first_level_that_matches() -> None:
    comparison = surname()
    assert comparison.level_of({"last_name": "Smith"}, {"last_name": "smith"}) == 1
    assert comparison.level_of({"last_name": "Smith"}, {"last_name": "Smyth"}) == 2
    assert comparison.level_of({"last_name": "Smith"}, {"last_name": "Jones"}) == 3
    assert comparison.level_of({"last_name": None}, {"last_name": "Jones"}) == 0


def test_a_ladder_must_start_with_null_and_end_with_else() -> None:
    with pytest.raises(ValueError, match=r"levels go null, \.\.\., else"):
        Comparison("x", (Level("e", "exact"), Level("x", "else")))
    with pytest.raises(ValueError, match="unknown level kind 'soundalike'"):
        Comparison("x", (Level("n", "null"), Level("s", "soundalike"), Level("x", "else")))


def test_weights_and_tf_adjustment() -> None:
    model = MatchModel((surname(),), prior=0.001)
    plain = score(model, {"last_name": "Okafor"}, {"last_name": "okafor"})
    (field,) = plain.fields
    assert field.weight == pytest.approx(math.log2(0.9 / 0.01))
    tf = {"last_name": {"smith": 0.05, "okafor": 0.0001}}
    common = score(model, {"last_name": "Smith"}, {"last_name": "Smith"}, tf)
    rare = score(model, {"last_name": "Okafor"}, {"last_name": "Okafor"}, tf)
    assert common.fields[0].weight == pytest.approx(math.log2(0.9 / 0.05))
    assert rare.fields[0].weight == pytest.approx(math.log2(0.9 / 0.0001))
    assert rare.weight > plain.weight > common.weight


def test_probability_decision_and_buckets() -> None:
    model = MatchModel((surname(),), prior=0.5, link_threshold=0.95, review_threshold=0.6)
    same = score(model, {"last_name": "Okafor"}, {"last_name": "Okafor"})
    assert same.probability == pytest.approx(0.9 / (0.9 + 0.01))
    assert (same.decision, same.fields[0].bucket) == (Decision.LINK, Bucket.SAME)
    close = score(model, {"last_name": "Okafor"}, {"last_name": "Okafur"})
    assert (close.decision, close.fields[0].bucket) == (Decision.REVIEW, Bucket.LIKELY)
    far = score(model, {"last_name": "Okafor"}, {"last_name": "Jones"})
    assert (far.decision, far.fields[0].bucket) == (Decision.NONE, Bucket.NO_CHANCE)
    missing = score(model, {"last_name": None}, {"last_name": "Jones"})
    assert missing.fields[0].bucket is Bucket.MISSING and missing.fields[0].weight == 0


def test_the_model_round_trips_through_json() -> None:
    model = MatchModel((surname(),), prior=0.002, link_threshold=0.9, review_threshold=0.5,
                       blocking=(("last_name",), ("postcode", "date_of_birth")))
    assert MatchModel.from_json(model.to_json()) == model
    with pytest.raises(ValueError, match="not a match model"):
        MatchModel.from_dict({"prior": 0.1})


def three_agreement_fields() -> MatchModel:
    return MatchModel(tuple(
        Comparison(name, (Level("null", "null"), Level("agree", "exact", u=0.1),
                          Level("else", "else", u=0.9)))
        for name in ("a", "b", "c")), prior=0.01)


def test_u_is_the_level_frequency_among_random_pairs() -> None:
    model = three_agreement_fields()
    vectors = [(1, 2, 2)] * 10 + [(2, 2, 2)] * 90
    trained = estimate_u(model, vectors)
    agree = trained.comparisons[0].levels[1].u
    assert agree == pytest.approx((10 + 1) / (100 + 2))  # add-one smoothing over two levels
    assert trained.comparisons[0].levels[0].u is None


def test_em_recovers_m_on_a_known_mixture() -> None:
    """Pairs drawn from 30% matches with m(agree)=0.9 and 70% non-matches with u(agree)=0.1:
    with u fixed, EM must find m close to 0.9 for every field."""
    model = three_agreement_fields()
    vectors: list[tuple[int, ...]] = []
    for pattern in itertools.product((1, 2), repeat=3):
        agree = sum(1 for level in pattern if level == 1)
        share = 0.3 * 0.9**agree * 0.1**(3 - agree) + 0.7 * 0.1**agree * 0.9**(3 - agree)
        vectors += [pattern] * round(share * 10_000)
    trained = estimate_m(model, vectors, iterations=60)
    for comparison in trained.comparisons:
        assert comparison.levels[1].m == pytest.approx(0.9, abs=0.02)
        assert comparison.levels[2].m == pytest.approx(0.1, abs=0.02)


def test_blocking_keys_per_rule_with_transforms() -> None:
    from identity.domain.matching.blocking import blocking_keys

    rules = (("first_name", "last_name"), ("metaphone:last_name", "prefix3:postcode"),
             ("year:date_of_birth",))
    record = {"first_name": " Ann ", "last_name": "Smith", "postcode": "SW1A 1AA",
              "date_of_birth": None}
    assert blocking_keys(rules, record) == ["0:ann\x1fsmith", "1:SM0\x1fsw1"]
    assert blocking_keys(rules, {"last_name": "Smyth", "postcode": "sw1 9zz"}) == [
        "1:SM0\x1fsw1"]
    with pytest.raises(ValueError, match="unknown transform 'soundex'"):
        blocking_keys((("soundex:last_name",),), record)


def test_the_default_model_links_variants_and_keeps_strangers_apart() -> None:
    from identity.domain.matching.defaults import DEFAULT_MODEL

    ann = {"first_name": "Ann", "last_name": "Okafor", "date_of_birth": "1985-04-12",
           "address_line1": "12 Main Street", "city": "Leeds", "postcode": "LS1 4AP"}
    typo = {**ann, "last_name": "Okafur", "date_of_birth": "1985-12-04",
            "address_line1": "12 Main St", "postcode": None}
    stranger = {"first_name": "Bob", "last_name": "Jones", "date_of_birth": "1971-01-30",
                "address_line1": "3 High Road", "city": "York", "postcode": "YO1 7HH"}
    assert score(DEFAULT_MODEL, ann, typo).decision is Decision.LINK
    assert score(DEFAULT_MODEL, ann, stranger).decision is Decision.NONE
    assert MatchModel.from_json(DEFAULT_MODEL.to_json()) == DEFAULT_MODEL


def test_twins_never_link_and_namesakes_do_not_link() -> None:
    from identity.domain.matching.defaults import DEFAULT_MODEL

    home = {"last_name": "Okafor", "date_of_birth": "1990-06-01",
            "address_line1": "12 Main Street", "city": "Leeds", "postcode": "LS1 4AP"}
    twins = score(DEFAULT_MODEL, {**home, "first_name": "Chidi"}, {**home, "first_name": "Ada"})
    assert twins.probability > 0.99  # Fellegi-Sunter alone would merge them
    assert (twins.decision, twins.non_match) == (Decision.NONE, "twins")
    namesakes = score(
        DEFAULT_MODEL,
        {"first_name": "John", "last_name": "Smith", "date_of_birth": "1961-02-03",
         "address_line1": "1 Elm Road", "city": "Bath", "postcode": "BA1 1AA"},
        {"first_name": "John", "last_name": "Smith", "date_of_birth": "1994-10-22",
         "address_line1": "77 Quay Street", "city": "Hull", "postcode": "HU1 2BB"})
    assert namesakes.decision is Decision.NONE and namesakes.non_match is None


def test_a_model_whose_prior_follows_no_records_is_refused() -> None:
    """prior_records 0 divided by zero at the first commit that read the graph's size."""
    document = json.loads(DEFAULT_MODEL.to_json()) | {"prior_records": 0}
    with pytest.raises(ValueError, match="prior_records counts records: at least 1, got 0"):
        MatchModel.from_dict(document)


def test_a_level_probability_that_is_not_one_is_refused() -> None:
    document = json.loads(DEFAULT_MODEL.to_json())
    document["comparisons"][0]["levels"][1]["m"] = math.nan
    with pytest.raises(ValueError, match="m is a probability, got nan"):
        MatchModel.from_dict(document)


def test_values_the_comparisons_call_equal_share_a_block() -> None:
    wide = "\uff2a\uff4f\uff48\uff4e \uff33\uff4d\uff49\uff54\uff48"  # John Smith, full-width
    rules = (("first_name", "last_name"),)
    assert blocking_keys(rules, {"first_name": wide.split()[0], "last_name": wide.split()[1]}) \
        == blocking_keys(rules, {"first_name": "John", "last_name": "Smith"})
