"""Masked forms of personal data, for callers without `profile:read_pii`
(docs/architecture.md, "Security and privacy", "PII by scope"). Pure: no I/O.

Each form is stable (the same value always masks the same way, so a steward can see that two
masked emails differ or agree in their shape) and reveals little: an initial, a domain's
first letter and top level, a phone's last two digits. A date of birth is masked whole, and
so is a custom trait that is not known harmless (HARMLESS_FIELDS) and holds no email or phone.
Identifier kinds that name a person only through another system (customer ids, orders,
devices, cookies, sessions, external ids) are not personal data by themselves and stay as
they are: the graph is joined on them, and a caller needs them to ask again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from identity.domain.pii_hashing import EMAIL_LIKE
from identity.domain.types import Identifier, IdentifierKind

DOT = "\u2022"  # •
HIDDEN = DOT * 3
DATE_MASK = f"{DOT * 4}-{DOT * 2}-{DOT * 2}"
PHONE_MASK = f"+{DOT * 2} {DOT * 3} {DOT * 4} {DOT}"

# Identifier kinds whose value is personal data by itself.
PII_KINDS = frozenset({IdentifierKind.EMAIL.value, IdentifierKind.PHONE.value})
# A match-model field (or trait) named as another kind (`customer_id`) holds what the
# profile shows as an identifier anyway: treated as a harmless field.
_ID_FIELDS = frozenset(k.value for k in IdentifierKind) - PII_KINDS

# Fields shown as they are to every caller: coarse values many people share, what segments
# use. Any other field is personal data until shown otherwise: a producer may send anything
# under any name (`contact`, `favourite`, `secret_note`), so a custom trait off this list is
# masked, and even one on it when its value holds an email, a phone or a long run of digits
# (docs/architecture.md, "PII by scope").
HARMLESS_FIELDS = frozenset({"gender", "country", "language", "locale", "timezone",
                             "currency", "plan", "tier", "loyalty_tier", "segment"})
# The person's fields (domain/traits.py PERSON_TRAITS) that hold personal data, by how each
# masks. `gender` and `country` stay (HARMLESS_FIELDS).
_INITIAL_FIELDS = frozenset({"first_name", "last_name", "city"})
_HIDDEN_FIELDS = frozenset({"address_line1", "address_line2", "postcode", "region"})
_DATE_FIELDS = frozenset({"date_of_birth"})
# Custom traits (and match-model fields) whose name says they hold a name, an address, a date
# of birth, an email or a phone: `full_name`, `address_unit`, `mobile`, `email`, `dob`...
_EMAIL_WORDS = ("email", "e_mail")
_PHONE_WORDS = ("phone", "mobile", "msisdn", "fax")
_DATE_WORDS = ("birth", "dob", "born")
_NAME_WORDS = ("name",)
_ADDRESS_WORDS = ("address", "street", "postcode", "postal", "zip", "city", "house")


def mask_email(value: str) -> str:
    """`jane.doe@northwind.org` -> `j•••@n•••.org`; without an `@`, as a name."""
    local, at, domain = value.rpartition("@")
    if not at:
        return mask_initial(value)
    host, dot, top = domain.rpartition(".")
    shown_domain = f"{host[:1]}{HIDDEN}.{top}" if dot and host else f"{domain[:1]}{HIDDEN}"
    return f"{local[:1]}{HIDDEN}@{shown_domain}"


def mask_phone(value: str) -> str:
    """`+447700900467` -> `+•• ••• •••• •67`: one shape whatever the country, so the mask
    tells neither the country nor the number's length; an extension is dropped."""
    main = value.split(";", 1)[0].split("x", 1)[0]
    digits = [c for c in main if c.isdigit()]
    return PHONE_MASK + "".join(digits[-2:]) if len(digits) > 4 else PHONE_MASK


def mask_initial(value: str) -> str:
    """`Jane` -> `J•••`: the first letter only."""
    text = value.strip()
    return f"{text[:1]}{HIDDEN}" if text else HIDDEN


def mask_names(value: str) -> str:
    """`Anna Baker` -> `A••• B•••`: each word's initial (a search match's stored name)."""
    return " ".join(mask_initial(word) for word in value.split()) or HIDDEN


def mask_date(value: str) -> str:
    return DATE_MASK


def mask_hidden(value: str) -> str:
    return HIDDEN


def is_pii_kind(kind: str) -> bool:
    return kind in PII_KINDS


def mask_identifier(identifier: Identifier) -> Identifier:
    """The identifier with its value masked when its kind is personal data."""
    if identifier.kind == IdentifierKind.EMAIL:
        return Identifier(identifier.kind, mask_email(identifier.value))
    if identifier.kind == IdentifierKind.PHONE:
        return Identifier(identifier.kind, mask_phone(identifier.value))
    return identifier


