"""Normalization and validation per identifier kind, and the placeholder blocklist."""

from __future__ import annotations

import pytest

from identity.domain.errors import InvalidIdentifier
from identity.domain.identifiers import (
    MAX_VALUE_LENGTH,
    Blocklist,
    NormalizationRules,
    _normalize_text,
    is_placeholder,
    normalize_identifier,
    phone_number,
    printable,
    validate_kind,
)
from identity.domain.types import Identifier

US = NormalizationRules(default_region="US")
GB = NormalizationRules(default_region="GB")


def normalized(kind: str, raw: object, rules: NormalizationRules = US) -> str:
    return normalize_identifier(kind, raw, rules).value


# --- email -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("jane.doe@acme.io", "jane.doe@acme.io", id="already-canonical"),
        pytest.param("  jane.doe@acme.io\t", "jane.doe@acme.io", id="surrounding-whitespace"),
        pytest.param("Jane.Doe@ACME.IO", "jane.doe@acme.io", id="upper-case-local-and-domain"),
        pytest.param("jane.doe@hotmail.com", "jane.doe@hotmail.com", id="hotmail-keeps-dots"),
        pytest.param("jane+news@outlook.com", "jane@outlook.com", id="outlook-plus-tag"),
        pytest.param("j.ane+news@outlook.com", "j.ane@outlook.com", id="outlook-keeps-dots"),
        pytest.param("jane-news@yahoo.com", "jane@yahoo.com", id="yahoo-dash-tag"),
        pytest.param("jane+news@yahoo.com", "jane+news@yahoo.com", id="yahoo-keeps-plus"),
        pytest.param("jane+news@acme.io", "jane+news@acme.io", id="unknown-domain-keeps-tag"),
        pytest.param("jane.doe@acme.io", "jane.doe@acme.io", id="unknown-domain-keeps-dots"),
        pytest.param("jane+x@me.com", "jane@icloud.com", id="me-com-is-icloud"),
    ],
)
def test_email_normalizes_to_the_mailbox_it_delivers_to(raw: str, expected: str) -> None:
    assert normalized("email", raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("janedoe@gmail.com", id="canonical"),
        pytest.param("jane.doe@gmail.com", id="dot"),
        pytest.param("J.a.N.e.D.o.E@Gmail.com", id="many-dots-mixed-case"),
        pytest.param("jane.doe+newsletter@gmail.com", id="plus-tag"),
        pytest.param("jane.doe+a+b@gmail.com", id="several-plus-signs"),
        pytest.param("Jane.Doe@googlemail.com", id="googlemail"),
        pytest.param(" jane.doe+shop@GoogleMail.com ", id="googlemail-tag-and-spaces"),
    ],
)
def test_gmail_dots_and_tags_fold_to_one_mailbox(raw: str) -> None:
    assert normalized("email", raw) == "janedoe@gmail.com"


def test_a_gmail_address_that_is_only_a_tag_is_rejected() -> None:
    with pytest.raises(InvalidIdentifier, match="local part is empty"):
        normalized("email", "+promo@gmail.com")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param("jane.doe", "@-sign", id="no-at-sign"),
        pytest.param("jane@@acme.io", "invalid characters", id="two-at-signs"),
        pytest.param("jane@acme", "period", id="domain-without-dot"),
        pytest.param("jane@ac me.io", "invalid characters", id="space-in-domain"),
        pytest.param(".jane@acme.io", "period", id="leading-dot"),
        pytest.param("@acme.io", "before the @-sign", id="empty-local-part"),
    ],
)
def test_invalid_email_syntax_is_rejected_with_a_clear_reason(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match="not a valid email address") as caught:
        normalized("email", raw)
    assert reason in str(caught.value)


