"""Normalization and validation per identifier kind, and the placeholder blocklist.

Pure: no I/O. Two spellings of one identifier must normalize to the same value, or the graph
misses a link; two people must never share a normalized value, or it makes a false one.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from functools import lru_cache

import phonenumbers
import re2
from email_validator import EmailNotValidError, validate_email

from identity.domain.errors import InvalidIdentifier
from identity.domain.pii_hashing import PiiKeys
from identity.domain.types import EXTERNAL_PREFIX, Identifier, IdentifierKind

MAX_VALUE_LENGTH = 256
_EXTERNAL_SYSTEM = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
# What no identifier, trait, event id or source may hold, and why: control characters (and
# the Unicode line and paragraph separators); lone UTF-16 surrogates, which no encoder
# accepts (one would break the store and every response that shows it); invisible format
# characters that make one string look like another (bidi overrides, zero-width space, soft
# hyphen, byte order mark: Unicode category Cf). The two joiners stay: scripts and emoji
# need them.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_UNUSABLE_TEXT = (
    (re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]"), "contains control characters"),
    (_SURROGATE, "contains a lone UTF-16 surrogate, which is not text"),
)
_INVISIBLE = "contains invisible formatting characters (bidi controls, zero-width space, BOM)"
_JOINERS = frozenset("\u200c\u200d")
# A flag emoji of a region (England, Scotland, Wales): a black flag, tags, a cancel tag.
_FLAG_SEQUENCE = re.compile("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f")
# Letters and marks that draw nothing, outside category Cf: Hangul fillers, the combining
# grapheme joiner, Khmer inherent vowels, Mongolian variation selectors, the braille blank.
_BLANK = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2800\u3164\uffa0]")
# Variation selectors choose a glyph (emoji or text style, a Japanese name's ideograph form):
# kept in traits, dropped from identifiers, where they cannot make a value another one.
_VARIATION_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_HEX_ONLY = re.compile(r"^[0-9a-fA-F]+$")
_BUILT_IN_KINDS = frozenset(k.value for k in IdentifierKind)


@dataclass(frozen=True, slots=True)
class MailboxRule:
    """How one provider delivers variants of an address to the same mailbox."""

    canonical_domain: str
    ignores_dots: bool = False
    tag_separator: str | None = "+"


# Only providers whose rules are documented; an unknown domain keeps its `+tag`, because
# stripping it could merge two people on a server that treats it as part of the name.
MAILBOX_RULES: dict[str, MailboxRule] = {
    "gmail.com": MailboxRule("gmail.com", ignores_dots=True),
    "googlemail.com": MailboxRule("gmail.com", ignores_dots=True),
    "outlook.com": MailboxRule("outlook.com"),
    "hotmail.com": MailboxRule("hotmail.com"),
    "live.com": MailboxRule("live.com"),
    "icloud.com": MailboxRule("icloud.com"),
    "me.com": MailboxRule("icloud.com"),
    "fastmail.com": MailboxRule("fastmail.com"),
    "proton.me": MailboxRule("proton.me"),
    "protonmail.com": MailboxRule("proton.me"),
    "yahoo.com": MailboxRule("yahoo.com", tag_separator="-"),
}

DEFAULT_PLACEHOLDER_VALUES: frozenset[str] = frozenset(
    {
        "test@test.com", "test@example.com", "example@example.com", "email@example.com",
        "user@example.com", "noemail@noemail.com", "no@email.com", "none@none.com",
        "null@null.com", "unknown@unknown.com", "a@a.com", "asdf@asdf.com",
        "unknown", "null", "none", "nil", "undefined", "n/a", "na", "anonymous", "guest",
        "test", "-1", "0", "0000000000", "1234567890", "123456789", "9999999999",
        "+10000000000", "+11111111111", "+11234567890",
        "00000000-0000-0000-0000-000000000000",
    }
)
DEFAULT_PLACEHOLDER_PATTERNS: tuple[str, ...] = (
    r"^[0\s().+-]*$",    # zeros and punctuation: unset IDFA/GAID, (000) 000-0000
    r"^(test|noemail|no-?reply|none|null|unknown|anonymous)@",
    r"@(example|test|invalid)\.(com|org|net)$",
)


def printable(text: str, limit: int) -> str:
    """A caller's text where it is shown back in a field path, a reason or a log: at most
    `limit` characters ("..." when cut), every character that does not print (control,
    surrogate, bidi and zero-width ones) as its escape, so it can neither hide nor drive a
    terminal."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                    for c in text[:limit])
    return shown + ("..." if len(text) > limit else "")


