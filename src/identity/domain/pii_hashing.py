"""Emails and phones kept only as keyed hashes (HMAC-SHA256). Pure: no I/O; the keys are
given (config.py reads them). docs/architecture.md, "Security and privacy", says what is
stored, what matching loses, and how a key is rotated.

A stored value is `h<version>:<hex>`: the version names the key, so a lookup knows which key
made a value and a rotation can hold two keys at once. A phone with an extension keeps the
number's own hash before `;` (`h1:<number>;<number and extension>`): `phone_number()` then
gives the hash of the number alone, which matching compares, as it compares the clear number.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field

from identity.domain.types import Identifier, IdentifierKind

HASHED_KINDS = frozenset({IdentifierKind.EMAIL.value, IdentifierKind.PHONE.value})
MIN_SECRET_LENGTH = 32  # characters: `openssl rand -hex 32` gives 64
MAX_VERSION = 9999
_VERSIONED = re.compile(r"^(\d{1,4}):(.+)$", re.DOTALL)
_HASHED = re.compile(r"^h\d{1,4}:[0-9a-f]{64}(;[0-9a-f]{64})?$")


@dataclass(frozen=True, slots=True)
class PiiKey:
    """One HMAC key and its version; the secret never shows in a repr or a comparison."""

    version: int
    secret: bytes = field(repr=False, compare=False)

    def digest(self, text: str) -> str:
        return hmac.new(self.secret, text.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class PiiKeys:
    """The keys, newest first: the first hashes new data; every one is linked while listed
    (a value seen again joins its node under an older key), and lookups use the oldest,
    under which every value stored while it was listed has a hash."""

    keys: tuple[PiiKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise ValueError("at least one key is needed")

    @property
    def current(self) -> PiiKey:
        return self.keys[0]

    @property
    def oldest(self) -> PiiKey:
        return self.keys[-1]

    def hashed(self, identifier: Identifier, key: PiiKey) -> Identifier:
        """The identifier under `key`; kinds other than email and phone are returned as they
        are. `identifier` is normalized and still clear."""
        if identifier.kind not in HASHED_KINDS:
            return identifier
        value = identifier.value
        prefix = f"h{key.version}:"
        # Kind in the message: an email and a phone can never hash alike.
        number, _, extension = value.partition(";")
        hashed = prefix + key.digest(f"{identifier.kind}|{number}")
        if extension:
            hashed += ";" + key.digest(f"{identifier.kind}|{value}")
        return Identifier(identifier.kind, hashed)

    def linked(self, identifier: Identifier) -> tuple[Identifier, ...]:
        """What ingest links for a normalized identifier: its hash under every key listed,
        the current key's first (one identifier while a single key is listed)."""
        if identifier.kind not in HASHED_KINDS:
            return (identifier,)
        return tuple(dict.fromkeys(self.hashed(identifier, key) for key in self.keys))

    def looked_up(self, identifier: Identifier) -> Identifier:
        """What a lookup asks the store for: the hash under the oldest key listed."""
        return self.hashed(identifier, self.oldest)


def is_hashed(value: str) -> bool:
    """A stored value this module made (`h<version>:<hex>`)."""
    return bool(_HASHED.match(value))


def parse_keys(text: str, setting: str) -> PiiKeys:
    """Keys as a setting holds them: `<version>:<secret>` entries, newest first, separated by
    commas or line breaks; a single key may leave out `<version>:` (version 1). Raises
    ValueError naming the setting and the entry by position, never showing a secret."""
    entries = [entry.strip() for entry in re.split(r"[,\n]", text) if entry.strip()]
    if not entries:
        raise ValueError(f"{setting} holds no key")
    keys: list[PiiKey] = []
    for position, entry in enumerate(entries, 1):
        where = f"{setting}: key {position} of {len(entries)}"
        versioned = _VERSIONED.match(entry)
        if versioned is None and len(entries) > 1:
            raise ValueError(f"{where} needs a version: write it as <version>:<secret>, "
                             "newest first")
        version = int(versioned.group(1)) if versioned else 1
        secret = versioned.group(2).strip() if versioned else entry
        if not 1 <= version <= MAX_VERSION:
            raise ValueError(f"{where} has version {version}; versions are 1 to {MAX_VERSION}")
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"{where} is shorter than {MIN_SECRET_LENGTH} characters "
                             "(make one with `openssl rand -hex 32`)")
        if any(key.version == version for key in keys):
            raise ValueError(f"{where} repeats version {version}")
        try:  # an environment variable's bytes that are not UTF-8 come as lone surrogates
            encoded = secret.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{where} is not UTF-8 text") from None
        keys.append(PiiKey(version, encoded))
    return PiiKeys(tuple(keys))


# A trait named so, or holding an email address, would keep in clear what the identifiers
# hide: with hashing on it is dropped (the event says so), never hashed, because no lookup or
# comparison reads a trait as an identifier.
_CONTACT_WORDS = frozenset({"email", "emails", "mail", "e_mail", "phone", "phones", "mobile",
                            "telephone", "tel", "cell", "cellphone", "fax", "msisdn", "sms"})
# Also what masking reads as an email inside free text (domain/redaction.py). Tried only where
# a word starts (after a space, an @ or the start): a match starting inside a run of non-space
# would also start at the run's start, so the matches are the same, and a long run without one
# costs one scan instead of one per character (50,000 characters: 7.5 s before).
EMAIL_LIKE = re.compile(r"(?<![^@\s])[^@\s]+@[^@\s]+\.[^@\s]+")


def holds_contact(name: str, value: str) -> bool:
    """Whether a trait holds what hashing keeps out of the store: an email or a phone, by its
    name (`email`, `work_phone`, `mobile`...) or, for an email, by its value."""
    words = set(name.split("_"))
    return (bool(words & _CONTACT_WORDS) or "e_mail" in name
            or EMAIL_LIKE.search(value) is not None)