# --- phone -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("(415) 555-0100", id="parentheses"),
        pytest.param("415.555.0100", id="dots"),
        pytest.param("415-555-0100", id="dashes"),
        pytest.param("4155550100", id="digits-only"),
        pytest.param("1-415-555-0100", id="trunk-prefix"),
        pytest.param("+1 415 555 0100", id="international"),
        pytest.param("+1 (415) 555-0100", id="international-with-parentheses"),
        pytest.param("  415 555 0100 ", id="surrounding-whitespace"),
    ],
)
def test_us_phone_formats_normalize_to_one_e164_number(raw: str) -> None:
    assert normalized("phone", raw) == "+14155550100"


@pytest.mark.parametrize(
    ("raw", "rules", "expected"),
    [
        pytest.param("+44 20 7946 0958", US, "+442079460958", id="gb-international-any-region"),
        pytest.param("+44 (0)20 7946 0958", US, "+442079460958", id="gb-international-trunk"),
        pytest.param("020 7946 0958", GB, "+442079460958", id="gb-national-london"),
        pytest.param("07911 123456", GB, "+447911123456", id="gb-national-mobile"),
        pytest.param("+1 415 555 0100", GB, "+14155550100", id="us-international-in-gb"),
    ],
)
def test_phone_numbers_normalize_to_e164_with_their_region(
    raw: str, rules: NormalizationRules, expected: str
) -> None:
    assert normalized("phone", raw, rules) == expected


def test_the_default_region_decides_how_a_national_number_is_read() -> None:
    assert normalized("phone", "020 7946 0958", GB) == "+442079460958"
    with pytest.raises(InvalidIdentifier, match="without a country code read as US"):
        normalized("phone", "020 7946 0958", US)
    with pytest.raises(InvalidIdentifier, match="without a country code read as GB"):
        normalized("phone", "(415) 555-0100", GB)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param("123", "not a valid phone number", id="too-short"),
        pytest.param("415555010", "not a valid phone number", id="nine-digits"),
        pytest.param("(000) 000-0000", "not a valid phone number", id="all-zero"),
        pytest.param("+999 1234 5678", "not a", id="unknown-country-code"),
        pytest.param("415555010O", "not a valid phone number", id="letter-o-for-zero"),
        pytest.param("4155550100abc", "not a valid phone number", id="trailing-letters"),
        pytest.param("call me", "not a phone number", id="words"),
        pytest.param("abc", "not a phone number", id="letters-only"),
    ],
)
def test_invalid_phone_numbers_and_letters_are_rejected(raw: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        normalized("phone", raw)


# --- device ids ------------------------------------------------------------------------------

IDFA = "6d92078a-8246-4ba4-ae5b-76104861e7dc"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(IDFA, IDFA, id="canonical-uuid"),
        pytest.param(IDFA.upper(), IDFA, id="upper-case-uuid"),
        pytest.param("{" + IDFA.upper() + "}", IDFA, id="braced-upper-case-uuid"),
        pytest.param(IDFA.replace("-", ""), IDFA, id="uuid-without-hyphens"),
        pytest.param(IDFA.replace("-", "").upper(), IDFA, id="upper-case-uuid-without-hyphens"),
        pytest.param("ABCDEF0123456789", "abcdef0123456789", id="hex-id-lower-cased"),
        pytest.param("9774d56d682e549c", "9774d56d682e549c", id="android-id-unchanged"),
        pytest.param("Roku-Device_XYZ", "Roku-Device_XYZ", id="other-id-kept-as-is"),
        pytest.param("{abc}", "{abc}", id="braces-around-a-short-id-kept"),
    ],
)
def test_device_ids_normalize_to_one_canonical_spelling(raw: str, expected: str) -> None:
    assert normalized("device_id", raw) == expected


def test_upper_case_is_kept_for_ids_of_kinds_without_a_normalizer() -> None:
    assert normalized("customer_id", "C-1001") == "C-1001"
    assert normalized("external:loyalty", "LOY-ABC") == "LOY-ABC"


