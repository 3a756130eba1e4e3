"""Normalization and validation per identifier kind, and the placeholder blocklist."""

from __future__ import annotations

import pytest

from identity.domain.errors import InvalidIdentifier
from identity.domain.identifiers import (
    MAILBOX_RULES,
    MAX_VALUE_LENGTH,
    Blocklist,
    MailboxRule,
    NormalizationRules,
    PatternError,
    _normalize_text,
    compile_pattern,
    is_placeholder,
    normalize_email,
    normalize_identifier,
    phone_number,
    printable,
    trait_text,
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
        "+14159104879;ext=12",
        "+14159104879;ext=99",
        "+14159104879",
    ]


def test_the_cache_keeps_trimmed_values_so_padding_costs_nothing() -> None:
    """1 MB of spaces around a cookie, 300 times, kept 300 MB in the cache."""
    rules = NormalizationRules()
    value = f"cookie-{'7' * 20}"
    _normalize_text.cache_clear()
    for padding in (1, 1_000, 100_000):
        found = normalize_identifier(
            " " * padding + "anonymous_id", " " * padding + value + "\t", rules
        )
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


@pytest.mark.parametrize(
    "value",
    [
        "test@test.com",
        "test@example.com",
        "example@example.com",
        "email@example.com",
        "user@example.com",
        "noemail@noemail.com",
        "no@email.com",
        "none@none.com",
        "null@null.com",
        "unknown@unknown.com",
        "a@a.com",
        "asdf@asdf.com",
        "unknown",
        "null",
        "none",
        "nil",
        "undefined",
        "n/a",
        "na",
        "anonymous",
        "guest",
        "test",
        "-1",
        "0",
        "0000000000",
        "1234567890",
        "123456789",
        "9999999999",
        "+10000000000",
        "+11111111111",
        "+11234567890",
        "00000000-0000-0000-0000-000000000000",
        # the patterns: zeros and punctuation, placeholder mailboxes, reserved domains
        "(000) 000-0000",
        "+0 000",
        "noreply@shop.com",
        "no-reply@shop.com",
        "noemail@shop.com",
        "anonymous@shop.com",
        "ann@example.org",
        "ann@test.net",
        "ann@invalid.com",
    ],
)
def test_every_built_in_placeholder_is_blocked(value: str) -> None:
    assert Blocklist().blocks(value)


@pytest.mark.parametrize(
    "value",
    ["ann@shop.com", "0001", "+447700900461", "C-1001", "testing@shop.com", "ann@example.co.uk"],
)
def test_real_values_are_not_placeholders(value: str) -> None:
    assert not Blocklist().blocks(value)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("A" * 33, "a" * 33),  # one digit too many for a UUID: a plain hex id, never a crash
        ("{" + "A" * 32 + "}", "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"),
        ("A" * 31, "a" * 31),
    ],
)
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