def text_problem(text: str, *, emoji_tags: bool = False) -> str | None:
    """Why the text cannot be stored as a caller's value, or None when it can. `emoji_tags`:
    allow the tag characters inside an emoji flag sequence (England, Scotland, Wales), for
    free text; never in an identifier, nor anywhere else."""
    for pattern, reason in _UNUSABLE_TEXT:
        if pattern.search(text):
            return reason
    if emoji_tags and not text.isascii():
        text = _FLAG_SEQUENCE.sub("", text)  # what is left of the tags is checked below
    if not text.isprintable() and any(unicodedata.category(c) == "Cf" and c not in _JOINERS
                                      for c in text):
        return _INVISIBLE
    if not text.isascii() and _BLANK.search(text):
        return "contains characters that draw nothing (Hangul filler, braille blank, ...)"
    return None


def folded_text(text: str) -> str:
    """An identifier's text in NFKC: compatibility forms are one value (full-width `ABC1`,
    U+FF21..., is `ABC1`; the ligature U+FB01 is `fi`), so two spellings of one value make
    one identifier. Raises ValueError saying why the text cannot be stored (text_problem)."""
    if (problem := text_problem(text)) is not None:
        raise ValueError(problem)
    folded = unicodedata.normalize("NFKC", text) if not text.isascii() else text
    if folded is not text and (problem := text_problem(folded)) is not None:
        raise ValueError(problem)
    return folded


def trait_text(text: str) -> str:
    """Free text (a name, an address) in NFC: composed the one way, nothing else changed
    (NFKC would make `Flat 2½` `Flat 21/2` and `m²` `m2`). Raises ValueError saying why the
    text cannot be stored (text_problem)."""
    if (problem := text_problem(text, emoji_tags=True)) is not None:
        raise ValueError(problem)
    return unicodedata.normalize("NFC", text) if not text.isascii() else text


class PatternError(ValueError):
    """A placeholder pattern that is not an RE2 regular expression."""


def compile_pattern(pattern: str) -> re2._Regexp:
    """Placeholder patterns are RE2 expressions: matching takes time linear in the value, so
    a pattern such as `^(a+)+$` cannot stall ingest (no backreferences or lookaround)."""
    options = re2.Options()
    options.log_errors = False  # the reason is raised, not written to stderr
    try:
        return re2.compile(pattern, options=options)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(f"not an RE2 regular expression: {reason}") from None


@dataclass(frozen=True)
class Blocklist:
    """Placeholder values that many unrelated people share; they must never link anyone."""

    values: frozenset[str] = DEFAULT_PLACEHOLDER_VALUES
    patterns: tuple[str, ...] = DEFAULT_PLACEHOLDER_PATTERNS
    repeats: bool = False  # one character repeated (xxx, 99999): RE2 has no backreference
    _compiled: tuple[re2._Regexp, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple(compile_pattern(p) for p in self.patterns))

    def blocks(self, value: str) -> bool:
        folded = value.strip().lower()
        if folded in self.values or (self.repeats and len(folded) > 1
                                     and folded == folded[0] * len(folded)):
            return True
        if _SURROGATE.search(folded):
            return False  # not text (RE2 cannot read it): rejected as a value, never blocked
        return any(p.search(folded) for p in self._compiled)


@dataclass(frozen=True)
class NormalizationRules:
    """The settings normalization depends on; passed in so the domain reads no config.
    `source_regions`: (source, region) pairs, the region a source's phones are written in
    when its events show no country (a till system in British stores: `pos-gb`, GB)."""

    default_region: str = "US"
    blocklist: Blocklist = field(default_factory=Blocklist)
    source_regions: tuple[tuple[str, str], ...] = ()
    # Emails and phones kept only as keyed hashes (domain/pii_hashing.py); None: as they are
    pii_keys: PiiKeys | None = field(default=None, repr=False)

    def region_for(self, source: str) -> str:
        return dict(self.source_regions).get(source, self.default_region)

    def linked(self, identifier: Identifier) -> tuple[Identifier, ...]:
        """What ingest keeps of a normalized identifier once it passed the placeholder
        check: itself, or with PII hashing its hash under every key listed (pii_hashing.py)."""
        return (identifier,) if self.pii_keys is None else self.pii_keys.linked(identifier)

    def looked_up(self, identifier: Identifier) -> Identifier:
        """What a lookup asks the store for: the identifier, or its hash under the oldest
        key listed, the one every stored value has a hash under (pii_hashing.py)."""
        return identifier if self.pii_keys is None else self.pii_keys.looked_up(identifier)