# --- kinds -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        pytest.param("external:loyalty", "external:loyalty", id="external-system"),
        pytest.param("external:crm.v2", "external:crm.v2", id="external-with-dot"),
        pytest.param("external:pos_eu-1", "external:pos_eu-1", id="external-with-underscore"),
        pytest.param("External:Loyalty", "external:loyalty", id="external-folded"),
        pytest.param("customer_id", "customer_id", id="built-in"),
        pytest.param(" EMAIL ", "email", id="built-in-folded"),
    ],
)
def test_known_and_external_kinds_are_accepted(kind: str, expected: str) -> None:
    assert validate_kind(kind) == expected


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        pytest.param("external:", "system name", id="external-without-system"),
        pytest.param("external:Bad Name", "system name", id="external-with-space"),
        pytest.param("external:-crm", "system name", id="external-starting-with-dash"),
        pytest.param("external:" + "a" * 64, "system name", id="external-name-too-long"),
        pytest.param("twitter", "unknown identifier kind", id="unknown-kind"),
        pytest.param("", "unknown identifier kind", id="empty-kind"),
    ],
)
def test_invalid_kinds_are_rejected_with_the_reason(kind: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        validate_kind(kind)
    with pytest.raises(InvalidIdentifier, match=reason):
        normalize_identifier(kind, "x-1", US)


def test_the_kind_is_folded_on_the_normalized_identifier() -> None:
    assert normalize_identifier(" Email ", "jane@acme.io", US) == Identifier(
        "email", "jane@acme.io"
    )


# --- values every kind rejects ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param("", "must not be empty", id="empty"),
        pytest.param("   \t ", "must not be empty", id="whitespace-only"),
        pytest.param(None, "must be a string, got NoneType", id="null"),
        pytest.param(1001, "must be a string, got int", id="integer"),
        pytest.param(["C-1"], "must be a string, got list", id="list"),
        pytest.param("x" * (MAX_VALUE_LENGTH + 1), "longer than 256", id="too-long"),
        pytest.param("C-\x001001", "control characters", id="nul-byte"),
        pytest.param("C-1\n001", "control characters", id="inner-newline"),
        pytest.param("C-1\t001", "control characters", id="inner-tab"),
        pytest.param("C-1\x7f001", "control characters", id="delete-char"),
    ],
)
@pytest.mark.parametrize("kind", ["customer_id", "email", "external:crm"])
def test_unusable_values_are_rejected_for_every_kind(kind: str, raw: object, reason: str) -> None:
    with pytest.raises(InvalidIdentifier, match=reason):
        normalize_identifier(kind, raw, US)


def test_a_value_of_exactly_the_maximum_length_is_accepted() -> None:
    assert normalized("customer_id", "x" * MAX_VALUE_LENGTH) == "x" * MAX_VALUE_LENGTH


