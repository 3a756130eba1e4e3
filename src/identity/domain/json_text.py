"""JSON from a caller, read strictly, for every entry point that takes JSON text.

Python's json module reads more than JSON (NaN, Infinity; 1e400 becomes infinity) and gives
up on some of it with an exception that is not a decoding error (a body nested ten thousand
levels deep exhausts the recursion limit; a 5,000-digit integer exceeds the conversion
limit). Each of those is the caller's input to fix: one decoding error, with the reason.
"""

from __future__ import annotations

import json
import math

__all__ = ["MAX_INTEGER_DIGITS", "UnusableJson", "read_json"]

MAX_INTEGER_DIGITS = 100  # no field takes more; Python's own limit is 4,300


class UnusableJson(json.JSONDecodeError):
    """Text that parses, but not into a value this service can use (see the module)."""


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:32]} is out of the range of a number")
    return value


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"an integer of {len(text.lstrip('-'))} digits is too long "
                         f"(at most {MAX_INTEGER_DIGITS})")
    return int(text)


def read_json(text: str | bytes) -> object:
    """Raises json.JSONDecodeError saying why the text is not JSON, or UnusableJson (one)
    saying why it cannot be used."""
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite,
                          parse_int=_integer)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        reason = "nested too deeply"
    except ValueError as exc:
        reason = str(exc)
    raise UnusableJson(reason, text if isinstance(text, str) else "", 0) from None