def validate_kind(kind: str) -> str:
    """Known kinds, or `external:<system>` for ids minted by another system (CRM, loyalty)."""
    folded = kind.strip().lower()
    if folded in _BUILT_IN_KINDS:
        return folded
    if folded.startswith(EXTERNAL_PREFIX):
        system = folded[len(EXTERNAL_PREFIX):]
        if _EXTERNAL_SYSTEM.match(system):
            return folded
        raise InvalidIdentifier(
            f"external kind needs a system name of lower-case letters, digits, '_', '.', '-' "
            f"after 'external:' (got '{printable(kind, 80)}')"
        )
    known = ", ".join(k.value for k in IdentifierKind)
    raise InvalidIdentifier(
        f"unknown identifier kind '{printable(kind, 80)}'; expected one of {known} or "
        "external:<system>"
    )


def normalize_email(raw: str) -> str:
    try:
        checked = validate_email(raw, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise InvalidIdentifier(f"not a valid email address: {exc}") from None
    local, domain = checked.local_part.lower(), checked.domain.lower()
    rule = MAILBOX_RULES.get(domain)
    if rule is not None:
        if rule.tag_separator and rule.tag_separator in local:
            local = local.split(rule.tag_separator, 1)[0]
        if rule.ignores_dots:
            local = local.replace(".", "")
        domain = rule.canonical_domain
        if not local:
            raise InvalidIdentifier("email local part is empty once the provider's rules apply")
    return f"{local}@{domain}"


def normalize_phone(raw: str, region: str) -> str:
    """E.164, so `(415) 555-0100`, `415.555.0100` and `+1 415 555 0100` are one node; an
    extension stays (`+14155550100;ext=12`)."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentifier(f"not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier(
            f"not a valid phone number (numbers without a country code read as {region})"
        )
    e164 = str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    # An extension is a person's line behind a shared number: `ext. 12` and `ext. 99` are two
    # people, and neither is the switchboard. Kept in RFC 3966's form.
    return f"{e164};ext={number.extension}" if number.extension else e164


def phone_number(value: str) -> str:
    """A normalized phone without its extension: the number itself, for comparing and
    blocking digits (`+14155550100;ext=12` is `+14155550100`)."""
    return value.partition(";")[0]


def normalize_device_id(raw: str) -> str:
    """Advertising ids (IDFA, GAID) are UUIDs written many ways; hex ids differ only in case."""
    candidate = raw.strip("{}")
    if len(candidate.replace("-", "")) == 32 and _HEX_ONLY.match(candidate.replace("-", "")):
        return str(uuid.UUID(candidate))
    if _HEX_ONLY.match(raw):
        return raw.lower()
    return raw


def normalize_identifier(kind: str, raw: object, rules: NormalizationRules,
                         region: str | None = None) -> Identifier:
    """Raises InvalidIdentifier with the reason; callers add the field path. A phone
    without a country code is read in `region` (default: the rules' default region)."""
    if not isinstance(raw, str):
        validate_kind(kind)
        raise InvalidIdentifier(f"value must be a string, got {type(raw).__name__}")
    # Trimmed and bounded before the cache: its keys must be as small as what it stores (a
    # megabyte of spaces around a cookie would otherwise be kept, 65,536 times over).
    value = raw.strip()
    if not value:
        validate_kind(kind)
        raise InvalidIdentifier("value must not be empty")
    if len(value) > MAX_VALUE_LENGTH:
        validate_kind(kind)
        raise InvalidIdentifier(f"value is longer than {MAX_VALUE_LENGTH} characters")
    return _normalize_text(kind.strip(), value, region or rules.default_region)


@lru_cache(maxsize=65536)
def _normalize_text(kind: str, value: str, region: str) -> Identifier:
    """Cached: a cookie or a customer id recurs in event after event, and parsing emails and
    phones is most of the cost of validating an event. `value` is trimmed and bounded, `kind`
    trimmed: a kind too long to be valid is refused, and the cache keeps no refusal."""
    checked_kind = validate_kind(kind)
    try:  # stripped again: NFKC can make a space (U+00B4 is a space and a combining accent)
        value = _VARIATION_SELECTORS.sub("", folded_text(value)).strip()
    except ValueError as exc:
        raise InvalidIdentifier(f"value {exc}") from None
    if not value:
        raise InvalidIdentifier("value must not be empty")
    if len(value) > MAX_VALUE_LENGTH:  # NFKC can lengthen: one ligature, several letters
        raise InvalidIdentifier(f"value is longer than {MAX_VALUE_LENGTH} characters")
    if checked_kind == IdentifierKind.EMAIL:
        value = normalize_email(value)
    elif checked_kind == IdentifierKind.PHONE:
        value = normalize_phone(value, region)
    elif checked_kind == IdentifierKind.DEVICE_ID:
        value = normalize_device_id(value)
    return Identifier(checked_kind, value)


def is_placeholder(raw: str, identifier: Identifier, blocklist: Blocklist) -> bool:
    """Checked on the raw and the normalized value: `TEST@test.com ` and `(000) 000-0000` too."""
    return blocklist.blocks(raw) or blocklist.blocks(identifier.value)
