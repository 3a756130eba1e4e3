"""The synthetic population: people, the households they share a tablet in, their devices.

Everything a person is identified by is chosen here, once, and reserved in the truth ledger, so
two people never end up with the same email, phone or id by chance.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from random import Random

import phonenumbers

from identity.domain.types import IdentifierKind
from identity.synthetic.config import GeneratorConfig
from identity.synthetic.locales import LOCALES, WORK_DOMAINS, GivenName, Locale
from identity.synthetic.spellings import STREET_TYPES, StreetType, ascii_spelling, phone_spellings
from identity.synthetic.truth import TruthLedger

_OLDEST_BIRTH = date(1945, 1, 1)
_BIRTH_SPAN_DAYS = (date(2006, 12, 31) - _OLDEST_BIRTH).days
_GB_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


class Engagement(StrEnum):
    """How far a person lets the shop know them."""

    ACCOUNT = "account"      # signs up and logs in
    GUEST = "guest"          # buys with an email and phone, never logs in
    ANONYMOUS = "anonymous"  # browses only


class Platform(StrEnum):
    WEB = "web"
    IOS = "ios"
    ANDROID = "android"


@dataclass(frozen=True, slots=True)
class Address:
    number: int
    street: str
    street_type: StreetType
    city: str
    postcode: str
    country: str


@dataclass(frozen=True, slots=True)
class Device:
    """A browser (identified by cookies) or an app install (identified by its device id)."""

    platform: Platform
    device_id: str | None
    owner: str
    shared: bool = False


@dataclass(frozen=True, slots=True)
class Person:
    person_id: str
    engagement: Engagement
    locale: Locale
    given: GivenName
    last_name: str
    date_of_birth: date
    address: Address
    emails: tuple[str, ...]
    phone_spellings: tuple[str, ...]
    customer_id: str | None
    loyalty_id: str | None
    devices: tuple[Device, ...]
    household: str | None = None

    @property
    def identified(self) -> bool:
        return self.engagement is not Engagement.ANONYMOUS


@dataclass(frozen=True, slots=True)
class Household:
    """People under one roof: one address, often one surname, one tablet they all log in on."""

    household_id: str
    last_name: str
    address: Address
    tablet_id: str


def _locale(rng: Random, config: GeneratorConfig) -> Locale:
    countries = [country for country, _ in config.country_weights]
    weights = [weight for _, weight in config.country_weights]
    return LOCALES[rng.choices(countries, weights)[0]]


def _birth_date(rng: Random) -> date:
    return _OLDEST_BIRTH + timedelta(days=rng.randrange(_BIRTH_SPAN_DAYS))


def _postcode(rng: Random, locale: Locale, prefix: str) -> str:
    if locale.postcode_style == "gb":
        letters = "".join(rng.choices(_GB_INWARD_LETTERS, k=2))
        return f"{prefix} {rng.randrange(1, 10)}{letters}"
    if locale.postcode_style == "fr5" and prefix == "750":
        return f"750{rng.randrange(1, 21):02d}"  # the twenty Paris arrondissements
    return f"{prefix}{rng.randrange(100):02d}"


def _address(rng: Random, locale: Locale) -> Address:
    city = rng.choice(locale.cities)
    postcode = _postcode(rng, locale, rng.choice(city.postcode_prefixes))
    return Address(rng.randrange(1, 240), rng.choice(locale.streets), rng.choice(STREET_TYPES),
                   city.name, postcode, locale.country)


def new_uuid(rng: Random) -> str:
    """A version-4 UUID from the run's own random stream, so a seed reproduces it."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _app_device(rng: Random, platform: Platform, owner: str) -> Device:
    if platform is Platform.IOS or rng.random() < 0.5:
        device_id = new_uuid(rng).upper()  # IDFV, or a GAID
    else:
        device_id = f"{rng.getrandbits(64):016x}"  # ANDROID_ID
    return Device(platform, device_id, owner)


def _devices(rng: Random, person_id: str, engagement: Engagement) -> tuple[Device, ...]:
    count = rng.choices((1, 2, 3), (0.5, 0.35, 0.15))[0]
    if engagement is Engagement.ANONYMOUS:
        count = min(count, 2)
    platforms = rng.choices(list(Platform), (0.5, 0.25, 0.25), k=count)
    return tuple(
        Device(p, None, person_id) if p is Platform.WEB else _app_device(rng, p, person_id)
        for p in platforms
    )


def _local_part(rng: Random, given: GivenName, last_name: str) -> str:
    first = ascii_spelling(given.formal).lower()
    last = ascii_spelling(last_name).lower().replace("'", "").replace(" ", "")
    style = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}{last}",
                        f"{first}_{last}", f"{last}.{first}"))
    return f"{style}{rng.randrange(1, 10 ** rng.randint(1, 4))}" if rng.random() < 0.8 else style


def _email(rng: Random, ledger: TruthLedger, person_id: str, domains: tuple[str, ...],
           given: GivenName, last_name: str) -> str:
    """A personal address nobody else has, the way people pick one: name plus digits."""
    for _ in range(50):
        address = f"{_local_part(rng, given, last_name)}@{rng.choice(domains)}"
        if ledger.reserve(IdentifierKind.EMAIL, address, person_id):
            return address
    raise RuntimeError(f"could not find a free email address for {person_id}")


def _phone(rng: Random, ledger: TruthLedger, person_id: str, locale: Locale) -> str:
    """A mobile number that phonenumbers accepts as valid and nobody else holds."""
    country_code = phonenumbers.country_code_for_region(locale.country)
    for _ in range(200):
        band = rng.choice(locale.phone_ranges)
        national = int(band.prefix + "".join(rng.choices("0123456789", k=band.digits)))
        e164 = f"+{country_code}{national}"
        if ledger.reserve(IdentifierKind.PHONE, e164, person_id):  # checks it is valid too
            return e164
    raise RuntimeError(f"could not find a free valid phone number in {locale.country}")