# --- refusals, word for word -----------------------------------------------------------------

ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
INVISIBLE = "contains invisible formatting characters (bidi controls, zero-width space, BOM)"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param("", "value must not be empty", id="empty"),
        pytest.param(1001, "value must be a string, got int", id="not-a-string"),
        pytest.param("x" * 257, "value is longer than 256 characters", id="too-long"),
        pytest.param("C-\x001", "value contains control characters", id="control"),
        pytest.param(
            "C-\ud8001",
            "value contains a lone UTF-16 surrogate, which is not text",
            id="lone-surrogate",
        ),
        pytest.param("ADM\u202e1", f"value {INVISIBLE}", id="bidi-override"),
        pytest.param("\u200bADM1", f"value {INVISIBLE}", id="zero-width-space"),
        pytest.param("\ufeffADM1", f"value {INVISIBLE}", id="byte-order-mark"),
        pytest.param("AD\u00adM1", f"value {INVISIBLE}", id="soft-hyphen"),
        pytest.param(f"fan-{ENGLAND}", f"value {INVISIBLE}", id="flag-tags-never-in-an-id"),
        pytest.param(
            "ADM\u31641",
            "value contains characters that draw nothing (Hangul filler, braille blank, ...)",
            id="hangul-filler",
        ),
    ],
)
def test_an_unusable_value_is_refused_with_its_reason_word_for_word(
    raw: object, message: str
) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        normalize_identifier("customer_id", raw, US)
    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("\uff21\uff22\uff23\uff11", "ABC1", id="full-width-is-ascii"),
        pytest.param("\ufb01le-7", "file-7", id="ligature-is-its-letters"),
        pytest.param(
            "\U0001f468\u200d\U0001f469\u200d\U0001f467",
            "\U0001f468\u200d\U0001f469\u200d\U0001f467",
            id="zero-width-joiner-kept",
        ),
        pytest.param(
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
            id="zero-width-non-joiner-kept",
        ),
        pytest.param("M\u00fcller", "M\u00fcller", id="letters-of-any-script-kept"),
    ],
)
def test_two_spellings_of_one_id_are_one_and_joiners_stay(raw: str, expected: str) -> None:
    """NFKC folds compatibility forms; the two joiners are Cf yet draw scripts and emoji."""
    assert normalized("customer_id", raw) == expected


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        pytest.param("Cafe\u0301", "Caf\u00e9", id="composed-the-one-way"),
        pytest.param(
            "Flat 2\u00bd, 40 m\u00b2", "Flat 2\u00bd, 40 m\u00b2", id="no-compatibility-folding"
        ),
        pytest.param(f"Go {ENGLAND}!", f"Go {ENGLAND}!", id="a-flag-of-a-region"),
        pytest.param("Jean\u00a0Dupont", "Jean\u00a0Dupont", id="no-break-space"),
        pytest.param(
            "Ann \U0001f468\u200d\U0001f469\u200d\U0001f467",
            "Ann \U0001f468\u200d\U0001f469\u200d\U0001f467",
            id="joined-emoji",
        ),
        pytest.param("plain", "plain", id="ascii"),
    ],
)
def test_free_text_is_kept_in_nfc_with_flags_joiners_and_compatibility_forms(
    text: str, stored: str
) -> None:
    assert trait_text(text) == stored


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("Jean\x00", "contains control characters", id="control"),
        pytest.param("Jean\u202e", INVISIBLE, id="bidi-override"),
        pytest.param(f"Go \U000e0041{ENGLAND}", INVISIBLE, id="a-tag-outside-a-flag"),
        pytest.param(
            "Jean\u3164",
            "contains characters that draw nothing (Hangul filler, braille blank, ...)",
            id="hangul-filler",
        ),
    ],
)
def test_free_text_is_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError) as refused:
        trait_text(text)
    assert str(refused.value) == reason


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        pytest.param(
            "twitter",
            "unknown identifier kind 'twitter'; expected one of customer_id, email, "
            "phone, anonymous_id, device_id, session_id, order_id or external:<system>",
            id="unknown",
        ),
        pytest.param(
            "T\x1b[2J" + "w" * 100,
            "unknown identifier kind 'T\\x1b[2J" + "w" * 75 + "...'; expected one of "
            "customer_id, email, phone, anonymous_id, device_id, session_id, order_id "
            "or external:<system>",
            id="escaped-and-cut-at-80",
        ),
        pytest.param(
            "External:" + "X" * 100,
            "external kind needs a system name of lower-case letters, digits, '_', "
            "'.', '-' after 'external:' (got 'External:" + "X" * 71 + "...')",
            id="external-cut-at-80",
        ),
    ],
)
def test_an_unknown_kind_is_shown_back_escaped_and_cut_in_its_refusal(
    kind: str, message: str
) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        validate_kind(kind)
    assert str(refused.value) == message


def test_printable_keeps_what_prints_in_any_script_and_escapes_the_rest() -> None:
    assert printable("M\u00fcller \\ \u00e9\u4e2d", 20) == "M\u00fcller \\ \u00e9\u4e2d"
    assert printable("M\u00fcller\u200b", 20) == "M\u00fcller\\u200b"


