"""Comparison levels at their edges: missing values, key functions on odd input, the score
thresholds reached exactly, and house numbers that tell neighbours apart."""

from __future__ import annotations

import pytest

from identity.domain.matching.levels import Level, address_tokens
from identity.domain.matching.nicknames import canonical_name


@pytest.mark.parametrize(
    ("level", "a", "b", "expected"),
    [
        # A blank or absent value on either side is missing: only the null level holds.
        pytest.param(Level("n", "null"), "x", None, True, id="null-when-right-absent"),
        pytest.param(Level("n", "null"), "x", "  ", True, id="null-when-right-blank"),
        pytest.param(Level("n", "null"), None, None, True, id="null-when-both-absent"),
        pytest.param(Level("e", "exact"), "xxxx", None, False, id="exact-never-on-missing"),
        pytest.param(Level("e", "exact"), None, "xxxx", False, id="exact-never-on-missing-left"),
        pytest.param(Level("e", "exact"), "", "", False, id="two-blanks-are-not-equal"),
        pytest.param(Level("x", "else"), None, "b", True, id="else-holds-even-when-missing"),
        pytest.param(Level("x", "else"), "a", "a", True, id="else-holds-on-equal-values"),
        # Keys: a value that gives no key matches nothing, not even itself.
        pytest.param(Level("m", "metaphone"), "Catherine", "Smith", False, id="metaphone-other"),
        pytest.param(Level("m", "metaphone"), "!!", "??", False, id="metaphone-no-sound"),
        pytest.param(Level("m", "nysiis"), "Knight", "Smith", False, id="nysiis-other"),
        pytest.param(Level("m", "nysiis"), "Knight", "Night", True, id="nysiis-same-sound"),
        pytest.param(Level("k", "nickname"), "Zed", " zed", True, id="nickname-unknown-name"),
        pytest.param(Level("k", "nickname"), "Zed", "Zoe", False, id="nickname-unknown-other"),
        pytest.param(
            Level("y", "same_year"), "1980", "1980-05-05", True, id="same-year-from-a-bare-year"
        ),
        pytest.param(Level("y", "same_year"), "198", "198", False, id="no-year-in-three-digits"),
        pytest.param(
            Level("y", "same_year"), "1980-03-07", "1981-03-07", False, id="same-year-other-year"
        ),
        pytest.param(
            Level("t", "date_transposed"),
            "1980-03-07",
            "1980-03-07",
            False,
            id="transposed-not-on-equal-dates",
        ),
        pytest.param(
            Level("t", "date_transposed"),
            "1980-03-07x",
            "1980-07-03",
            False,
            id="transposed-needs-a-date-on-the-left",
        ),
        pytest.param(
            Level("t", "date_transposed"),
            "1980-03-07",
            "1980-07-03x",
            False,
            id="transposed-needs-a-date-on-the-right",
        ),
        pytest.param(
            Level("t", "date_transposed"),
            "1980-12-25",
            "1980-25-12",
            True,
            id="transposed-compares-whole-day-and-month",
        ),
        pytest.param(
            Level("t", "date_transposed"),
            "1980-12-25",
            "1980-15-22",
            False,
            id="transposed-not-on-other-digits",
        ),
        pytest.param(
            Level("p", "prefix", length=3), "SW1A 1AA", "SW2 1AA", False, id="postcode-other-area"
        ),
        pytest.param(
            Level("s", "digits_suffix", length=7),
            "555 2671",
            "+1 415 555 2671",
            True,
            id="phone-suffix-exactly-seven-digits",
        ),
        pytest.param(
            Level("s", "digits_suffix", length=7),
            "+1 415 555 2671",
            "+1 415 999 2671",
            False,
            id="phone-suffix-differs-in-the-seventh",
        ),
        pytest.param(
            Level("s", "digits_suffix", length=7),
            "555-267",
            "555-267",
            False,
            id="phone-suffix-six-digits-is-too-short",
        ),
        pytest.param(
            Level("e", "email_local"),
            "ann@gmail.com",
            "bob@gmail.com",
            False,
            id="email-local-part-differs",
        ),
        pytest.param(
            Level("e", "email_local"),
            "ann@gmail.com",
            "ann",
            True,
            id="email-local-part-of-a-bare-name",
        ),
        # Scores: a similarity floor and a distance ceiling are both reached when met exactly.
        pytest.param(
            Level("j", "jaro_winkler", threshold=1.0),
            "Ann",
            "ann",
            True,
            id="jaro-winkler-at-its-floor",
        ),
        pytest.param(
            Level("l", "levenshtein", threshold=2),
            "Okafor",
            "Okafur",
            True,
            id="levenshtein-within",
        ),
        pytest.param(
            Level("l", "levenshtein", threshold=1),
            "Okafor",
            "Okafur",
            True,
            id="levenshtein-at-its-ceiling",
        ),
        pytest.param(
            Level("l", "levenshtein", threshold=0),
            "Okafor",
            "Okafur",
            False,
            id="levenshtein-zero-is-exact",
        ),
        pytest.param(
            Level("d", "damerau_levenshtein", threshold=1),
            "Jhon",
            "Jean",
            False,
            id="damerau-two-edits",
        ),
        pytest.param(
            Level("a", "token_set", threshold=1.0),
            "Main St 12",
            "12 main st",
            True,
            id="token-set-at-its-floor",
        ),
        pytest.param(
            Level("a", "token_set", threshold=0.8),
            "12 Main St",
            "Oak Road 9",
            False,
            id="token-set-is-a-share-of-100",
        ),
        pytest.param(
            Level("a", "address_tokens", threshold=0.9),
            "83 rue Pasteur",
            "196 rue Pasteur",
            False,
            id="address-neighbours",
        ),
        pytest.param(
            Level("a", "address_tokens", threshold=0.9),
            "12 Main St",
            "Flat 3, 12 Main St",
            True,
            id="address-a-number-in-common",
        ),
    ],
)
def test_level_edges(level: Level, a: str | None, b: str | None, expected: bool) -> None:
    assert level.matches(a, b) is expected