# --- placeholder blocklist -------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("test@test.com", id="test-email"),
        pytest.param(" TEST@Test.com ", id="test-email-any-case"),
        pytest.param("noreply@acme.io", id="noreply-local-part"),
        pytest.param("jane@example.org", id="example-domain"),
        pytest.param("unknown", id="unknown"),
        pytest.param("NULL", id="null-upper-case"),
        pytest.param("anonymous", id="anonymous"),
        pytest.param("0000000000", id="ten-zeros"),
        pytest.param("000-000-0000", id="zeros-and-dashes"),
        pytest.param("00000000-0000-0000-0000-000000000000", id="all-zero-idfa"),
        pytest.param("-1", id="minus-one"),
        pytest.param(
            "(000) 000-0000",
            id="zero-phone-with-punctuation",
        ),
    ],
)
def test_placeholder_values_are_blocked(raw: str) -> None:
    assert Blocklist().blocks(raw)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("jane.doe@acme.io", id="normal-email"),
        pytest.param("testing@acme.io", id="email-starting-with-test"),
        pytest.param("jane@mytest.com", id="domain-containing-test"),
        pytest.param("C-1001", id="customer-id"),
        pytest.param("+14155550100", id="real-phone"),
        pytest.param("10001", id="numeric-id"),
        pytest.param("-10", id="negative-number-not-minus-one"),
        pytest.param(IDFA, id="real-idfa"),
        pytest.param("unknown-user-42", id="contains-unknown"),
    ],
)
def test_real_values_are_not_blocked(raw: str) -> None:
    assert not Blocklist().blocks(raw)


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        pytest.param("email", " TEST@test.com ", id="email-normalized-to-placeholder"),
        pytest.param("email", "test+x@test.com", id="email-tag-on-test-domain"),
        pytest.param("customer_id", "NULL", id="customer-null"),
        pytest.param("customer_id", "-1", id="customer-minus-one"),
        pytest.param("anonymous_id", "unknown", id="anonymous-unknown"),
        pytest.param("device_id", "00000000-0000-0000-0000-000000000000", id="zero-idfa"),
        pytest.param("device_id", "{00000000000000000000000000000000}", id="zero-idfa-braced"),
        pytest.param(
            "external:crm",
            "(000) 000-0000",
            id="external-zero-phone",
        ),
    ],
)
def test_is_placeholder_checks_the_raw_and_the_normalized_value(kind: str, raw: str) -> None:
    identifier = normalize_identifier(kind, raw, US)
    assert is_placeholder(raw, identifier, Blocklist())


def test_a_placeholder_is_caught_once_normalized_even_if_the_raw_value_is_not() -> None:
    raw = "{00000000000000000000000000000000}"
    identifier = normalize_identifier("device_id", raw, US)
    assert not Blocklist().blocks(raw)
    assert is_placeholder(raw, identifier, Blocklist())


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        pytest.param("email", "Jane.Doe@Acme.io", id="email"),
        pytest.param("customer_id", "C-1001", id="customer-id"),
        pytest.param("phone", "(415) 555-0100", id="phone"),
        pytest.param("device_id", IDFA.upper(), id="device"),
    ],
)
def test_real_identifiers_are_not_placeholders(kind: str, raw: str) -> None:
    identifier = normalize_identifier(kind, raw, US)
    assert not is_placeholder(raw, identifier, Blocklist())


def test_a_custom_blocklist_replaces_the_defaults() -> None:
    custom = Blocklist(values=frozenset({"walk-in"}), patterns=(r"^kiosk-",))
    assert custom.blocks("Walk-In")
    assert custom.blocks("KIOSK-7")
    assert not custom.blocks("unknown")


def test_a_phone_extension_is_kept_so_two_lines_behind_one_number_stay_two() -> None:
    rules = NormalizationRules()
    alice = normalize_identifier("phone", "+1 415 910 4879 ext. 12", rules)
    bob = normalize_identifier("phone", "+1 (415) 910-4879 x99", rules)
    switchboard = normalize_identifier("phone", "+1 415 910 4879", rules)
    assert [alice.value, bob.value, switchboard.value] == [
        "+14159104879;ext=12", "+14159104879;ext=99", "+14159104879"]


def test_the_cache_keeps_trimmed_values_so_padding_costs_nothing() -> None:
    """1 MB of spaces around a cookie, 300 times, kept 300 MB in the cache."""
    rules = NormalizationRules()
    value = f"cookie-{'7' * 20}"
    _normalize_text.cache_clear()
    for padding in (1, 1_000, 100_000):
        found = normalize_identifier(" " * padding + "anonymous_id", " " * padding + value
                                     + "\t", rules)
        assert found.value == value
    assert _normalize_text.cache_info().currsize == 1  # one key: the trimmed kind and value


@pytest.mark.parametrize("blank", ["\u3164", "\uffa0", "\u115f", "\u034f", "\u2800"])
def test_characters_that_draw_nothing_are_refused(blank: str) -> None:
    with pytest.raises(InvalidIdentifier, match="draw nothing"):
        normalize_identifier("customer_id", f"ADM{blank}1", NormalizationRules())


