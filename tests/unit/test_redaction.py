"""Masked forms of personal data (domain/redaction.py): stable, and revealing little."""

from __future__ import annotations

import json
import time

import pytest

from identity.domain.redaction import (
    DATE_MASK,
    HIDDEN,
    is_pii_field,
    mask_audit_json,
    mask_email,
    mask_field,
    mask_identifier,
    mask_names,
    mask_phone,
    mask_reason,
    mask_text,
)
from identity.domain.types import Identifier


def test_an_email_keeps_two_initials_and_its_top_level_domain() -> None:
    assert mask_email("jane.doe@northwind.org") == "j•••@n•••.org"
    assert mask_email("a.quistorp@larkspur-legal.co.uk") == "a•••@l•••.uk"
    assert mask_email("not-an-email") == "n•••"


def test_a_phone_keeps_its_last_two_digits_in_one_shape_for_every_country() -> None:
    assert mask_phone("+447911123456") == "+•• ••• •••• •56"
    assert mask_phone("+14155550133") == "+•• ••• •••• •33"
    assert mask_phone("+14155550133;ext=12") == "+•• ••• •••• •33"
    assert mask_phone("12") == "+•• ••• •••• •"  # too short to show any of it


@pytest.mark.parametrize(("field", "value", "masked"), [
    ("first_name", "Annelise", "A•••"), ("last_name", "Okonkwo-Vance", "O•••"),
    ("city", "Edinburgh", "E•••"), ("date_of_birth", "1984-03-12", DATE_MASK),
    ("address_line1", "12 Larkspur Lane", HIDDEN), ("postcode", "EH1 2AB", HIDDEN),
    ("region", "Midlothian", HIDDEN), ("email", "x@northwind.org", "x•••@n•••.org"),
    ("mobile_phone", "07911 123456", "+•• ••• •••• •56"), ("full_name", "Ann Lee", "A•••"),
    ("dob", "1984-03-12", DATE_MASK), ("address_unit", "Flat 3", HIDDEN),
    ("gender", "female", "female"), ("country", "GB", "GB"), ("plan", "gold", "gold"),
    ("loyalty_tier", "platinum", "platinum"),
    # Custom traits whose name says nothing: masked by what they hold, hidden otherwise.
    ("contact", "anna.private@gmail.com", "a•••@g•••.com"),
    ("favourite", "anna.berg@northwind.org", "a•••@n•••.org"),
    ("emergency", "+1 415 555 0100", "+•• ••• •••• •00"),
    ("secret_note", "SSN 19840312-1234", HIDDEN), ("shoe_size", "42", HIDDEN),
    # A harmless name does not make its value harmless.
    ("plan", "call +1 415 555 0100", HIDDEN), ("segment", "vip@northwind.org", "v•••@n•••.org"),
])
def test_each_field_masks_by_what_it_holds(field: str, value: str, masked: str) -> None:
    assert mask_field(field, value) == masked
    assert is_pii_field(field, value) is (masked != value)
    assert mask_field(field, value) == mask_field(field, value)  # stable


def test_only_the_harmless_fields_are_shown_whatever_their_value() -> None:
    assert not is_pii_field("country") and not is_pii_field("loyalty_tier")
    assert is_pii_field("contact") and is_pii_field("secret_note")


@pytest.mark.parametrize(("text", "masked"), [
    ("caller dora.explorer@maps.org +1 415 555 0100 said c-600 is her brother",
     "caller d•••@m•••.org +•• ••• •••• •00 said c-600 is her brother"),
    ("SSN 19840312-1234, call (415) 555-0100", "SSN +•• ••• •••• •34, call +•• ••• •••• •00"),
    # Ids, short numbers and times stay as written.
    ("merged prf_c85bccd176834006849d159609c9686a at 2025-03-01T10:00:00Z, order 12345",
     "merged prf_c85bccd176834006849d159609c9686a at 2025-03-01T10:00:00Z, order 12345"),
    ("customer_id c-1234567", "customer_id c-1234567"),
])
def test_free_text_has_its_emails_and_digit_runs_masked(text: str, masked: str) -> None:
    assert mask_text(text) == masked
    assert mask_text(masked) == masked  # masking twice changes nothing
    assert mask_reason(f"unlinked by sam ({text})") == f"unlinked by sam ({masked})"


def test_only_emails_and_phones_are_personal_data_among_identifier_kinds() -> None:
    for kind in ("customer_id", "device_id", "anonymous_id", "session_id", "order_id",
                 "external:crm"):
        assert mask_identifier(Identifier(kind, "c-1")) == Identifier(kind, "c-1")
    assert mask_identifier(Identifier("phone", "+447911123456")).value == "+•• ••• •••• •56"


def test_names_reasons_and_audit_json_are_masked_where_they_quote_identifiers() -> None:
    assert mask_names("Anna  Baker") == "A••• B•••"
    assert mask_reason("email ann@northwind.org stopped bridging: hub: linked to 3 distinct "
                       "email identifiers (limit 2)") == (
        "email a•••@n•••.org stopped bridging: hub: linked to 3 distinct email identifiers "
        "(limit 2)")
    assert mask_reason("the link through phone +14155550133 stays inactive") == (
        "the link through phone +•• ••• •••• •33 stays inactive")
    assert mask_reason(None) is None
    text = json.dumps({"profile_of": {"email|ann@northwind.org": "prf_1",
                                      "customer_id|c-1": "prf_1"},
                       "moved": [["phone", "+14155550133"], ["device_id", "d-1"]],
                       "links": [["email|ann@northwind.org", "customer_id|c-1", "manual"]]})
    assert json.loads(mask_audit_json(text)) == {
        "profile_of": {"email|a•••@n•••.org": "prf_1", "customer_id|c-1": "prf_1"},
        "moved": [["phone", "+•• ••• •••• •33"], ["device_id", "d-1"]],
        "links": [["email|a•••@n•••.org", "customer_id|c-1", "manual"]]}


@pytest.mark.parametrize("text", ["a" * 50_000 + "@", "x@" + "b" * 50_000, "1-" * 25_000 + "x",
                                  "1" * 50_000 + "a"])
def test_a_long_run_without_spaces_masks_in_one_scan(text: str) -> None:
    """A steward's reason (2,000 characters) or a trait (256) is masked on every masked read
    of it: a search for an email from every character of a run would cost the square of its
    length (seconds for this one). The masked form keeps the text's length within reason."""
    started = time.perf_counter()
    masked = mask_reason(text)
    assert time.perf_counter() - started < 0.5
    assert masked is not None and len(masked) <= len(text)
    assert mask_text("see jane.doe@northwind.org@x or a@b.c, x@y.z") == (
        f"see j{HIDDEN}@n{HIDDEN}.org@x or a{HIDDEN}@b{HIDDEN}.c, x{HIDDEN}@y{HIDDEN}.z")
