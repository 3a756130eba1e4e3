"""How one person writes the same thing in different ways, and the typos that make it another.

Spellings that normalize to one value (gmail dots, `+tags`, phone formats, UUID case) test that
the graph links them; typos (`gmial.com`, swapped letters) are different identifiers on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from random import Random

import phonenumbers

from identity.domain.identifiers import MAILBOX_RULES
from identity.synthetic.locales import DOMAIN_TYPOS, TRANSLITERATION, GivenName


def _pick(rng: Random, weighted: list[tuple[float, Callable[[], str]]]) -> str:
    """One spelling, chosen by weight; spellings are built lazily so unused ones cost nothing."""
    total = sum(weight for weight, _ in weighted)
    roll = rng.random() * total
    for weight, spell in weighted:
        roll -= weight
        if roll < 0:
            return spell()
    return weighted[-1][1]()


def _dotted(local: str, rng: Random) -> str:
    letters = local.replace(".", "")
    cut = rng.randrange(1, len(letters)) if len(letters) > 1 else 1
    return f"{letters[:cut]}.{letters[cut:]}"


def mailbox_spelling(rng: Random, address: str) -> str:
    """Another way of writing this address that reaches the same mailbox."""
    local, _, domain = address.partition("@")
    rule = MAILBOX_RULES.get(domain)
    tag = rng.choice(("shop", "news", "orders", "promo"))
    options: list[tuple[float, Callable[[], str]]] = [
        (6.0, lambda: address),
        (1.0, lambda: f"{local.title()}@{domain}"),
        (0.5, lambda: f"{local}@{domain.upper()}"),
        (0.3, lambda: f" {address} "),
    ]
    if rule is not None and rule.tag_separator:
        options.append((1.0, lambda: f"{local}{rule.tag_separator}{tag}@{domain}"))
    if rule is not None and rule.ignores_dots:
        options.append((1.0, lambda: f"{local.replace('.', '')}@{domain}"))
        options.append((0.7, lambda: f"{_dotted(local, rng)}@{domain}"))
        options.append((0.3, lambda: f"{local}@googlemail.com"))
    return _pick(rng, options)


def _swapped_letters(rng: Random, local: str) -> str | None:
    spots = [i for i in range(len(local) - 1)
             if local[i].isalpha() and local[i + 1].isalpha() and local[i] != local[i + 1]]
    if not spots:
        return None
    i = rng.choice(spots)
    return local[:i] + local[i + 1] + local[i] + local[i + 2:]


def _doubled_letter(rng: Random, local: str) -> str | None:
    spots = [i for i, c in enumerate(local) if c.isalpha()]
    if not spots:
        return None
    i = rng.choice(spots)
    return local[:i] + local[i] + local[i:]


def email_typo(rng: Random, address: str) -> str | None:
    """A mistyped address: a different mailbox, typed by the same person."""
    local, _, domain = address.partition("@")
    domain_typos = DOMAIN_TYPOS.get(domain, ())
    if domain_typos and rng.random() < 0.5:
        return f"{local}@{rng.choice(domain_typos)}"
    typo = _swapped_letters(rng, local) if rng.random() < 0.6 else _doubled_letter(rng, local)
    return None if typo is None else f"{typo}@{domain}"


def phone_spellings(e164: str) -> tuple[str, ...]:
    """Formats seen in forms for one number; each must normalize (region US) to `e164`."""
    number = phonenumbers.parse(e164)
    if number.country_code == 1:
        digits = str(number.national_number)
        area, exchange, line = digits[:3], digits[3:6], digits[6:]
        return (f"({area}) {exchange}-{line}", f"+1 {area}-{exchange}-{line}",
                f"{area}.{exchange}.{line}", f"{area}{exchange}{line}", e164,
                f"1-{area}-{exchange}-{line}", f"{area}-{exchange}-{line}",
                f"+1 ({area}) {exchange}-{line}")
    international = str(phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))
    national = str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
    prefix = f"+{number.country_code}"
    spellings = [international, e164, international.replace(" ", "-"),
                 f"011 {international[1:]}"]
    if national.startswith("0"):  # the trunk 0 people keep after the country code
        spellings += [f"{prefix} (0){national[1:]}", f"{prefix} {national}"]
    return tuple(spellings)


def invalid_phone_spelling(rng: Random, written: str, region: str) -> str | None:
    """The number as typed with one digit missing, when that makes it no valid number at all
    (read with the writer's own region); None when the slip happens to spell another number."""
    digits = [i for i, c in enumerate(written) if c.isdigit()]
    cut = rng.choice(digits[len(digits) // 2:])  # the end of a number, where typing slips
    typo = written[:cut] + written[cut + 1:]
    try:
        number = phonenumbers.parse(typo, region)
    except phonenumbers.NumberParseException:
        return typo
    return None if phonenumbers.is_valid_number(number) else typo


def uuid_spelling(rng: Random, canonical: str) -> str:
    """Advertising ids and IDFVs reach us upper-case, lower-case or in registry braces."""
    return _pick(rng, [
        (5.0, lambda: canonical),
        (2.0, canonical.lower),
        (1.0, canonical.upper),
        (1.0, lambda: "{" + canonical.upper() + "}"),
    ])


def device_spelling(rng: Random, canonical: str) -> str:
    """UUIDs vary in case and braces; a hex ANDROID_ID in case only."""
    if "-" in canonical:
        return uuid_spelling(rng, canonical)
    return canonical.upper() if rng.random() < 0.2 else canonical


def ascii_spelling(text: str) -> str:
    return text.translate(TRANSLITERATION)


def _casings(rng: Random, text: str, usual: float) -> str:
    return _pick(rng, [
        (usual, lambda: text),
        (1.0, text.upper),
        (0.7, text.lower),
        (0.5, lambda: f"  {text} "),
        (0.8, lambda: ascii_spelling(text)),
    ])


def first_name_spelling(rng: Random, given: GivenName) -> str:
    """Forms get the formal name, the nickname (Bob for Robert) or odd casing."""
    if given.nickname is not None and rng.random() < 0.25:
        return given.nickname
    return _casings(rng, given.formal, usual=10.0)


def last_name_spelling(rng: Random, last_name: str) -> str:
    return _casings(rng, last_name, usual=12.0)


def gender_spelling(rng: Random, gender: str) -> str:
    return _pick(rng, [(6.0, lambda: gender), (1.0, lambda: gender[0].upper()),
                       (1.0, gender.title)])


@dataclass(frozen=True, slots=True)
class StreetType:
    """`Street`, `St`: the full and short words people write for one kind of street."""

    full: str
    short: str


STREET_TYPES = (StreetType("Street", "St"), StreetType("Avenue", "Ave"),
                StreetType("Road", "Rd"), StreetType("Lane", "Ln"), StreetType("Drive", "Dr"))


def number_first_line(rng: Random, number: int, street: str, street_type: StreetType) -> str:
    """`12 Main Street`, `12 Main St.`, `12 MAIN ST`, `12  main street`."""
    word = rng.choice((street_type.full, street_type.full, street_type.short,
                       f"{street_type.short}."))
    line = f"{number} {street} {word}"
    return _pick(rng, [(8.0, lambda: line), (1.0, line.upper), (0.7, line.lower),
                       (0.5, lambda: line.replace(" ", "  ", 1))])


def german_street_line(rng: Random, number: int, street: str) -> str:
    """`Hauptstraße 12`, `Hauptstr. 12`, `Hauptstrasse 12`; `Berliner Straße 12` as a phrase."""
    separate = street.endswith("er")
    word = rng.choice(("Straße", "Straße", "Str.", "Strasse"))
    if not separate:
        word = word.lower()
    joiner = " " if separate else ""
    line = f"{street}{joiner}{word} {number}"
    return _pick(rng, [(8.0, lambda: line), (1.0, line.lower), (0.5, lambda: ascii_spelling(line))])


def french_street_line(rng: Random, number: int, street: str) -> str:
    """`12 rue de la Paix`, `12, rue de la Paix`, `12 RUE DE LA PAIX`, without accents."""
    line = f"{number} rue {street}"
    return _pick(rng, [(6.0, lambda: line), (1.5, lambda: f"{number}, rue {street}"),
                       (1.0, line.upper), (1.0, lambda: ascii_spelling(line)),
                       (0.7, lambda: f"{number} Rue {street.title()}")])


def postcode_spelling(rng: Random, postcode: str, style: str) -> str:
    if style == "gb":
        return _pick(rng, [(6.0, lambda: postcode), (1.0, postcode.lower),
                           (1.0, lambda: postcode.replace(" ", ""))])
    if style == "us5":
        return _pick(rng, [(9.0, lambda: postcode),
                           (1.0, lambda: f"{postcode}-{rng.randrange(10000):04d}")])
    return postcode


def city_spelling(rng: Random, city: str) -> str:
    return _casings(rng, city, usual=10.0)