def mask_key(key: str) -> str:
    """An identifier key (`kind|value`, domain/types.py) with its value masked."""
    if "|" not in key:
        return key
    return mask_identifier(Identifier.of_key(key)).key


# An identifier a reason quotes as `<kind> <value>` (domain/guards.py, service/batch.py): an
# email holds an @, a normalized phone starts with +.
_QUOTED = re.compile(r"\b(email) (\S*@\S*)|\b(phone) (\+\d\S*)")
# A phone, a national id or an account number written in text: seven digits or more, maybe
# split by spaces, dots, dashes or brackets, not part of a word (an id like `prf_0123456789`
# or `c-1234567` stays; so does an ISO time, whose `T` ends its date as part of a word).
_DIGIT_RUN = re.compile(r"(?<![\w+-])\+?\(?\d(?:[ .()-]{0,2}\d){6,}(?![\w@])")


def mask_reason(text: str | None) -> str | None:
    """A link's or a hub's reason with the emails and phones it quotes masked, and any other
    the text holds (a steward's reason lands in an unlinked link's: mask_text)."""
    if text is None:
        return None

    def masked(found: re.Match[str]) -> str:
        if found.group(1):
            return f"email {mask_email(found.group(2))}"
        return f"phone {mask_phone(found.group(4))}"

    return mask_text(_QUOTED.sub(masked, text))


def mask_text(text: str) -> str:
    """Free text (a steward's reason) with every email and every phone-like run of digits
    (a phone, a national id) in it masked; the rest as written. Masked forms are left as
    they are, so masking twice changes nothing."""
    text = EMAIL_LIKE.sub(lambda found: mask_email(found.group(0)), text)
    return _DIGIT_RUN.sub(lambda found: mask_phone(found.group(0)), text)


def holds_personal(value: str) -> bool:
    """Whether a value holds an email, a phone or a long run of digits, whatever its name."""
    return EMAIL_LIKE.search(value) is not None or _DIGIT_RUN.search(value) is not None


def mask_by_value(value: str) -> str:
    """A field whose name says nothing of what it holds: an email or a phone keeps its
    masked shape, anything else is hidden whole."""
    text = value.strip()
    if EMAIL_LIKE.fullmatch(text):
        return mask_email(text)
    if _DIGIT_RUN.fullmatch(text):
        return mask_phone(text)
    return HIDDEN


def _field_mask(name: str, value: str | None = None) -> Callable[[str], str] | None:
    """How a field masks: by its name when that says what it holds; a harmless field not at
    all unless `value` holds contact data; any other field (a custom trait) by its value."""
    folded = name.casefold()
    if folded in HARMLESS_FIELDS or folded in _ID_FIELDS:
        return mask_by_value if value is not None and holds_personal(value) else None
    if folded in _INITIAL_FIELDS:
        return mask_initial
    if folded in _HIDDEN_FIELDS:
        return mask_hidden
    if folded in _DATE_FIELDS:
        return mask_date
    if any(w in folded for w in _EMAIL_WORDS):
        return mask_email
    if any(w in folded for w in _PHONE_WORDS):
        return mask_phone
    if any(w in folded for w in _DATE_WORDS):
        return mask_date
    if any(w in folded for w in _NAME_WORDS):
        return mask_initial
    if any(w in folded for w in _ADDRESS_WORDS):
        return mask_hidden
    return mask_by_value


def is_pii_field(name: str, value: str | None = None) -> bool:
    """Whether a golden-record, trait or match-model field holds personal data: every field
    but the harmless ones, and those too when `value` (if given) holds contact data."""
    return _field_mask(name, value) is not None


def mask_field(name: str, value: str) -> str:
    """A field's value as a caller without `profile:read_pii` sees it; harmless fields
    (gender, country, a loyalty tier: HARMLESS_FIELDS) unchanged unless the value holds an
    email, a phone or a long run of digits."""
    mask = _field_mask(name, value)
    return value if mask is None else mask(value)


def mask_audit_json(text: str) -> str:
    """An audit entry's before/after JSON with every identifier in it masked: keys and
    values written as `kind|value`, and `[kind, value]` pairs (service/action_records.py,
    service/history.py write both)."""
    return json.dumps(_mask_json(json.loads(text)), sort_keys=True)


def _mask_json(value: Any) -> Any:
    if isinstance(value, str):
        return mask_key(value)
    if isinstance(value, dict):
        return {mask_key(k): _mask_json(v) for k, v in value.items()}
    if isinstance(value, list):
        if (len(value) == 2 and all(isinstance(v, str) for v in value)
                and is_pii_kind(value[0])):
            return [value[0], mask_identifier(Identifier(value[0], value[1])).value]
        return [_mask_json(v) for v in value]
    return value
