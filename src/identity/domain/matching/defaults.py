"""The built-in match model, used until `identity train` writes a fitted one.

The m and u values are sensible starting points (typical of person data), not fitted ones:
training replaces them. Everything here is configuration that a model file can override.
"""

from __future__ import annotations

from typing import Any

from identity.domain.matching.model import MatchModel


def _level(label: str, kind: str, m: float, u: float, **extra: Any) -> dict[str, Any]:
    return {"label": label, "kind": kind, "m": m, "u": u, **extra}


NULL = {"label": "null", "kind": "null"}

DEFAULT_MODEL_DOCUMENT: dict[str, Any] = {
    # About one look-alike pair per record among 10,000: halved each time the graph doubles.
    "prior": 0.0001,
    "prior_records": 10_000,
    "link_threshold": 0.95,
    "review_threshold": 0.6,
    "never_link": [
        # Twins: one surname, one birthday, different first names.
        {"name": "twins", "when": [["first_name", ["else"]], ["last_name", ["exact"]],
                                   ["date_of_birth", ["exact"]]]},
        # Household members: one surname and one home, different first names. Without this,
        # a shared address, postcode and surname outweigh the first names that differ.
        {"name": "household members", "when": [
            ["first_name", ["else"]],
            ["last_name", ["exact", "jaro-winkler >= 0.92", "jaro-winkler >= 0.80",
                           "sounds alike"]]]},
        # Two customer accounts are two people until a steward says otherwise.
        {"name": "different customer ids", "when": [["customer_id", ["else"]]]},
    ],
    "prior_rules": [
        ["email"],
        ["phone"],
        ["first_name", "last_name", "date_of_birth", "postcode"],
    ],
    "blocking": [
        ["first_name", "last_name"],
        ["last_name", "date_of_birth"],
        ["metaphone:last_name", "postcode"],
        ["date_of_birth", "postcode"],
        ["digits7:phone"],
        ["email"],
    ],
    "comparisons": [
        {"field": "first_name", "levels": [
            NULL,
            _level("exact", "exact", 0.80, 0.005, tf_adjusted=True),
            _level("nickname", "nickname", 0.05, 0.001),
            _level("jaro-winkler >= 0.92", "jaro_winkler", 0.07, 0.002, threshold=0.92),
            _level("jaro-winkler >= 0.80", "jaro_winkler", 0.03, 0.02, threshold=0.80),
            _level("sounds alike", "metaphone", 0.01, 0.005),
            _level("else", "else", 0.04, 0.966),
        ]},
        {"field": "last_name", "levels": [
            NULL,
            _level("exact", "exact", 0.85, 0.003, tf_adjusted=True),
            _level("jaro-winkler >= 0.92", "jaro_winkler", 0.08, 0.002, threshold=0.92),
            _level("jaro-winkler >= 0.80", "jaro_winkler", 0.03, 0.02, threshold=0.80),
            _level("sounds alike", "metaphone", 0.01, 0.005),
            _level("else", "else", 0.03, 0.97),
        ]},
        {"field": "date_of_birth", "levels": [
            NULL,
            _level("exact", "exact", 0.90, 0.0001),
            _level("one edit", "damerau_levenshtein", 0.05, 0.001, threshold=1),
            _level("day and month swapped", "date_transposed", 0.01, 0.00002),
            _level("same year", "same_year", 0.02, 0.02),
            _level("else", "else", 0.02, 0.97888),
        ]},
        {"field": "address_line1", "levels": [
            NULL,
            _level("exact", "exact", 0.70, 0.0001),
            # Token sets, once the house numbers agree: a street shared by neighbours says
            # little about one person.
            _level("tokens >= 0.9", "address_tokens", 0.15, 0.001, threshold=0.9),
            _level("tokens >= 0.7", "address_tokens", 0.08, 0.01, threshold=0.7),
            _level("else", "else", 0.07, 0.9889),
        ]},
        {"field": "city", "levels": [
            NULL,
            # A big city is shared by many strangers: training's term frequencies say how many.
            _level("exact", "exact", 0.85, 0.05, tf_adjusted=True),
            _level("jaro-winkler >= 0.9", "jaro_winkler", 0.08, 0.01, threshold=0.9),
            _level("else", "else", 0.07, 0.94),
        ]},
        {"field": "postcode", "levels": [
            NULL,
            _level("exact", "exact", 0.85, 0.0005),
            _level("same area", "prefix", 0.08, 0.03, length=3),
            _level("else", "else", 0.07, 0.9695),
        ]},
        {"field": "phone", "levels": [
            NULL,
            _level("exact", "exact", 0.80, 0.00001),
            _level("last 7 digits", "digits_suffix", 0.05, 0.0001, length=7),
            _level("else", "else", 0.15, 0.99989),
        ]},
        {"field": "email", "levels": [
            NULL,
            _level("exact", "exact", 0.75, 0.00001),
            # Addresses are often made of the name: namesakes' differ by a digit or a dot, so
            # a near miss says little beyond the names, which are compared already.
            _level("same local part", "email_local", 0.08, 0.02),
            _level("two edits", "levenshtein", 0.05, 0.05, threshold=2),
            _level("else", "else", 0.12, 0.92999),
        ]},
        {"field": "customer_id", "levels": [
            NULL,
            _level("exact", "exact", 0.9, 0.00001),
            _level("else", "else", 0.1, 0.99999),
        ]},
    ],
}

DEFAULT_MODEL: MatchModel = MatchModel.from_dict(DEFAULT_MODEL_DOCUMENT)
