"""Person traits of an event, validated name by name. Pure: no I/O.

Flat names (`address_line1`, `postcode`, `country`) and the nested `address` object of
Segment's spec (`street`, `city`, `postal_code`...) are read into one flat set, so the golden
record and the match model see one spelling whichever a producer used.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import date

import pycountry

from identity.domain.errors import FieldError
from identity.domain.identifiers import MAX_VALUE_LENGTH, printable, trait_text

MAX_TRAITS_PER_EVENT = 100
MAX_TRAIT_NAME = 64  # characters
MAX_ADDRESS_FIELDS = 20  # an address object with more is refused whole
_TRAIT_NAME = re.compile(rf"^[a-z][a-z0-9_]{{0,{MAX_TRAIT_NAME - 1}}}$")
# Line breaks, tabs and Unicode spaces (an address pasted from a form) fold into one space;
# any other control character is refused (trait_text).
_WHITESPACE = re.compile("[ \t\r\n\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")

# Traits checked as dates; any other snake_case name is kept as text.
DATE_TRAITS = frozenset({"date_of_birth"})
# The person's own fields: always in the golden record. Any other name a producer sends is a
# custom trait, and a profile shows at most MAX_CUSTOM_TRAITS of them (survivorship.py).
PERSON_TRAITS = frozenset({"first_name", "last_name", "date_of_birth", "gender",
                           "address_line1", "address_line2", "city", "postcode", "region",
                           "country"})
MAX_CUSTOM_TRAITS = 50

ADDRESS = "address"
# The nested address's fields (Segment's spec and common variants) -> the flat trait names.
ADDRESS_FIELDS: Mapping[str, str] = {
    "street": "address_line1", "street1": "address_line1", "line1": "address_line1",
    "address_line1": "address_line1", "street2": "address_line2", "line2": "address_line2",
    "address_line2": "address_line2", "city": "city", "postal_code": "postcode",
    "postalcode": "postcode", "postcode": "postcode", "zip": "postcode", "zip_code": "postcode",
    "state": "region", "region": "region", "country": "country",
}

# What people write for the United Kingdom besides its ISO code and names.
_COUNTRY_ALIASES = {"uk": "GB", "great britain": "GB", "england": "GB", "scotland": "GB",
                    "wales": "GB", "northern ireland": "GB", "deutschland": "DE"}


def region_of(country: str) -> str | None:
    """The ISO 3166 alpha-2 code of a country written as a code (GB, GBR) or a name (United
    Kingdom, france); None when it names no country."""
    folded = country.strip().casefold()
    if folded in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[folded]
    try:
        found = pycountry.countries.lookup(folded)
    except LookupError:
        return None
    return str(found.alpha_2)


def trait_value(name: str, value: object) -> str:
    """The value as stored: whitespace folded; a date of birth in YYYY-MM-DD form. Raises
    ValueError saying why it is not usable."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError("must be a string or a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    if isinstance(value, int) and value.bit_length() > 64:
        raise ValueError("is a number too large to be a trait")
    text = _WHITESPACE.sub(" ", value if isinstance(value, str) else str(value)).strip()
    if len(text) > MAX_VALUE_LENGTH:
        raise ValueError(f"is longer than {MAX_VALUE_LENGTH} characters")
    text = trait_text(text)
    if not text:
        raise ValueError("must not be empty")
    if len(text) > MAX_VALUE_LENGTH:
        raise ValueError(f"is longer than {MAX_VALUE_LENGTH} characters")
    return date_of_birth(text) if name in DATE_TRAITS else text


def date_of_birth(text: str) -> str:
    """The date in YYYY-MM-DD form. Raises ValueError saying why it is not a plausible date
    of birth (not a date, before 1900, in the future)."""
    try:
        born = date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date in YYYY-MM-DD form") from None
    if not date(1900, 1, 1) <= born <= date.today():
        raise ValueError(f"{text} is not a plausible date of birth")
    return born.isoformat()


def _flattened(traits: Mapping[object, object]) -> list[tuple[str, str, object]]:
    """(path, flat name, value) for every trait; the nested address's fields become the flat
    names, and a field the flat traits also give is taken from the flat one."""
    found: list[tuple[str, str, object]] = []
    for name, value in traits.items():
        if name == ADDRESS and isinstance(value, Mapping):
            for part, inner in value.items():
                path = f"traits.address.{path_part(part)}"
                folded = str(part).strip().lower()
                flat = ADDRESS_FIELDS.get(folded, f"address_{folded}")
                if inner is not None and traits.get(flat) is None:
                    found.append((path, flat, inner))
            continue
        found.append((f"traits.{path_part(name)}", str(name), value))
    return found


def path_part(name: object) -> str:
    """A caller's trait name as it appears in an error's field path."""
    return printable(str(name), MAX_TRAIT_NAME)


def parse_traits(raw: object, errors: list[FieldError]) -> tuple[tuple[str, str], ...]:
    """Sorted (name, value) pairs; every bad trait is added to `errors` with its path."""
    if raw is None:
        return ()
    if not isinstance(raw, Mapping):
        errors.append(FieldError("traits", "must be an object of trait name to value"))
        return ()
    if len(raw) > MAX_TRAITS_PER_EVENT:
        errors.append(FieldError("traits", f"has more than {MAX_TRAITS_PER_EVENT} traits"))
        return ()
    nested = raw.get(ADDRESS)
    if nested is not None and isinstance(nested, Mapping) and len(nested) > MAX_ADDRESS_FIELDS:
        errors.append(FieldError("traits.address", f"has more than {MAX_ADDRESS_FIELDS} fields"))
        return ()
    parsed: dict[str, str] = {}
    for path, name, value in _flattened(raw):
        if value is None:
            continue  # an absent trait says nothing; it never erases a known value
        if not _TRAIT_NAME.match(name):
            errors.append(FieldError(path, f"trait names are snake_case, at most {MAX_TRAIT_NAME} "
                                     "characters, starting with a letter"))
            continue
        try:
            parsed[name] = trait_value(name, value)
        except ValueError as exc:
            reason = str(exc)
            if name == ADDRESS:
                reason += ", or an object of street, city, postal_code and country"
            errors.append(FieldError(path, reason))
    return tuple(sorted(parsed.items()))
