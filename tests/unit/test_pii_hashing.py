"""Keyed hashing of emails and phones (domain/pii_hashing.py) and its settings: the format,
the keys never shown, the normalization path (placeholders checked before hashing, traits
holding contacts dropped), and lookups hashed as ingest hashes."""

from __future__ import annotations

from pathlib import Path

import pytest

from identity.config import Settings
from identity.domain.errors import ValidationError
from identity.domain.events import parse_event
from identity.domain.identifiers import NormalizationRules, normalize_identifier, phone_number
from identity.domain.pii_hashing import PiiKey, PiiKeys, holds_contact, is_hashed, parse_keys
from identity.domain.types import Identifier

SECRET_1 = "k1-" + "a" * 40
SECRET_2 = "k2-" + "b" * 40
EMAIL = Identifier("email", "ann.lee@northwind.org")
PHONE = Identifier("phone", "+14155550100")


def keys(*entries: str) -> PiiKeys:
    return parse_keys(",".join(entries), "IDENTITY_PII_HASH_KEY")


def rules(*entries: str) -> NormalizationRules:
    return NormalizationRules(pii_keys=keys(*entries))


def test_a_hash_is_versioned_hex_and_depends_on_the_key_and_the_kind() -> None:
    one, two = keys(SECRET_1), keys(f"2:{SECRET_2}")
    hashed = one.hashed(EMAIL, one.current)
    assert hashed.kind == "email" and hashed.value.startswith("h1:") and is_hashed(hashed.value)
    assert "northwind" not in hashed.value
    assert one.hashed(EMAIL, one.current) == hashed  # deterministic
    assert two.hashed(EMAIL, two.current).value.startswith("h2:")
    assert two.hashed(EMAIL, two.current).value[3:] != hashed.value[3:]
    # The kind is in the message: the same text as an email and as a phone hash apart.
    assert (one.hashed(Identifier("phone", EMAIL.value), one.current).value
            != hashed.value)
    cookie = Identifier("anonymous_id", "c-1")
    assert one.hashed(cookie, one.current) == cookie and one.linked(cookie) == (cookie,)


def test_a_phone_extension_keeps_the_numbers_own_hash_first() -> None:
    """Matching compares a phone without its extension (phone_number): that is the hash of
    the number alone, so two lines behind one switchboard still compare as one number."""
    hasher = keys(SECRET_1)
    line_12 = hasher.hashed(Identifier("phone", "+14155550100;ext=12"), hasher.current)
    line_99 = hasher.hashed(Identifier("phone", "+14155550100;ext=99"), hasher.current)
    number = hasher.hashed(PHONE, hasher.current)
    assert line_12 != line_99 and is_hashed(line_12.value)
    assert phone_number(line_12.value) == phone_number(line_99.value) == number.value


def test_linking_uses_every_key_and_lookups_the_oldest() -> None:
    hasher = keys(f"2:{SECRET_2}", f"1:{SECRET_1}")
    old = keys(SECRET_1)
    linked = hasher.linked(EMAIL)
    assert [i.value[:3] for i in linked] == ["h2:", "h1:"]
    assert linked[1] == old.linked(EMAIL)[0]  # what was stored before the rotation
    assert hasher.looked_up(EMAIL) == old.looked_up(EMAIL)


def test_keys_are_never_shown() -> None:
    hasher = keys(f"2:{SECRET_2}", f"1:{SECRET_1}")
    settings = Settings(pii_hash_key=f"2:{SECRET_2},1:{SECRET_1}")
    for text in (repr(hasher), str(hasher), repr(settings), repr(rules(SECRET_1))):
        assert SECRET_1 not in text and SECRET_2 not in text and "aaaa" not in text
    assert PiiKey(1, b"x") == PiiKey(1, b"y")  # compared by version, never by secret


@pytest.mark.parametrize(("text", "reason"), [
    ("", "holds no key"),
    ("tiny-secret-9", "key 1 of 1 is shorter than 32 characters"),
    (f"{SECRET_1},{SECRET_2}", "key 1 of 2 needs a version"),
    (f"2:{SECRET_2},2:{SECRET_1}", "key 2 of 2 repeats version 2"),
    (f"0:{SECRET_1}", "key 1 of 1 has version 0"),
    # Bytes of an environment variable that are not UTF-8 arrive as lone surrogates.
    (f"2:{SECRET_2},1:{SECRET_1}\udcff", "key 2 of 2 is not UTF-8 text"),
])
def test_a_bad_key_is_named_by_setting_and_position_never_shown(text: str,
                                                                reason: str) -> None:
    with pytest.raises(ValueError, match="IDENTITY_PII_HASH_KEY") as caught:
        parse_keys(text, "IDENTITY_PII_HASH_KEY")
    assert reason in str(caught.value)
    for secret in (SECRET_1, SECRET_2, "tiny-secret", "\udcff"):
        assert secret not in str(caught.value)