def test_a_level_missing_its_parameter_says_which() -> None:
    with pytest.raises(ValueError, match=r"^level 'near' \(levenshtein\) needs a threshold$"):
        Level("near", "levenshtein").matches("Okafor", "Okafur")
    with pytest.raises(ValueError, match=r"^level 'area' \(prefix\) needs a length$"):
        Level("area", "prefix").matches("SW1A 1AA", "SW1A 2BB")
    with pytest.raises(ValueError, match=r"^level 'tail' \(digits_suffix\) needs a length$"):
        Level("tail", "digits_suffix").matches("4155552671", "4155552671")


def test_a_level_with_its_parameter_does_not_complain() -> None:
    assert Level("close", "jaro_winkler", threshold=0.5).matches("Ann", "Anne") is True
    assert Level("area", "prefix", length=2).matches("SW1A", "SW9") is True


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        pytest.param("83 rue pasteur", "196 rue pasteur", 0.0, id="no-number-in-common"),
        pytest.param("12 main st", "12 main st", 100.0, id="same-line"),
        pytest.param("main st", "12 main st", 100.0, id="one-side-without-number"),
        pytest.param("12 main st", "main st", 100.0, id="other-side-without-number"),
        pytest.param("flat 3, 12 main st", "12 main st", 100.0, id="one-number-shared"),
        pytest.param(
            "main st",
            "oak road",
            pytest.approx(26.6667, abs=1e-4),  # rapidfuzz's token-set ratio, worked out once
            id="no-numbers-at-all",
        ),
    ],
)
def test_address_tokens_score(a: str, b: str, expected: float) -> None:
    """Token-set similarity, zeroed only when both lines give house numbers and none agree."""
    assert address_tokens(a, b) == expected


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("Bob", "robert"),
        (" BOBBY ", "robert"),
        ("robert", "robert"),
        ("Alex", "alexander"),  # in two groups: the first one wins
        ("Zelda", "zelda"),  # not a known name: itself, folded
        ("  Ünal ", "ünal"),
    ],
)
def test_canonical_name(name: str, canonical: str) -> None:
    assert canonical_name(name) == canonical
