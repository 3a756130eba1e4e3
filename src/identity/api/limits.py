"""Request limits every entry point enforces alike, so one API never accepts what another
refuses."""

from __future__ import annotations

import re
from collections.abc import Sequence

from identity.domain.errors import FieldError, ValidationError
from identity.domain.identifiers import printable

MAX_EVENTS_PER_REQUEST = 1000

# Profile ids are the service's own (prf_ and hex); anything else cannot name a profile, and is
# refused before it is looked up, echoed or put in an error message whole.
_PROFILE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def check_profile_ids(ids: Sequence[tuple[str, str]]) -> None:
    """Raises ValidationError naming each (field path, id) whose id cannot be a profile id."""
    bad = [FieldError(path, f"'{printable(value, 32)}' is not a profile id (at most 64 "
                      "letters, digits, '_' or '-')")
           for path, value in ids if not _PROFILE_ID.match(value)]
    if bad:
        raise ValidationError(bad)


def indexed(field: str, values: Sequence[str]) -> list[tuple[str, str]]:
    """(field[i], value) for each value: the paths of a list's items."""
    return [(f"{field}[{i}]", value) for i, value in enumerate(values)]