def test_settings_read_the_keys_from_the_environment_or_a_file(tmp_path: Path) -> None:
    assert Settings.from_env({}).pii_keys() is None  # off by default
    from_env = Settings.from_env({"IDENTITY_PII_HASH_KEY": SECRET_1}).pii_keys()
    assert from_env is not None and from_env.current.version == 1
    key_file = tmp_path / "pii.keys"
    key_file.write_text(f"3:{SECRET_2}\n1:{SECRET_1}\n", encoding="utf-8")
    from_file = Settings.from_env({"IDENTITY_PII_HASH_KEY_FILE": str(key_file)}).pii_keys()
    assert from_file is not None and [k.version for k in from_file.keys] == [3, 1]
    normalization = Settings(pii_hash_key_file=str(key_file)).normalization_rules(
        Settings().identity_rules())
    assert normalization.pii_keys == from_file


def test_settings_errors_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PII_HASH_KEY and IDENTITY_PII_HASH_KEY_FILE are both"):
        Settings(pii_hash_key=SECRET_1, pii_hash_key_file=str(tmp_path / "k"))
    with pytest.raises(ValueError, match=r"PII_HASH_KEY_FILE '.*missing' cannot be read"):
        Settings(pii_hash_key_file=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="IDENTITY_PII_HASH_KEY: key 1 of 1 is shorter") as bad:
        Settings.from_env({"IDENTITY_PII_HASH_KEY": "tooshort-secret"})
    assert "tooshort" not in str(bad.value)


def event(*identifiers: tuple[str, str], traits: dict[str, str] | None = None
          ) -> dict[str, object]:
    raw: dict[str, object] = {
        "event_id": "e1", "type": "identify", "timestamp": "2025-03-01T09:00:00Z",
        "source": "web", "identifiers": [{"kind": k, "value": v} for k, v in identifiers]}
    if traits:
        raw["traits"] = traits
    return raw


def test_an_event_keeps_only_hashes_of_its_emails_and_phones() -> None:
    hashing = rules(SECRET_1)
    parsed = parse_event(event(("email", "Ann.Lee@Northwind.org"), ("phone", "(415) 555-0100"),
                               ("anonymous_id", "c-1")), hashing)
    clear = NormalizationRules()
    assert set(parsed.identifiers) == {
        hashing.linked(normalize_identifier("email", "ann.lee@northwind.org", clear))[0],
        hashing.linked(normalize_identifier("phone", "+14155550100", clear))[0],
        Identifier("anonymous_id", "c-1")}
    assert "northwind" not in repr(parsed.identifiers) and "555" not in repr(parsed.identifiers)


def test_placeholders_are_checked_before_hashing() -> None:
    """`t.e.s.t@gmail.com` is `test@gmail.com` once normalized, a placeholder: the check
    must see the clear normalized value, not its hash."""
    parsed = parse_event(event(("email", "T.e.s.t@gmail.com"), ("anonymous_id", "c-1")),
                         rules(SECRET_1))
    assert parsed.identifiers == (Identifier("anonymous_id", "c-1"),)
    assert [i.reason for i in parsed.ignored] == ["placeholder value: never used to link"]
    with pytest.raises(ValidationError, match="every identifier is a placeholder"):
        parse_event(event(("phone", "(000) 000-0000")), rules(SECRET_1))


def test_traits_holding_an_email_or_a_phone_are_dropped_and_said() -> None:
    traits = {"first_name": "Ann", "work_email": "ann@northwind.org", "mobile": "07700 900123",
              "note": "write to ann@northwind.org", "postcode": "94107"}
    parsed = parse_event(event(("anonymous_id", "c-1"), traits=traits), rules(SECRET_1))
    assert dict(parsed.traits) == {"first_name": "Ann", "postcode": "94107"}
    assert sorted(w.field for w in parsed.warnings) == [
        "traits.mobile", "traits.note", "traits.work_email"]
    # Without hashing nothing changes.
    assert dict(parse_event(event(("anonymous_id", "c-1"), traits=traits),
                            NormalizationRules()).traits) == traits


@pytest.mark.parametrize(("name", "value", "held"), [
    ("email", "x", True), ("work_phone", "1", True), ("e_mail", "x", True),
    ("cell", "1", True), ("first_name", "Ann", False), ("emailed_at", "2025-01-01", False),
    ("company", "sales@northwind.org", True), ("city", "Mailand", False),
])
def test_holds_contact(name: str, value: str, held: bool) -> None:
    assert holds_contact(name, value) is held


def test_during_a_rotation_an_event_says_which_hashes_are_one_value() -> None:
    """What erasure's suppression drops together (service/ingest.py)."""
    parsed = parse_event(event(("email", "ann@northwind.org"), ("phone", "+14155550100"),
                               ("anonymous_id", "c-1")), rules(f"2:{SECRET_2}", f"1:{SECRET_1}"))
    assert len(parsed.identifiers) == 5
    assert sorted((g[0].kind, [i.value[:3] for i in g]) for g in parsed.same_value) == [
        ("email", ["h2:", "h1:"]), ("phone", ["h2:", "h1:"])]
    assert parse_event(event(("email", "ann@northwind.org")), rules(SECRET_1)).same_value == ()