def _unique_id(rng: Random, ledger: TruthLedger, kind: str, person_id: str, pattern: str) -> str:
    while True:
        value = pattern.format(rng.randrange(10**9))
        if ledger.reserve(kind, value, person_id):
            return value


@dataclass(frozen=True, slots=True)
class _Identity:
    """Who a person is before they get their identifiers."""

    locale: Locale
    given: GivenName
    last_name: str
    date_of_birth: date
    address: Address
    household: Household | None


class Population:
    """Builds the people of one run, in a fixed order, from the run's random stream."""

    def __init__(self, config: GeneratorConfig, rng: Random, ledger: TruthLedger) -> None:
        self._config = config
        self._rng = rng
        self._ledger = ledger
        self._people: list[Person] = []
        self._tablet_owners: dict[str, str] = {}

    def build(self) -> list[Person]:
        identities = self._identities()
        for index, identity in enumerate(identities):
            self._people.append(self._person(f"P{index + 1:06d}", identity))
        return self._people

    def _identities(self) -> list[_Identity]:
        """Households take random places in the population; everyone else lives alone."""
        rng, config = self._rng, self._config
        slots: list[_Identity | None] = [None] * config.people
        order = list(range(config.people))
        rng.shuffle(order)
        in_households = round(config.people * config.household_share)
        cursor, number = 0, 0
        while in_households - cursor >= 2:
            size = min(rng.randint(2, 4), in_households - cursor)
            number += 1
            members = self._household(f"H{number:05d}", size)
            for member in members:
                slots[order[cursor]] = member
                cursor += 1
        return [slot if slot is not None else self._single() for slot in slots]

    def _household(self, household_id: str, size: int) -> list[_Identity]:
        rng = self._rng
        locale = _locale(rng, self._config)
        twins = _birth_date(rng) if rng.random() < self._config.twin_share else None
        household = Household(household_id, rng.choice(locale.last_names),
                              _address(rng, locale), new_uuid(rng).upper())
        members: list[_Identity] = []
        for position in range(size):
            is_twin = twins is not None and position < 2
            last = household.last_name if is_twin or rng.random() < 0.7 else rng.choice(
                locale.last_names)
            given = rng.choice(locale.given_names)
            while is_twin and position == 1 and given.formal == members[0].given.formal:
                given = rng.choice(locale.given_names)
            born = twins if is_twin and twins is not None else _birth_date(rng)
            members.append(_Identity(locale, given, last, born, household.address, household))
        return members

    def _single(self) -> _Identity:
        rng = self._rng
        locale = _locale(rng, self._config)
        given, last = rng.choice(locale.given_names), rng.choice(locale.last_names)
        return _Identity(locale, given, last, _birth_date(rng), _address(rng, locale), None)

    def _engagement(self, identity: _Identity) -> Engagement:
        if identity.household is not None:
            return Engagement.ACCOUNT  # everyone at home logs in on the shared tablet
        roll = self._rng.random()
        if roll < self._config.anonymous_share:
            return Engagement.ANONYMOUS
        if roll < self._config.anonymous_share + self._config.guest_share:
            return Engagement.GUEST
        return Engagement.ACCOUNT

    def _namesake(self, identity: _Identity) -> _Identity:
        """Borrow the full name of someone unrelated who lives elsewhere."""
        if (identity.household is not None or not self._people
                or self._rng.random() >= self._config.namesake_share):
            return identity
        other = self._rng.choice(self._people)
        return _Identity(other.locale, other.given, other.last_name, identity.date_of_birth,
                         _address(self._rng, other.locale), None)

    def _tablet(self, household: Household, person_id: str) -> Device:
        """The member created first owns the tablet; its truth rows name them."""
        owner = self._tablet_owners.setdefault(household.household_id, person_id)
        return Device(Platform.IOS, household.tablet_id, owner, shared=True)

    def _person(self, person_id: str, identity: _Identity) -> Person:
        rng, ledger, config = self._rng, self._ledger, self._config
        identity = self._namesake(identity)
        engagement = self._engagement(identity)
        devices = _devices(rng, person_id, engagement)
        household = identity.household
        if household is not None:
            devices = (*devices, self._tablet(household, person_id))
        emails: tuple[str, ...] = ()
        phones: tuple[str, ...] = ()
        if engagement is not Engagement.ANONYMOUS:
            emails = (_email(rng, ledger, person_id, identity.locale.mail_domains,
                             identity.given, identity.last_name),)
            if rng.random() < config.second_email_share:
                emails += (_email(rng, ledger, person_id, WORK_DOMAINS, identity.given,
                                  identity.last_name),)
            if rng.random() < 0.85:
                phones = phone_spellings(_phone(rng, ledger, person_id, identity.locale))
        customer_id = (_unique_id(rng, ledger, IdentifierKind.CUSTOMER_ID, person_id, "C{:09d}")
                       if engagement is Engagement.ACCOUNT else None)
        loyalty_id = (_unique_id(rng, ledger, "external:loyalty", person_id, "LOY-{:09d}")
                      if engagement is not Engagement.ANONYMOUS
                      and rng.random() < config.loyalty_share else None)
        return Person(person_id, engagement, identity.locale, identity.given, identity.last_name,
                      identity.date_of_birth, identity.address, emails, phones, customer_id,
                      loyalty_id, devices, household.household_id if household else None)