@pytest.mark.parametrize(
    ("value", "blocked"),
    [
        pytest.param("xxx", True, id="one-letter-three-times"),
        pytest.param("99999", True, id="one-digit-five-times"),
        pytest.param(" XX ", True, id="two-of-one-letter-any-case"),
        pytest.param("x", False, id="a-single-character-repeats-nothing"),
        pytest.param("xyx", False, id="two-letters"),
        pytest.param("xyy", False, id="repeated-tail-only"),
    ],
)
def test_repeats_block_one_character_written_over_and_over(value: str, blocked: bool) -> None:
    assert Blocklist(repeats=True).blocks(value) is blocked


@pytest.mark.parametrize("value", ["xxx", "x", "7", "aaaaaaaa"])
def test_repeats_are_not_blocked_unless_the_blocklist_asks(value: str) -> None:
    assert Blocklist().blocks(value) is False


@pytest.mark.parametrize("value", ["test\ud800", "\udfff", "0\ud800"])
def test_a_value_with_a_lone_surrogate_is_never_blocked_it_is_refused_as_text(
    value: str,
) -> None:
    assert Blocklist().blocks(value) is False


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        pytest.param("(", "not an RE2 regular expression: missing ): (", id="unclosed"),
        pytest.param(
            "(\u00e9",
            "not an RE2 regular expression: missing ): (\u00e9",
            id="non-ascii-shown-as-text",
        ),
        pytest.param(
            "a{2,1}",
            "not an RE2 regular expression: invalid repetition size: {2,1}",
            id="bad-repetition",
        ),
    ],
)
def test_a_placeholder_pattern_re2_cannot_read_is_refused_with_its_reason_and_no_log(
    pattern: str, message: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """The reason is raised, decoded as text; RE2 writes nothing to stderr."""
    with pytest.raises(PatternError) as refused:
        Blocklist(patterns=(r"^kiosk-", pattern))
    assert str(refused.value) == message
    assert capfd.readouterr().err == ""


def test_a_placeholder_pattern_matches_as_written() -> None:
    assert compile_pattern("^kiosk-[0-9]+$").search("kiosk-42") is not None
    assert compile_pattern("^kiosk-[0-9]+$").search("kiosk-x") is None


def test_a_sources_phones_are_read_in_its_region_others_in_the_default() -> None:
    rules = NormalizationRules(
        default_region="US", source_regions=(("pos-gb", "GB"), ("pos-de", "DE"))
    )
    assert [rules.region_for(s) for s in ("pos-gb", "pos-de", "web")] == ["GB", "DE", "US"]


def test_an_explicit_region_reads_a_national_number_over_the_default() -> None:
    found = normalize_identifier("phone", "020 7946 0958", US, region="GB")
    assert found == Identifier("phone", "+442079460958")


def test_normalizing_an_email_looks_nothing_up_in_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Syntax only: a lookup per address would stall ingest on the network."""
    import email_validator.deliverability

    def no_lookup(*args: object, **kwargs: object) -> dict[str, str]:
        raise AssertionError("a DNS lookup was made")

    monkeypatch.setattr(email_validator.deliverability, "validate_email_deliverability", no_lookup)
    assert normalize_email("Jane.Doe+x@GMail.com") == "janedoe@gmail.com"
    assert normalize_email("ann@shop.example.org") == "ann@shop.example.org"


def test_a_provider_without_tags_keeps_the_whole_local_part(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(
        MAILBOX_RULES, "mail.example.net", MailboxRule("example.net", tag_separator=None)
    )
    assert normalize_email("Ann+Shop@Mail.Example.net") == "ann+shop@example.net"


def test_an_address_in_any_script_is_accepted_whatever_the_libraries_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SMTPUTF8 is asked for by name: a process that turns email_validator's global default
    off still reads `Müller@...` as one address."""
    import email_validator

    monkeypatch.setattr(email_validator, "ALLOW_SMTPUTF8", False)
    assert normalize_email("M\u00fcller@Mailbox.org") == "m\u00fcller@mailbox.org"