def test_variation_selectors_leave_an_identifier_and_nfkc_spaces_are_trimmed() -> None:
    rules = NormalizationRules()
    assert normalize_identifier("customer_id", "ADM1\ufe0f", rules).value == "ADM1"
    assert normalize_identifier("customer_id", "ADM1\U000e0100", rules).value == "ADM1"
    assert normalize_identifier("customer_id", "\u00b4ADM", rules).value == "\u0301ADM"


def test_a_placeholder_is_caught_as_written_and_as_normalized() -> None:
    """As written: a value a rules file lists the way producers send it; as normalized: a
    Gmail tag hiding `test@`."""
    written = Blocklist(values=frozenset({"(415) 555-0100"}))
    phone = normalize_identifier("phone", "(415) 555-0100", US)
    assert is_placeholder("(415) 555-0100", phone, written)
    tagged = normalize_identifier("email", "test+1@gmail.com", US)
    assert is_placeholder("test+1@gmail.com", tagged, Blocklist())


@pytest.mark.parametrize("value", [
    "test@test.com", "test@example.com", "example@example.com", "email@example.com",
    "user@example.com", "noemail@noemail.com", "no@email.com", "none@none.com",
    "null@null.com", "unknown@unknown.com", "a@a.com", "asdf@asdf.com",
    "unknown", "null", "none", "nil", "undefined", "n/a", "na", "anonymous", "guest",
    "test", "-1", "0", "0000000000", "1234567890", "123456789", "9999999999",
    "+10000000000", "+11111111111", "+11234567890",
    "00000000-0000-0000-0000-000000000000",
    # the patterns: zeros and punctuation, placeholder mailboxes, reserved domains
    "(000) 000-0000", "+0 000", "noreply@shop.com", "no-reply@shop.com", "noemail@shop.com",
    "anonymous@shop.com", "ann@example.org", "ann@test.net", "ann@invalid.com",
])
def test_every_built_in_placeholder_is_blocked(value: str) -> None:
    assert Blocklist().blocks(value)


@pytest.mark.parametrize("value", ["ann@shop.com", "0001", "+447700900461", "C-1001",
                                   "testing@shop.com", "ann@example.co.uk"])
def test_real_values_are_not_placeholders(value: str) -> None:
    assert not Blocklist().blocks(value)


@pytest.mark.parametrize(("raw", "stored"), [
    ("A" * 33, "a" * 33),  # one digit too many for a UUID: a plain hex id, never a crash
    ("{" + "A" * 32 + "}", "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"),
    ("A" * 31, "a" * 31),
])
def test_a_hex_device_id_is_a_uuid_only_at_32_digits(raw: str, stored: str) -> None:
    assert normalize_identifier("device_id", raw, US).value == stored


def test_printable_escapes_what_does_not_print_and_says_where_it_cut() -> None:
    assert printable("a\x00b\u202ec", 4) == "a\\x00b\\u202e..."
    assert printable("abc", 3) == "abc"
    assert printable("abcd", 3) == "abc..."


def test_a_phone_number_is_the_identifier_without_its_extension() -> None:
    assert phone_number("+14155550100;ext=12") == "+14155550100"
    assert phone_number("+14155550100") == "+14155550100"


def test_an_address_made_empty_by_its_providers_rules_says_so() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_identifier("email", "+news@gmail.com", US)
    assert str(caught.value) == "email local part is empty once the provider's rules apply"


def test_an_address_with_letters_of_any_script_is_an_email() -> None:
    assert normalized("email", "Müller@Mailbox.org") == "müller@mailbox.org"


def test_an_id_that_would_be_a_uuid_without_its_first_letter_is_kept_whole() -> None:
    raw = "X" + "a" * 32
    assert normalized("device_id", raw) == raw
