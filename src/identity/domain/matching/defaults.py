"""The built-in match model, used until `identity train` writes a fitted one.

The m and u values are sensible starting points (typical of person data), not fitted ones:
training replaces them. Everything here is configuration that a model file can override.
"""

from __future__ import annotations

from typing import Any

from identity.domain.matching.model import MatchModel

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
            dict(label="exact", kind="exact", m=0.80, u=0.005, tf_adjusted=True),
            dict(label="nickname", kind="nickname", m=0.05, u=0.001),
            dict(label="jaro-winkler >= 0.92", kind="jaro_winkler", m=0.07, u=0.002,
                 threshold=0.92),
            dict(label="jaro-winkler >= 0.80", kind="jaro_winkler", m=0.03, u=0.02, threshold=0.80),
            dict(label="sounds alike", kind="metaphone", m=0.01, u=0.005),
            dict(label="else", kind="else", m=0.04, u=0.966),
        ]},
        {"field": "last_name", "levels": [
            NULL,
            dict(label="exact", kind="exact", m=0.85, u=0.003, tf_adjusted=True),
            dict(label="jaro-winkler >= 0.92", kind="jaro_winkler", m=0.08, u=0.002,
                 threshold=0.92),
            dict(label="jaro-winkler >= 0.80", kind="jaro_winkler", m=0.03, u=0.02, threshold=0.80),
            dict(label="sounds alike", kind="metaphone", m=0.01, u=0.005),
            dict(label="else", kind="else", m=0.03, u=0.97),
        ]},
        {"field": "date_of_birth", "levels": [
            NULL,
            dict(label="exact", kind="exact", m=0.90, u=0.0001),
            dict(label="one edit", kind="damerau_levenshtein", m=0.05, u=0.001, threshold=1),
            dict(label="day and month swapped", kind="date_transposed", m=0.01, u=0.00002),
            dict(label="same year", kind="same_year", m=0.02, u=0.02),
            dict(label="else", kind="else", m=0.02, u=0.97888),
        ]},
        {"field": "address_line1", "levels": [
            NULL,
            dict(label="exact", kind="exact", m=0.70, u=0.0001),
            # Token sets, once the house numbers agree: a street shared by neighbours says
            # little about one person.
            dict(label="tokens >= 0.9", kind="address_tokens", m=0.15, u=0.001, threshold=0.9),
            dict(label="tokens >= 0.7", kind="address_tokens", m=0.08, u=0.01, threshold=0.7),
            dict(label="else", kind="else", m=0.07, u=0.9889),
        ]},
        {"field": "city", "levels": [
            NULL,
            # A big city is shared by many strangers: training's term frequencies say how many.
            dict(label="exact", kind="exact", m=0.85, u=0.05, tf_adjusted=True),
            dict(label="jaro-winkler >= 0.9", kind="jaro_winkler", m=0.08, u=0.01, threshold=0.9),
            dict(label="else", kind="else", m=0.07, u=0.94),
        ]},
        {"field": "postcode", "levels": [
            NULL,
            dict(label="exact", kind="exact", m=0.85, u=0.0005),
            dict(label="same area", kind="prefix", m=0.08, u=0.03, length=3),
            dict(label="else", kind="else", m=0.07, u=0.9695),
        ]},
        {"field": "phone", "levels": [
            NULL,
            dict(label="exact", kind="exact", m=0.80, u=0.00001),
            dict(label="last 7 digits", kind="digits_suffix", m=0.05, u=0.0001, length=7),
            dict(label="else", kind="else", m=0.15, u=0.99989),
        ]},
        {"field": "email", "levels": [
            NULL,
            dict(label="exact", kind="exact", m=0.75, u=0.00001),
            # Addresses are often made of the name: namesakes' differ by a digit or a dot, so
            # a near miss says little beyond the names, which are compared already.
            dict(label="same local part", kind="email_local", m=0.08, u=0.02),
            dict(label="two edits", kind="levenshtein", m=0.05, u=0.05, threshold=2),
            dict(label="else", kind="else", m=0.12, u=0.92999),
        ]},
        {"field": "customer_id", "levels": [
            NULL,
            dict(label="exact", kind="exact", m=0.9, u=0.00001),
            dict(label="else", kind="else", m=0.1, u=0.99999),
        ]},
    ],
}

DEFAULT_MODEL: MatchModel = MatchModel.from_dict(DEFAULT_MODEL_DOCUMENT)
