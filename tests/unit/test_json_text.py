"""JSON from a caller, read strictly: what Python's json module reads beyond JSON, or gives up
on with an exception that is not a decoding error, is one decoding error with the reason."""

from __future__ import annotations

import json

import pytest

from identity.domain.json_text import MAX_INTEGER_DIGITS, UnusableJson, read_json

LONG_FLOAT = "1" + "0" * 40 + "e400"  # out of range, and longer than the 32 characters shown


def refusal(text: str | bytes) -> UnusableJson:
    with pytest.raises(UnusableJson) as caught:
        read_json(text)
    return caught.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            '{"a": [1, -2, 2.5, "x", null, true, false]}',
            {"a": [1, -2, 2.5, "x", None, True, False]},
            id="object",
        ),
        pytest.param(b'{"a": 1}', {"a": 1}, id="bytes"),
        pytest.param(
            "1" * MAX_INTEGER_DIGITS, int("1" * MAX_INTEGER_DIGITS), id="integer-of-the-most-digits"
        ),
        pytest.param(
            "-" + "9" * MAX_INTEGER_DIGITS,
            -int("9" * MAX_INTEGER_DIGITS),
            id="the-minus-sign-is-not-a-digit",
        ),
        pytest.param("1.7976931348623157e308", 1.7976931348623157e308, id="largest-float"),
        pytest.param("1e-400", 0.0, id="underflow-is-zero-not-an-error"),
    ],
)
def test_json_reads_as_python_values(text: str | bytes, expected: object) -> None:
    assert read_json(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("NaN", "NaN is not a JSON number", id="nan"),
        pytest.param('{"a": Infinity}', "Infinity is not a JSON number", id="infinity"),
        pytest.param("[-Infinity]", "-Infinity is not a JSON number", id="minus-infinity"),
        pytest.param("1e400", "1e400 is out of the range of a number", id="float-overflow"),
        pytest.param("[-1e400]", "-1e400 is out of the range of a number", id="negative-overflow"),
        pytest.param(
            LONG_FLOAT,
            f"{LONG_FLOAT[:32]} is out of the range of a number",
            id="long-number-shown-cut-at-32-characters",
        ),
        pytest.param(
            "1" * (MAX_INTEGER_DIGITS + 1),
            f"an integer of {MAX_INTEGER_DIGITS + 1} digits is too long "
            f"(at most {MAX_INTEGER_DIGITS})",
            id="integer-one-digit-too-long",
        ),
        pytest.param(
            "[-" + "1" * 5_000 + "]",
            f"an integer of 5000 digits is too long (at most {MAX_INTEGER_DIGITS})",
            id="integer-past-pythons-own-limit",
        ),
        pytest.param("[" * 100_000, "nested too deeply", id="nested-past-the-recursion-limit"),
    ],
)
def test_json_that_cannot_be_used_is_one_decoding_error_with_the_reason(
    text: str, reason: str
) -> None:
    refused = refusal(text)
    assert isinstance(refused, json.JSONDecodeError)
    assert refused.msg == reason
    assert str(refused) == f"{reason}: line 1 column 1 (char 0)"
    assert (refused.doc, refused.pos, refused.lineno, refused.colno) == (text, 0, 1, 1)


def test_bytes_that_cannot_be_used_are_refused_without_their_text() -> None:
    """The error holds the text it was given when that was text; bytes are not decoded back."""
    refused = refusal(b"[1e400]")
    assert refused.msg == "1e400 is out of the range of a number"
    assert (refused.doc, refused.pos, refused.lineno, refused.colno) == ("", 0, 1, 1)


def test_text_that_is_not_json_is_the_json_modules_own_error() -> None:
    with pytest.raises(json.JSONDecodeError) as caught:
        read_json('{"a": }')
    assert not isinstance(caught.value, UnusableJson)
    assert (caught.value.msg, caught.value.pos) == ("Expecting value", 6)
